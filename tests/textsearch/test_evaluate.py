"""The evaluation's measures as pure functions, on small matrices whose answers are known."""

from __future__ import annotations

import numpy as np
import pytest

from musicrec_desktop.textsearch.evaluate import HeldOut, evaluate_alignment, paired_retrieval


def test_a_perfect_ranking_scores_one():
    assert paired_retrieval(np.eye(4)) == {"recall@1": 1.0, "recall@5": 1.0, "recall@10": 1.0, "mrr": 1.0}


def test_ranks_are_counted_from_the_scores():
    # query 0's match ranks 3rd, query 1's 1st, query 2's 2nd
    scores = np.array([[0.1, 0.5, 0.9], [0.2, 0.8, 0.1], [0.3, 0.9, 0.6]])
    assert paired_retrieval(scores) == pytest.approx(
        {"recall@1": 1 / 3, "recall@5": 1.0, "recall@10": 1.0, "mrr": (1 / 3 + 1 + 1 / 2) / 3})


def test_ties_count_as_a_random_order():
    # every candidate scores alike: the match is equally likely at ranks 1..4
    figures = paired_retrieval(np.ones((4, 4)))
    assert figures["recall@1"] == pytest.approx(0.25)
    assert figures["recall@5"] == 1.0
    assert figures["mrr"] == pytest.approx((1 + 1 / 2 + 1 / 3 + 1 / 4) / 4)
    # one certainly better, two tied with the match: rank 2 or 3
    one = paired_retrieval(np.array([[0.5, 0.9, 0.5]]))
    assert one["recall@1"] == 0.0
    assert one["mrr"] == pytest.approx((1 / 2 + 1 / 3) / 2)


def test_every_setting_method_and_direction_is_measured():
    eye = np.eye(3, dtype=np.float32)
    held = HeldOut(eye, eye, eye, eye, ["rock", "jazz", "pop"], ["a", "b", "c"])
    figures = evaluate_alignment(held)
    assert len(figures) == 10
    assert figures["tags hidden: audio text-to-music"]["recall@1"] == 1.0
    # the names share no word with the tags: the lexical baseline can only guess
    assert figures["tags hidden: lexical text-to-music"]["recall@1"] == pytest.approx(1 / 3)
    assert figures["tags known: lexical music-to-text"]["recall@1"] == 1.0
