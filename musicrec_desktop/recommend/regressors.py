"""The families the rating model is chosen from by cross-validation: ridge regression, k-NN and a
small MLP, each fitted on rated songs' embeddings (and, for ridge and the MLP, optionally the
implicit signals) and predicting a rating 0..1.

With a few dozen to a few hundred ratings over 200-2048 dimensions a linear model or plain
neighbours often beat a network; which one wins depends on the library and the encoder, so the
rating model measures all of them (``rating._cross_validate``). Ridge and k-NN are numpy only; torch
is imported where an MLP is fitted or used.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Protocol

import numpy as np

from musicrec_desktop.progress import CancelToken

if TYPE_CHECKING:
    from musicrec_desktop.recommend.rating_config import RatingConfig

RIDGE, KNN, MLP = "ridge", "k-NN", "MLP"
FAMILIES = (RIDGE, KNN, MLP)
TAKES_IMPLICIT = {RIDGE: True, KNN: False, MLP: True}  # k-NN compares embeddings only
RIDGE_ALPHAS = np.logspace(-3, 3, 13)  # times the mean squared singular value of the features


class Regressor(Protocol):
    def predict(self, features: np.ndarray) -> np.ndarray: ...  # M x P -> M float32

    def state(self) -> dict: ...


@dataclass
class Ridge:
    """Linear regression with an L2 penalty chosen by exact leave-one-out error on the fit set."""

    weights: np.ndarray  # P float64
    bias: float
    alpha: float

    @classmethod
    def fit(cls, x: np.ndarray, y: np.ndarray) -> Ridge:
        """x: R x P features, y: R ratings."""
        x = x.astype(np.float64)
        x_mean, y_mean = x.mean(axis=0), float(y.mean())
        xc, yc = x - x_mean, y.astype(np.float64) - y_mean
        u, s, vt = np.linalg.svd(xc, full_matrices=False)
        uty = u.T @ yc
        scale = float(np.mean(s ** 2)) if len(s) else 1.0
        best = (np.inf, 1.0, np.zeros(x.shape[1]))
        for alpha in RIDGE_ALPHAS * max(scale, 1e-12):
            shrink = s ** 2 / (s ** 2 + alpha)
            fitted = u @ (shrink * uty)
            leverage = (u ** 2) @ shrink  # diagonal of the hat matrix
            # leave-one-out residuals of a linear smoother; the intercept's own leverage is 1/R
            loo = (yc - fitted) / np.maximum(1.0 - leverage - 1.0 / len(y), 1e-6)
            error = float(np.mean(loo ** 2))
            if error < best[0]:
                best = (error, float(alpha), vt.T @ (s / (s ** 2 + alpha) * uty))
        _, alpha, weights = best
        return cls(weights, y_mean - float(x_mean @ weights), alpha)

    def predict(self, features: np.ndarray) -> np.ndarray:
        return np.clip(features @ self.weights + self.bias, 0.0, 1.0).astype(np.float32)

    def state(self) -> dict:
        return {"family": RIDGE, "weights": self.weights, "bias": self.bias, "alpha": self.alpha}


@dataclass
class Neighbours:
    """The similarity-weighted mean rating of the k most similar rated songs (cosine)."""

    vectors: np.ndarray  # R x D unit rows
    ratings: np.ndarray  # R
    k: int

    def predict(self, features: np.ndarray) -> np.ndarray:
        return knn_ratings(self.vectors, self.ratings, features, self.k)

    def state(self) -> dict:
        return {"family": KNN, "vectors": self.vectors, "ratings": self.ratings, "k": self.k}


class Network:
    """``rating_net.RatingNet``: one hidden layer with dropout, trained with AdamW."""

    def __init__(self, net) -> None:
        self.net = net

    @classmethod
    def fit(cls, x: np.ndarray, y: np.ndarray, config: RatingConfig, cancel: CancelToken | None) -> Network:
        from musicrec_desktop.recommend import rating_net

        return cls(rating_net.fit(x, y, hidden=config.hidden, dropout=config.dropout, epochs=config.epochs,
                                  learning_rate=config.learning_rate, weight_decay=config.weight_decay,
                                  batch_size=config.batch_size, seed=config.seed, cancel=cancel))

    def predict(self, features: np.ndarray) -> np.ndarray:
        from musicrec_desktop.recommend import rating_net

        return rating_net.predict(self.net, features)

    def state(self) -> dict:
        return {"family": MLP, "state_dict": self.net.state_dict(), "in_features": self.net.in_features}


def fit_regressor(family: str, features: np.ndarray, vectors: np.ndarray, y: np.ndarray,
                  config: RatingConfig, cancel: CancelToken | None = None) -> Regressor:
    """features: R x P (scaled embeddings, maybe with implicit signals) for ridge and the MLP;
    vectors: R x D unit embeddings for k-NN; y: R ratings 0..1."""
    if family == RIDGE:
        return Ridge.fit(features, y)
    if family == KNN:
        return Neighbours(vectors.astype(np.float32), y.astype(np.float32), config.knn_k)
    if family == MLP:
        return Network.fit(features, y, config, cancel)
    raise ValueError(f"unknown model family {family!r}; one of {', '.join(FAMILIES)}")


def regressor_from_state(state: dict, config: RatingConfig) -> Regressor:
    family = state["family"]
    if family == RIDGE:
        return Ridge(np.asarray(state["weights"]), float(state["bias"]), float(state["alpha"]))
    if family == KNN:
        return Neighbours(np.asarray(state["vectors"]), np.asarray(state["ratings"]), int(state["k"]))
    from musicrec_desktop.recommend import rating_net

    return Network(rating_net.from_state(state["state_dict"], state["in_features"], config.hidden,
                                         config.dropout))


def knn_ratings(train_vectors: np.ndarray, train_ratings: np.ndarray, vectors: np.ndarray, k: int
                ) -> np.ndarray:
    """Similarity-weighted mean rating of the ``k`` nearest rated songs (M float32)."""
    sims = vectors @ train_vectors.T  # M x R cosine
    k = min(k, sims.shape[1])
    top = np.argpartition(-sims, k - 1, axis=1)[:, :k]
    weights = np.clip(np.take_along_axis(sims, top, axis=1), 0, None) + 1e-6
    return ((weights * train_ratings[top]).sum(axis=1) / weights.sum(axis=1)).astype(np.float32)
