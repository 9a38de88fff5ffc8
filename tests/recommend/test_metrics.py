import math

import pytest

from musicrec_desktop.recommend.metrics import (
    hit_rate_at_k,
    mean_ci,
    mrr_at_k,
    ndcg_at_k,
    precision_at_k,
    recall_at_k,
)

RANKED = ["a", "b", "c", "d", "e"]
RELEVANT = {"b", "d", "z"}  # z is never ranked


def test_metrics_against_hand_computed_values():
    assert hit_rate_at_k(RANKED, RELEVANT, 1) == 0.0
    assert hit_rate_at_k(RANKED, RELEVANT, 2) == 1.0
    assert mrr_at_k(RANKED, RELEVANT, 5) == pytest.approx(1 / 2)
    assert mrr_at_k(RANKED, RELEVANT, 1) == 0.0
    assert precision_at_k(RANKED, RELEVANT, 4) == pytest.approx(2 / 4)
    assert precision_at_k(RANKED, RELEVANT, 10) == pytest.approx(2 / 10)  # k counts, not list length
    assert recall_at_k(RANKED, RELEVANT, 4) == pytest.approx(2 / 3)
    assert recall_at_k(RANKED, RELEVANT, 3) == pytest.approx(1 / 3)
    # DCG@5 = 1/log2(3) + 1/log2(5) = 0.63093 + 0.43068; IDCG@5 = 1 + 0.63093 + 0.5
    assert ndcg_at_k(RANKED, RELEVANT, 5) == pytest.approx((0.630930 + 0.430677) / 2.130930, abs=1e-5)
    # k=2: DCG = 0.63093, ideal with 2 slots = 1 + 0.63093
    assert ndcg_at_k(RANKED, RELEVANT, 2) == pytest.approx(0.630930 / 1.630930, abs=1e-5)


def test_perfect_and_empty_rankings():
    assert ndcg_at_k(["x", "y"], {"x", "y"}, 2) == pytest.approx(1.0)
    assert recall_at_k(RANKED, set(), 3) == 0.0
    assert ndcg_at_k(RANKED, set(), 3) == 0.0
    with pytest.raises(ValueError):
        hit_rate_at_k(RANKED, RELEVANT, 0)


def test_mean_ci_student_t():
    mean, low, high = mean_ci([1.0, 2.0, 3.0, 4.0])
    # sd = 1.290994, sem = 0.645497, t(0.975, df=3) = 3.182446 -> half width 2.054260
    assert mean == pytest.approx(2.5)
    assert low == pytest.approx(2.5 - 2.054260, abs=1e-5)
    assert high == pytest.approx(2.5 + 2.054260, abs=1e-5)
    assert mean_ci([0.7]) == (0.7, 0.7, 0.7)
    assert all(math.isnan(v) for v in mean_ci([]))
