"""The pure functions: learning-rate schedule, genre mAP, k-NN accuracy, song vectors."""

from __future__ import annotations

import math

import numpy as np
import pytest

from musicrec_desktop.model.inference import song_means, song_vectors
from musicrec_desktop.model.metrics import average_precision, genre_map, knn_accuracy
from musicrec_desktop.model.schedule import cosine_lr, key_momentum


def test_key_momentum_leaves_no_random_key_encoder_in_a_short_run():
    """0.999 for 300 steps would leave 0.999 ** 300 = 74 % of the key encoder at its random start."""
    for steps in (24, 300, 2_000):
        m = key_momentum(steps, 0.999)
        assert m ** steps < 1e-6  # the random initialisation is gone by the end
        assert 0.5 <= m < 0.999
    assert key_momentum(300, 0.999) == pytest.approx(1 - 1 / 15)  # a window of 5 % of the run
    assert key_momentum(1_000_000, 0.999) == pytest.approx(0.999)  # long runs: the configured ceiling
    assert key_momentum(1_000_000, 0.99) == pytest.approx(0.99)
    assert key_momentum(1, 0.999) == pytest.approx(0.5)  # at least a window of 2 steps
    assert key_momentum(300, key_momentum(300, 0.999)) == pytest.approx(key_momentum(300, 0.999))


def test_cosine_lr_warms_up_linearly():
    assert cosine_lr(0, 110, 10, 1.0) == pytest.approx(0.1)
    assert cosine_lr(4, 110, 10, 1.0) == pytest.approx(0.5)
    assert cosine_lr(9, 110, 10, 1.0) == pytest.approx(1.0)


def test_cosine_lr_decays_along_a_half_cosine():
    assert cosine_lr(10, 110, 10, 2.0) == pytest.approx(2.0)
    assert cosine_lr(60, 110, 10, 2.0) == pytest.approx(1.0)  # half way: cos(pi/2)
    assert cosine_lr(35, 110, 10, 2.0) == pytest.approx(1.0 + math.cos(math.pi / 4))
    assert cosine_lr(110, 110, 10, 2.0) == pytest.approx(0.0)
    assert cosine_lr(500, 110, 10, 2.0) == pytest.approx(0.0)


def test_cosine_lr_without_warm_up():
    assert cosine_lr(0, 100, 0, 0.03) == pytest.approx(0.03)
    assert cosine_lr(50, 100, 0, 0.03) == pytest.approx(0.015)


def test_average_precision_by_hand():
    # ranks: 0.9 (hit), 0.8, 0.3 (hit), 0.1 -> (1/1 + 2/3) / 2
    assert average_precision(np.array([0.9, 0.8, 0.3, 0.1]), np.array([1, 0, 1, 0])) == pytest.approx(5 / 6)
    assert average_precision(np.array([0.1, 0.7, 0.2, 0.6]), np.array([0, 1, 0, 1])) == pytest.approx(1.0)
    assert math.isnan(average_precision(np.array([0.1, 0.2]), np.array([0, 0])))


def test_genre_map_by_hand_skips_categories_without_songs():
    scores = np.array([[0.9, 0.1, 0.5], [0.8, 0.7, 0.5], [0.3, 0.2, 0.5], [0.1, 0.6, 0.5]])
    targets = np.array([[1, 0, 0], [0, 1, 0], [1, 0, 0], [0, 1, 0]])
    assert genre_map(scores, targets) == pytest.approx((5 / 6 + 1.0) / 2)


def test_genre_map_of_a_perfect_and_a_reversed_ranking():
    targets = np.array([[1], [1], [0], [0]])
    assert genre_map(np.array([[4.0], [3.0], [2.0], [1.0]]), targets) == pytest.approx(1.0)
    assert genre_map(np.array([[1.0], [2.0], [3.0], [4.0]]), targets) == pytest.approx((1 / 3 + 2 / 4) / 2)


def test_knn_accuracy_by_hand():
    embeddings = np.array([[1.0, 0.0], [0.9, 0.1], [0.0, 1.0], [0.1, 0.9]])
    targets = np.array([[1, 0], [1, 0], [0, 1], [0, 1]])
    assert knn_accuracy(embeddings, targets, k=1) == pytest.approx(1.0)
    swapped = np.array([[1, 0], [0, 1], [0, 1], [0, 1]])  # song 1 now "belongs" with 2 and 3
    # song 0: nearest is 1 (cat 1) -> wrong; 1: nearest 0 (cat 0) -> wrong; 2, 3 right
    assert knn_accuracy(embeddings, swapped, k=1) == pytest.approx(0.5)


def test_knn_accuracy_majority_vote_and_multi_label_hit():
    embeddings = np.array([[1.0, 0.0], [0.99, 0.01], [0.98, 0.02], [0.0, 1.0]])
    targets = np.array([[1, 1], [1, 0], [1, 0], [0, 1]])
    # song 0: neighbours 1, 2 vote category 0, one of its own -> right; song 3: 2, 1 vote 0 -> wrong
    assert knn_accuracy(embeddings, targets, k=2) == pytest.approx(3 / 4)
    assert math.isnan(knn_accuracy(embeddings[:1], targets[:1]))


def test_song_vectors_are_unit_means_of_their_chunks():
    chunks = np.array([[2.0, 0.0], [0.0, 2.0], [3.0, 4.0]], dtype=np.float32)
    vectors = song_vectors(chunks, [0, 0, 1], 2)
    np.testing.assert_allclose(vectors, [[math.sqrt(0.5), math.sqrt(0.5)], [0.6, 0.8]], rtol=1e-6)
    np.testing.assert_allclose(song_means(chunks, [0, 0, 1], 2), [[1.0, 1.0], [3.0, 4.0]])
