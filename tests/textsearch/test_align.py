"""The InfoNCE projection on synthetic data whose answer is known: songs of a style lie around a
centre in the audio space, each style has its tag in a separate text space."""

from __future__ import annotations

import numpy as np
import pytest

from musicrec_desktop.errors import Cancelled
from musicrec_desktop.progress import CancelToken
from musicrec_desktop.textsearch.align import AlignConfig, AlignmentData, learn_projection

STYLES, PER_STYLE, D_AUDIO, D_TEXT = 5, 12, 10, 24


def synthetic(seed: int) -> tuple[AlignmentData, np.ndarray, np.ndarray]:
    """(data, the styles' audio centres, each song's style)."""
    rng = np.random.default_rng(seed)
    centres = rng.standard_normal((STYLES, D_AUDIO)).astype(np.float32)
    tags = rng.standard_normal((STYLES, D_TEXT)).astype(np.float32)
    tags /= np.linalg.norm(tags, axis=1, keepdims=True)
    style = np.repeat(np.arange(STYLES), PER_STYLE)
    songs = centres[style] + 0.3 * rng.standard_normal((len(style), D_AUDIO)).astype(np.float32)
    descriptions = tags[style] + 0.2 * rng.standard_normal((len(style), D_TEXT)).astype(np.float32)
    descriptions /= np.linalg.norm(descriptions, axis=1, keepdims=True)
    data = AlignmentData(songs, descriptions.astype(np.float32), np.arange(len(style)), tags,
                         [[s] for s in style])
    return data, centres, style


def test_unseen_songs_land_nearest_their_styles_tag():
    data, centres, _ = synthetic(0)
    projection, losses = learn_projection(data, AlignConfig(tag_epochs=15, description_epochs=15))
    rng = np.random.default_rng(1)
    style = np.repeat(np.arange(STYLES), 10)
    new_songs = centres[style] + 0.3 * rng.standard_normal((len(style), D_AUDIO)).astype(np.float32)
    projected = projection.project(new_songs)
    assert projected.shape == (len(style), D_TEXT)
    np.testing.assert_allclose(np.linalg.norm(projected, axis=1), 1.0, rtol=1e-5)
    nearest = (projected @ data.tags.T).argmax(1)
    assert (nearest == style).mean() >= 0.95
    assert set(losses) == {"tags", "descriptions"}
    assert projection.temperature != pytest.approx(AlignConfig().initial_temperature, abs=1e-3)


def test_a_cancel_stops_learning():
    token = CancelToken()
    token.cancel()
    with pytest.raises(Cancelled):
        learn_projection(synthetic(0)[0], cancel=token)


def test_learning_repeats_itself_and_leaves_the_global_random_state_alone():
    """Its own generator: the text search learns on the tray's worker while other models may
    learn, and the same seed gives the same projection whatever ran before."""
    import torch

    data, _, _ = synthetic(0)
    config = AlignConfig(tag_epochs=3, description_epochs=3)
    torch.manual_seed(123)
    before = torch.get_rng_state()
    first, _ = learn_projection(data, config)
    assert torch.equal(torch.get_rng_state(), before)
    torch.manual_seed(7)
    second, _ = learn_projection(data, config)
    np.testing.assert_array_equal(first.weight, second.weight)
    np.testing.assert_array_equal(first.bias, second.bias)
