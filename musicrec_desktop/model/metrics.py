"""Evaluation metrics of the encoder, as pure functions over arrays."""

from __future__ import annotations

import numpy as np


def average_precision(scores: np.ndarray, positives: np.ndarray) -> float:
    """AP of one category: mean over positives of the precision at their rank.

    scores: N float (higher = more likely), positives: N bool. Ties rank in the input order
    (a stable sort), so the result is deterministic. NaN when there is no positive.
    """
    positives = np.asarray(positives, dtype=bool)
    if not positives.any():
        return float("nan")
    order = np.argsort(-np.asarray(scores, dtype=np.float64), kind="stable")
    hits = positives[order]
    precision_at = np.cumsum(hits) / np.arange(1, len(hits) + 1)
    return float(precision_at[hits].mean())


def genre_map(scores: np.ndarray, targets: np.ndarray) -> float:
    """Mean AP over the categories that have at least one positive song.

    scores: N x C float, targets: N x C {0, 1}. NaN when no category has a positive.
    """
    aps = [average_precision(scores[:, c], targets[:, c] > 0) for c in range(targets.shape[1])]
    aps = [ap for ap in aps if not np.isnan(ap)]
    return float(np.mean(aps)) if aps else float("nan")


def knn_accuracy(embeddings: np.ndarray, targets: np.ndarray, k: int = 5) -> float:
    """Leave-one-out k-nearest-neighbour genre accuracy by cosine similarity.

    embeddings: N x D float; targets: N x C {0, 1}, every row with at least one category.
    Each song's k nearest other songs vote with their categories, each vote weighted 1 + a
    tie-breaker that favours nearer neighbours; the song counts as right when the winning category
    is one of its own. NaN for fewer than 2 songs.
    """
    n = embeddings.shape[0]
    if n < 2:
        return float("nan")
    k = min(k, n - 1)
    unit = embeddings / np.maximum(np.linalg.norm(embeddings, axis=1, keepdims=True), 1e-12)
    similarity = unit @ unit.T
    np.fill_diagonal(similarity, -np.inf)
    neighbours = np.argsort(-similarity, axis=1, kind="stable")[:, :k]  # N x k, nearest first
    weights = 1.0 + 1e-3 * (k - np.arange(k)) / k  # counts decide; nearness only breaks ties
    votes = np.einsum("nk,nkc->nc", np.broadcast_to(weights, (n, k)), targets[neighbours].astype(np.float64))
    predicted = votes.argmax(axis=1)
    return float(np.mean(targets[np.arange(n), predicted] > 0))
