"""The embedder's patches: whole 3 s patches only, short waves repeated, every n-th patch on request."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from musicrec_desktop.errors import NotReadyError
from musicrec_desktop.musicnn import package
from musicrec_desktop.musicnn.embedder import MusiCNNEmbedder
from musicrec_desktop.musicnn.mel import PATCH_FRAMES, patches


@pytest.fixture(scope="module")
def embedder() -> MusiCNNEmbedder:
    try:
        package.checkpoint_prefix()
    except NotReadyError as exc:
        pytest.skip(str(exc))
    return MusiCNNEmbedder(torch.device("cpu"))


def test_patches_are_whole_and_short_songs_repeat() -> None:
    log_mel = torch.arange(400 * 96, dtype=torch.float32).reshape(400, 96)
    cut = patches(log_mel)
    assert cut.shape == (2, PATCH_FRAMES, 96)  # 400 frames: two whole patches, the rest dropped
    torch.testing.assert_close(cut[1], log_mel[PATCH_FRAMES:2 * PATCH_FRAMES])
    short = patches(log_mel[:50])
    assert short.shape == (1, PATCH_FRAMES, 96)
    torch.testing.assert_close(short[0, 50:100], log_mel[:50])  # repeated from its start


def test_a_songs_vector_is_the_mean_over_its_patches(embedder: MusiCNNEmbedder) -> None:
    wave = (0.2 * np.random.default_rng(5).standard_normal(16_000 * 15)).astype(np.float32)  # 5 patches
    features, tags = embedder([wave])  # 5 patches: two forwards of at most PATCHES_PER_FORWARD
    with torch.no_grad():
        every = embedder.network(patches(embedder.log_mel(torch.from_numpy(wave)[None])[0]))
    assert every[0].shape[0] == 5
    np.testing.assert_allclose(features[0], every[0].mean(0).numpy(), atol=1e-5)
    np.testing.assert_allclose(tags[0], every[1].mean(0).numpy(), atol=1e-6)
    assert embedder([])[0].shape == (0, 200)
