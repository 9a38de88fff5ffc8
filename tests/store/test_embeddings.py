"""The embeddings store: vectors per model, read back centred on the model's mean."""

from __future__ import annotations

import numpy as np
import pytest

from musicrec_desktop.store.embeddings import EmbeddingStore


@pytest.fixture
def store(tmp_path):
    with EmbeddingStore(tmp_path / "embeddings.sqlite") as s:
        s.register_model("m", 3)
        yield s


def test_vectors_come_back_centred_on_the_models_mean_and_unit_length(store):
    """Post-ReLU means all share one direction: raw cosines are all near 1 and say little."""
    raw = np.array([[1.0, 0.1, 0.0], [1.0, 0.0, 0.1], [1.0, 0.05, 0.05], [1.0, 0.0, 0.0]], np.float32)
    store.put("m", [(f"s{i}", v) for i, v in enumerate(raw)])
    keys, vectors = store.load("m")
    assert keys == ["s0", "s1", "s2", "s3"]
    expected = raw - raw.mean(axis=0)
    expected /= np.linalg.norm(expected, axis=1, keepdims=True)
    np.testing.assert_allclose(vectors, expected, atol=1e-6)
    cosines = vectors @ vectors.T
    assert cosines[0, 1] < 0  # the two songs that differ most now point apart (raw cosine 0.99)
    _, stored = store.load("m", as_stored=True)
    np.testing.assert_array_equal(stored, raw)


def test_a_subset_is_centred_on_the_mean_of_all_the_models_songs(store):
    """Whatever a reader asks for, a song's vector is the same: radio, index and rating model agree."""
    rng = np.random.default_rng(0)
    store.put("m", [(f"s{i}", rng.random(3)) for i in range(10)])
    _, everything = store.load("m")
    keys, some = store.load("m", ["s3", "s7"])
    assert keys == ["s3", "s7"]
    np.testing.assert_allclose(some, everything[[3, 7]], atol=1e-6)


def test_a_single_song_is_only_normalised(store):
    store.put("m", [("only", np.array([3.0, 4.0, 0.0]))])
    _, vectors = store.load("m")
    np.testing.assert_allclose(vectors, [[0.6, 0.8, 0.0]], atol=1e-6)


def test_models_are_centred_apart(store):
    store.register_model("other", 3)
    store.put("m", [("a", np.array([1.0, 0.0, 0.0])), ("b", np.array([0.0, 1.0, 0.0]))])
    store.put("other", [("a", np.array([5.0, 5.0, 1.0])), ("b", np.array([5.0, 5.0, -1.0]))])
    _, other = store.load("other")
    np.testing.assert_allclose(other, [[0, 0, 1], [0, 0, -1]], atol=1e-6)
