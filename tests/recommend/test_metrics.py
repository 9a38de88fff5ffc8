import math

import pytest

from musicrec_desktop.recommend.metrics import (
    hit_rate_at_k,
    mean_ci,
    mrr_at_k,
    ndcg_at_k,
    per_user,
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
    # rs_metrics: hits / len(top k); the list holds only 5, so the top 10 is 5 long
    assert precision_at_k(RANKED, RELEVANT, 10) == pytest.approx(2 / 5)
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
    one = mean_ci([0.7])  # one value: no interval, not one made up
    assert one[0] == 0.7 and math.isnan(one[1]) and math.isnan(one[2])
    assert mean_ci([0.5, 0.5]) == (0.5, 0.5, 0.5)  # no spread: the interval is the mean
    assert all(math.isnan(v) for v in mean_ci([]))


# Three users at k = 3: a tie-free ranking with fewer relevant songs (2) than k, a user with no
# hits, and a user whose list is shorter than k with more relevant songs (4) than k.
USERS = [
    (["a", "b", "c", "d"], {"a", "c"}),
    (["x", "y", "z", "w"], {"q"}),
    (["m", "n"], {"n", "o", "p", "r"}),
]


def test_per_user_metrics_against_hand_computed_values():
    figures = per_user(USERS, [3])
    # user 1: hits at ranks 1 and 3. HR 1, MRR 1, precision 2/3, recall 2/2,
    #   NDCG = (1 + 1/log2 4) / (1 + 1/log2 3) = 1.5 / 1.630930 = 0.919721 (ideal over min(2, 3) = 2)
    # user 2: no hit: 0 everywhere
    # user 3: hit at rank 2 of a 2-long list. HR 1, MRR 1/2, precision 1/2 (len of the top 3 is 2),
    #   recall 1/4, NDCG = (1/log2 3) / (1 + 1/log2 3 + 1/log2 4) = 0.630930 / 2.130930 = 0.296082
    assert figures["hit_rate@3"]["mean"] == pytest.approx(2 / 3)
    assert figures["mrr@3"]["mean"] == pytest.approx(0.5)
    assert figures["precision@3"]["mean"] == pytest.approx((2 / 3 + 0 + 1 / 2) / 3)
    assert figures["recall@3"]["mean"] == pytest.approx((1 + 0 + 1 / 4) / 3)
    assert figures["ndcg@3"]["mean"] == pytest.approx((0.919721 + 0 + 0.296082) / 3, abs=1e-6)
    # MRR values 1, 0, 1/2: sd 0.5, sem 0.5 / sqrt(3) = 0.288675, t(0.975, df=2) = 4.302653
    #   -> half width 1.242069
    assert figures["mrr@3"]["low"] == pytest.approx(0.5 - 1.242069, abs=1e-5)
    assert figures["mrr@3"]["high"] == pytest.approx(0.5 + 1.242069, abs=1e-5)
    assert figures["mrr@3"]["n"] == 3 and "interval" not in figures["mrr@3"]
    assert set(figures) == {f"{m}@3" for m in ("hit_rate", "mrr", "precision", "recall", "ndcg")}


def test_a_single_user_has_no_interval():
    figures = per_user(USERS[:1], [3, 10])
    ndcg = figures["ndcg@3"]
    assert ndcg["mean"] == pytest.approx(0.919721, abs=1e-6) and ndcg["n"] == 1
    assert math.isnan(ndcg["low"]) and math.isnan(ndcg["high"])
    assert ndcg["interval"] == "none: 1 user(s), an interval needs at least 2"
    assert figures["precision@10"]["mean"] == pytest.approx(2 / 4)  # 2 hits in a 4-long top 10
