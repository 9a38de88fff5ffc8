"""Ranking metrics of the recommendation literature, as pure functions of one ranked list.

``ranked``: song keys best first; ``relevant``: the keys that count as hits. Relevance is binary.
Each function looks at the first ``k`` entries only. Definitions as in the ``rs_metrics`` library the
design study used: precision = hits / len(top k); NDCG's ideal DCG over min(|relevant|, k).
``per_user`` averages them over users (the study's users; here listening sessions or test plays)
with a Student-t 95 % interval.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Sequence

import numpy as np
from scipy import stats


def _hits(ranked: Sequence[str], relevant: set[str], k: int) -> list[int]:
    """1-based ranks (within the top k) of the relevant songs."""
    if k <= 0:
        raise ValueError(f"k must be positive, not {k}")
    return [i + 1 for i, key in enumerate(ranked[:k]) if key in relevant]


def hit_rate_at_k(ranked: Sequence[str], relevant: set[str], k: int) -> float:
    """1.0 when any relevant song is in the top k, else 0.0."""
    return 1.0 if _hits(ranked, relevant, k) else 0.0


def mrr_at_k(ranked: Sequence[str], relevant: set[str], k: int) -> float:
    """Reciprocal rank of the first relevant song in the top k (0.0 when none)."""
    hits = _hits(ranked, relevant, k)
    return 1.0 / hits[0] if hits else 0.0


def precision_at_k(ranked: Sequence[str], relevant: set[str], k: int) -> float:
    """Relevant songs in the top k, divided by the length of the top k (k when the list is full)."""
    hits = _hits(ranked, relevant, k)
    return len(hits) / min(k, len(ranked)) if ranked else 0.0


def recall_at_k(ranked: Sequence[str], relevant: set[str], k: int) -> float:
    """Relevant songs in the top k, divided by all relevant songs (0.0 when there are none)."""
    return len(_hits(ranked, relevant, k)) / len(relevant) if relevant else 0.0


def ndcg_at_k(ranked: Sequence[str], relevant: set[str], k: int) -> float:
    """DCG of the top k (gain 1 / log2(rank + 1)) over the DCG of an ideal ranking."""
    dcg = sum(1.0 / math.log2(rank + 1) for rank in _hits(ranked, relevant, k))
    ideal = sum(1.0 / math.log2(rank + 1) for rank in range(1, min(len(relevant), k) + 1))
    return dcg / ideal if ideal else 0.0


METRICS = {
    "hit_rate": hit_rate_at_k,
    "mrr": mrr_at_k,
    "precision": precision_at_k,
    "recall": recall_at_k,
    "ndcg": ndcg_at_k,
}


def mean_ci(values: Iterable[float], confidence: float = 0.95) -> tuple[float, float, float]:
    """(mean, low, high): mean ± t_{(1+confidence)/2, n-1} · sd / sqrt(n), a Student-t interval.

    One value has no interval: low and high are NaN (the mean too when empty). No spread gives the
    mean itself as both bounds.
    """
    x = np.asarray(list(values), dtype=np.float64)
    if x.size == 0:
        return math.nan, math.nan, math.nan
    mean = float(x.mean())
    if x.size < 2:
        return mean, math.nan, math.nan
    sem = float(x.std(ddof=1) / math.sqrt(x.size))
    half = float(stats.t.ppf((1 + confidence) / 2, df=x.size - 1)) * sem
    return mean, mean - half, mean + half


def per_user(users: Sequence[tuple[Sequence[str], set[str]]], ks: Sequence[int],
             confidence: float = 0.95) -> dict[str, dict]:
    """Each metric at each k averaged over users: ``{"ndcg@10": {"mean", "low", "high", "n"}}``.

    ``users``: one (ranked, relevant) pair per user. With a single user, low and high are NaN and
    "interval" says why, rather than an interval made up from nothing.
    """
    result = {}
    for k in ks:
        for metric, fn in METRICS.items():
            mean, low, high = mean_ci((fn(ranked, relevant, k) for ranked, relevant in users), confidence)
            figures: dict = {"mean": mean, "low": low, "high": high, "n": len(users)}
            if len(users) < 2:
                figures["interval"] = f"none: {len(users)} user(s), an interval needs at least 2"
            result[f"{metric}@{k}"] = figures
    return result
