"""The rating model: predicts the person's rating (0..1) of every song from its embedding and, where
cross-validation shows they help, the implicit signals (plays, skips, Clementine's score), with an
honest cross-validated report. The model family (ridge, k-NN or a small MLP, ``regressors``) is
chosen by the same cross-validation.

With fewer than ``MIN_RATINGS`` ratings there is too little to learn from: the taste is then the
similarity to the songs played most and skipped least (``FavouritesModel``).

torch is imported only where an MLP is trained or used, or a model saved or loaded
(``rating_net``): the tray imports this module and must stay light.
"""

from __future__ import annotations

import dataclasses
import hashlib
import logging
import math
import time
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

import numpy as np
from scipy import stats

from musicrec_desktop.progress import CancelToken, ProgressCallback, RateMeter, ignore_progress
from musicrec_desktop.recommend.rating_config import RatingConfig
from musicrec_desktop.recommend.regressors import (
    FAMILIES,
    KNN,
    MLP,
    TAKES_IMPLICIT,
    Regressor,
    fit_regressor,
    regressor_from_state,
)
from musicrec_desktop.recommend.table import SongTable
from musicrec_desktop.recommend.taste import TasteView

if TYPE_CHECKING:
    from musicrec_desktop.settings import Settings

log = logging.getLogger(__name__)

MIN_RATINGS = 30
FAVOURITES = 25  # songs whose mean embedding stands for the taste in the fallback


WITH_IMPLICIT = "embeddings + implicit signals"
EMBEDDINGS_ONLY = "embeddings only"
MEAN_BASELINE = "mean rating"
KNN_BASELINE = "k-NN"
TARGET_PEARSON = 0.4  # the design's target for the out-of-fold correlation


@dataclass
class RatingReport:
    n_rated: int
    n_songs: int
    embedding_model: str
    fallback: bool  # too few ratings: favourites similarity instead of a rating model
    message: str
    folds: int = 0
    # out-of-fold correlation of predicted vs true ratings of the model in use; None when not
    # measured or undefined
    pearson: float | None = None
    spearman: float | None = None
    rmse: float | None = None
    uses_implicit: bool = True  # the model in use reads the implicit signals (cross-validation chose)
    family: str = MLP  # the model family in use (cross-validation chose)
    # the best family with and without the implicit signals, each cross-validated
    variants: dict[str, dict[str, float | None]] = field(default_factory=dict)
    # every family and signal set measured: "ridge, embeddings only" -> figures
    families: dict[str, dict[str, float | None]] = field(default_factory=dict)
    baselines: dict[str, dict[str, float | None]] = field(default_factory=dict)
    seconds: float = 0.0

    def to_dict(self) -> dict:
        return dataclasses.asdict(self)

    def summary(self) -> str:
        if self.fallback:
            return self.message
        rows = {f"model, {name}": m for name, m in self.variants.items()} | self.baselines
        if not rows:  # learnt with measure=False (evaluation, the study): nothing cross-validated
            return f"rating model ({self.family}): {self.n_rated} rated songs; {self.message}"
        lines = [f"rating model ({self.family}): {self.n_rated} rated songs, {self.folds}-fold "
                 "cross-validation"]
        width = max(map(len, rows)) + 1
        for name, m in rows.items():
            lines.append(f"  {name + ':':{width}s} {_fmt(name, m)}")
        lines.append(self.message)
        return "\n".join(lines)


def _fmt(name: str, m: dict[str, float | None]) -> str:
    def num(v: float | None) -> str:
        return "  n/a " if v is None else f"{v:+.3f}"
    if name == MEAN_BASELINE:
        # one constant per fold: there is nothing for a correlation to measure
        return f"no correlation (a constant prediction); RMSE {m['rmse']:.3f}"
    return f"Pearson {num(m['pearson'])}  Spearman {num(m['spearman'])}  RMSE {m['rmse']:.3f}"


class RatingModel:
    """Recommender ``rating``: a fitted regressor of the family cross-validation chose, with the
    feature scaling it was fitted with; below ``MIN_RATINGS`` ratings ``learn`` falls back to
    ``FavouritesModel``."""

    name = "rating"
    title = "rating model"
    predicts_rating = True
    report_type = RatingReport

    def __init__(self, regressor: Regressor, family: str, feature_mean: np.ndarray, feature_std: np.ndarray,
                 config: RatingConfig, embedding_model: str, uses_implicit: bool = True) -> None:
        self.regressor, self.family, self.config = regressor, family, config
        self.embedding_model = embedding_model
        self.feature_mean, self.feature_std = feature_mean, feature_std
        self.uses_implicit = uses_implicit

    @classmethod
    def fit(cls, vectors: np.ndarray, implicit: np.ndarray, ratings: np.ndarray, config: RatingConfig,
            embedding_model: str, cancel: CancelToken | None = None, *, uses_implicit: bool = True,
            family: str = MLP) -> RatingModel:
        """Fits on rated songs: ``vectors`` R x D, ``implicit`` R x F, ``ratings`` R (0..1)."""
        implicit = implicit if uses_implicit else implicit[:, :0]
        mean, std = implicit.mean(axis=0), implicit.std(axis=0) + 1e-6
        regressor = fit_regressor(family, _features(vectors, implicit, mean, std), vectors, ratings, config,
                                  cancel)
        return cls(regressor, family, mean, std, config, embedding_model, uses_implicit)

    @classmethod
    def learn(cls, view: TasteView, settings: Settings, *, progress: ProgressCallback = ignore_progress,
              cancel: CancelToken | None = None, measure: bool = True) -> tuple[Any, RatingReport]:
        return train(view.table, RatingConfig.from_settings(settings), progress=progress, cancel=cancel,
                     cross_validate=measure)

    def predict(self, table: SongTable) -> np.ndarray:
        """N float32: the predicted rating (0..1) of every song in the table."""
        return self.predict_arrays(table.vectors, table.implicit())

    def reason_keys(self) -> list[str]:
        return []

    def predict_arrays(self, vectors: np.ndarray, implicit: np.ndarray) -> np.ndarray:
        """M float32 ratings of songs given as ``vectors`` M x D and ``implicit`` M x F."""
        if self.family == KNN:
            return self.regressor.predict(vectors)
        implicit = implicit if self.uses_implicit else implicit[:, :0]
        return self.regressor.predict(_features(vectors, implicit, self.feature_mean, self.feature_std))

    def state(self) -> dict:
        return {"kind": "rating", "config": dataclasses.asdict(self.config), "family": self.family,
                "regressor": self.regressor.state(), "feature_mean": self.feature_mean,
                "feature_std": self.feature_std, "embedding_model": self.embedding_model,
                "uses_implicit": self.uses_implicit}

    @classmethod
    def from_state(cls, state: dict) -> RatingModel:
        config = RatingConfig(**state["config"])
        # files written before the family was chosen hold an MLP's weights at the top level
        saved = state.get("regressor") or {"family": MLP, "state_dict": state["state_dict"],
                                           "in_features": state["in_features"]}
        return cls(regressor_from_state(saved, config), saved["family"], state["feature_mean"],
                   state["feature_std"], config, state["embedding_model"], state["uses_implicit"])


class FavouritesModel:
    """Recommender ``favourites``, and the rating model's fallback: cosine similarity to the mean
    embedding of the favourite songs."""

    name = "favourites"
    title = "favourites (most played)"
    predicts_rating = False
    report_type = RatingReport

    def __init__(self, favourite_keys: list[str], embedding_model: str) -> None:
        self.favourite_keys, self.embedding_model = favourite_keys, embedding_model

    @classmethod
    def from_table(cls, table: SongTable) -> FavouritesModel:
        """Most played and least skipped (Clementine's score where present); rated songs of three
        stars or more count too."""
        def liking(s) -> float:
            if s.score is not None:
                return s.score / 100.0 * math.log1p(s.playcount + 1)
            rated = 0.0 if s.rating is None else (s.rating - 0.5) * 4
            return math.log1p(s.playcount) * (1 - s.skipcount / (s.playcount + s.skipcount + 1)) + rated
        ranked = sorted((s for s in table.songs if liking(s) > 0), key=liking, reverse=True)
        return cls([s.key for s in ranked[:FAVOURITES]], table.model_id)

    @classmethod
    def learn(cls, view: TasteView, settings: Settings, *, progress: ProgressCallback = ignore_progress,
              cancel: CancelToken | None = None, measure: bool = True
              ) -> tuple[FavouritesModel, RatingReport]:
        model = cls.from_table(view.table)
        rated = int(np.count_nonzero(~np.isnan(view.table.ratings())))
        message = f"recommending by similarity to your {len(model.favourite_keys)} most played songs"
        return model, RatingReport(rated, len(view.table), view.table.model_id, True, message)

    def predict(self, table: SongTable) -> np.ndarray:
        """N float32 in 0..1: (1 + cosine to the favourites' mean) / 2; 0.5 without favourites."""
        rows = [r for r in (table.row(k) for k in self.favourite_keys) if r is not None]
        if not rows:
            return np.full(len(table), 0.5, dtype=np.float32)
        return (1 + table.cosine_to_centre(rows)) / 2

    def reason_keys(self) -> list[str]:
        return list(self.favourite_keys)

    def state(self) -> dict:
        return {"kind": "favourites", "favourite_keys": self.favourite_keys,
                "embedding_model": self.embedding_model}

    @classmethod
    def from_state(cls, state: dict) -> FavouritesModel:
        return cls(list(state["favourite_keys"]), state["embedding_model"])


def ratings_fingerprint(table: SongTable) -> str:
    """Changes when a rating is added, changed or removed, or the embeddings change model."""
    text = "\n".join(f"{s.key}\t{s.rating:.2f}" for s in table.songs if s.rating is not None)
    return hashlib.sha1(f"{table.model_id}\n{text}".encode()).hexdigest()


def train(table: SongTable, config: RatingConfig, *, progress: ProgressCallback = ignore_progress,
          cancel: CancelToken | None = None, cross_validate: bool = True
          ) -> tuple[RatingModel | FavouritesModel, RatingReport]:
    """Cross-validates (unless told not to) the model with and without the implicit signals and
    the baselines, then fits the better model on every rated song; the fallback below
    ``MIN_RATINGS``. Without cross-validation the implicit signals are used."""
    started = time.monotonic()
    ratings = table.ratings()
    rated = np.flatnonzero(~np.isnan(ratings))
    if len(rated) < MIN_RATINGS:
        model = FavouritesModel.from_table(table)
        favourites = len(model.favourite_keys)
        basis = (f": recommending by similarity to your {favourites} most played, least skipped songs"
                 if favourites else " and none played yet: recommendations are picked for variety")
        message = (f"only {len(rated)} rated songs (a rating model needs at least {MIN_RATINGS}){basis}. "
                   "Rate more songs in your player for better recommendations.")
        # said to the person for their library; an evaluation's or the study's view of the past
        # (cross_validate=False) has fewer ratings by design and only notes it
        (log.warning if cross_validate else log.info)(message)
        return model, RatingReport(len(rated), len(table), table.model_id, True, message,
                                   seconds=time.monotonic() - started)
    vectors, implicit, y = table.vectors[rated], table.implicit()[rated], ratings[rated]
    if not cross_validate:
        model = RatingModel.fit(vectors, implicit, y, config, table.model_id, cancel)
        return model, RatingReport(len(rated), len(table), table.model_id, False,
                                   "not cross-validated; `musicrec train-classifier` measures it",
                                   seconds=time.monotonic() - started)
    folds = min(config.folds, len(rated))
    meter = RateMeter(folds + 1)
    scores = _cross_validate(vectors, implicit, y, config, folds, meter, progress, cancel)
    # the best family with and without the implicit signals; the better of the two is used
    best = {signals: max((c for c in CANDIDATES if c[1] == uses), key=lambda c: _pearson(scores[c]))
            for signals, uses in ((WITH_IMPLICIT, True), (EMBEDDINGS_ONLY, False))}
    uses_implicit = _pearson(scores[best[WITH_IMPLICIT]]) >= _pearson(scores[best[EMBEDDINGS_ONLY]])
    family = best[WITH_IMPLICIT if uses_implicit else EMBEDDINGS_ONLY][0]
    model = RatingModel.fit(vectors, implicit, y, config, table.model_id, cancel, uses_implicit=uses_implicit,
                            family=family)
    progress(meter.report("rating", folds + 1, "final fit"))
    variants = {signals: scores[candidate] for signals, candidate in best.items()}
    used = variants[WITH_IMPLICIT if uses_implicit else EMBEDDINGS_ONLY]
    knn = scores[(KNN, False)]
    target = "above" if _pearson(used) > TARGET_PEARSON else "not above"
    message = (f"measured Pearson {_num(used['pearson'])} ({target} the {TARGET_PEARSON} target) with "
               f"{family}, {'with' if uses_implicit else 'without'} the implicit signals (cross-validated: "
               f"{_num(variants[WITH_IMPLICIT]['pearson'])} with ({best[WITH_IMPLICIT][0]}), "
               f"{_num(variants[EMBEDDINGS_ONLY]['pearson'])} without ({best[EMBEDDINGS_ONLY][0]}); "
               f"k-NN {_num(knn['pearson'])})")
    report = RatingReport(len(rated), len(table), table.model_id, False, message, folds,
                          uses_implicit=uses_implicit, family=family, variants=variants,
                          families={_candidate_name(c): scores[c] for c in CANDIDATES},
                          baselines={MEAN_BASELINE: scores[MEAN_BASELINE], KNN_BASELINE: knn},
                          seconds=time.monotonic() - started, **used)
    log.info("%s", report.summary())
    return model, report


# (family, uses the implicit signals): every model the cross-validation compares
CANDIDATES = tuple((family, uses) for family in FAMILIES for uses in (True, False)
                   if uses is False or TAKES_IMPLICIT[family])


def _candidate_name(candidate: tuple[str, bool]) -> str:
    return f"{candidate[0]}, {WITH_IMPLICIT if candidate[1] else EMBEDDINGS_ONLY}"


def _cross_validate(vectors: np.ndarray, implicit: np.ndarray, y: np.ndarray, config: RatingConfig,
                    folds: int, meter: RateMeter, progress: ProgressCallback, cancel: CancelToken | None
                    ) -> dict[Any, dict[str, float | None]]:
    """Out-of-fold correlation and RMSE of every candidate (by (family, uses implicit)) and of the
    mean-rating baseline (by name)."""
    fold_of = np.random.default_rng(config.seed).permutation(len(y)) % folds
    predicted: dict[Any, np.ndarray] = {c: np.zeros_like(y) for c in (*CANDIDATES, MEAN_BASELINE)}
    for fold in range(folds):
        if cancel is not None:
            cancel.check()
        test, fit = fold_of == fold, fold_of != fold
        for family, uses_implicit in CANDIDATES:
            model = RatingModel.fit(vectors[fit], implicit[fit], y[fit], config, "", cancel,
                                    uses_implicit=uses_implicit, family=family)
            predicted[(family, uses_implicit)][test] = model.predict_arrays(vectors[test], implicit[test])
        predicted[MEAN_BASELINE][test] = y[fit].mean()
        progress(meter.report("rating", fold + 1, f"fold {fold + 1} of {folds}"))
    scores = {name: correlation(p, y) for name, p in predicted.items()}
    # the mean is one constant per fold: pooled, its "correlation" only reflects which fold a song
    # fell in (negative by construction), so only its RMSE is reported
    scores[MEAN_BASELINE].update(pearson=None, spearman=None)
    return scores


def _pearson(score: dict[str, float | None]) -> float:
    """Pearson for comparisons: an undefined one (a constant prediction) ranks below any measured."""
    return -math.inf if score["pearson"] is None else score["pearson"]


def _num(v: float | None) -> str:
    return "n/a" if v is None else f"{v:.3f}"


def correlation(predicted: np.ndarray, truth: np.ndarray) -> dict[str, float | None]:
    """Pearson, Spearman (None when a side is constant: undefined) and RMSE."""
    rmse = float(np.sqrt(np.mean((predicted - truth) ** 2)))
    if np.ptp(predicted) < 1e-9 or np.ptp(truth) < 1e-9:
        return {"pearson": None, "spearman": None, "rmse": rmse}
    return {"pearson": float(stats.pearsonr(predicted, truth)[0]),
            "spearman": float(stats.spearmanr(predicted, truth)[0]), "rmse": rmse}


def _features(vectors: np.ndarray, implicit: np.ndarray, mean: np.ndarray, std: np.ndarray) -> np.ndarray:
    # unit-length embeddings have entries ~ 1/sqrt(D): scale to ~unit variance like the implicit ones
    scaled = vectors * np.sqrt(vectors.shape[1])
    return np.concatenate([scaled, (implicit - mean) / std], axis=1).astype(np.float32)
