"""The torch port of MusiCNN against the original musicnn 0.1.0 on TensorFlow (golden fixtures).

tests/musicnn/golden/*.npz were made once by make_golden.py in a throwaway TensorFlow environment:
the original extractor's log-mel input (first 3 s patch), its 200-d penultimate features and its 50
tag probabilities per 3 s patch of each clip in clips.CLIPS. Tolerances: the log-mel may differ
by one float16 step of the mel power where our STFT rounds differently (4e-4 seen, 2e-3 allowed);
penultimate features by 1e-3 (2.3e-5 seen, on values up to 4.6); tag probabilities by 1e-4 (4e-6
seen).
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
import torch

from musicrec_desktop.musicnn.embedder import MusiCNNEmbedder
from musicrec_desktop.musicnn.mel import PATCH_FRAMES, LogMel, mel_filterbank, patches
from tests.musicnn.clips import CLIPS, clip

GOLDEN = Path(__file__).resolve().parent / "golden"
LOG_MEL_ATOL = 2e-3
FEATURE_ATOL = 1e-3
TAG_ATOL = 1e-4


@pytest.fixture(scope="module")
def embedder() -> MusiCNNEmbedder:
    pytest.importorskip("musicrec_desktop.musicnn.package").checkpoint_prefix()  # NotReadyError if absent
    return MusiCNNEmbedder(torch.device("cpu"))


def _clip(name: str, request: pytest.FixtureRequest) -> np.ndarray:
    if CLIPS[name][0] is None:
        return clip(name, None)
    return clip(name, request.getfixturevalue("shared_audio"))


def test_mel_filterbank_is_librosas() -> None:
    expected = np.load(GOLDEN / "librosa_mel_filters.npz")["filters"]
    np.testing.assert_allclose(mel_filterbank(), expected, rtol=0, atol=1e-7)


@pytest.mark.parametrize("name", list(CLIPS))
def test_log_mel_matches_librosa(name: str, request: pytest.FixtureRequest) -> None:
    golden = np.load(GOLDEN / f"{name}.npz")["log_mel"]
    wave = torch.from_numpy(_clip(name, request))[None]
    ours = LogMel()(wave)[0, :PATCH_FRAMES].numpy()
    assert ours.shape == golden.shape == (187, 96)
    np.testing.assert_allclose(ours, golden, rtol=0, atol=LOG_MEL_ATOL)


@pytest.mark.parametrize("name", list(CLIPS))
def test_port_matches_original_per_patch(name: str, request: pytest.FixtureRequest,
                                         embedder: MusiCNNEmbedder) -> None:
    golden = np.load(GOLDEN / f"{name}.npz")
    log_mel = LogMel()(torch.from_numpy(_clip(name, request))[None])[0]
    with torch.no_grad():
        features, tags = embedder.network(patches(log_mel))
    assert features.shape == (2, 200) and tags.shape == (2, 50)
    assert np.abs(golden["penultimate"][0] - golden["penultimate"][1]).max() > 0.1  # distinct patches
    np.testing.assert_allclose(features.numpy(), golden["penultimate"], rtol=0, atol=FEATURE_ATOL)
    np.testing.assert_allclose(tags.numpy(), golden["tags"], rtol=0, atol=TAG_ATOL)


@pytest.mark.parametrize("name", list(CLIPS))
def test_clip_means_match_original(name: str, request: pytest.FixtureRequest,
                                   embedder: MusiCNNEmbedder) -> None:
    golden = np.load(GOLDEN / f"{name}.npz")
    features, tags = embedder([_clip(name, request)])
    np.testing.assert_allclose(features[0], golden["penultimate"].mean(axis=0), rtol=0, atol=FEATURE_ATOL)
    np.testing.assert_allclose(tags[0], golden["tags"].mean(axis=0), rtol=0, atol=TAG_ATOL)
