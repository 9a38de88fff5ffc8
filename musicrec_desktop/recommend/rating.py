"""The rating model: predicts the person's rating (0..1) of every song from its embedding and the
implicit signals (plays, skips, Clementine's score), with an honest cross-validated report.

With fewer than ``MIN_RATINGS`` ratings there is too little to learn from: the taste is then the
similarity to the songs played most and skipped least (``FavouritesModel``).
"""

from __future__ import annotations

import dataclasses
import hashlib
import logging
import math
import time
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import torch
from scipy import stats
from torch import nn

from musicrec_desktop.errors import ModelError
from musicrec_desktop.progress import CancelToken, ProgressCallback, RateMeter, ignore_progress
from musicrec_desktop.recommend.table import IMPLICIT_FEATURES, SongTable

log = logging.getLogger(__name__)

MIN_RATINGS = 30
FAVOURITES = 25  # songs whose mean embedding stands for the taste in the fallback


@dataclass(frozen=True)
class RatingConfig:
    epochs: int = 20  # settings.rating_epochs
    hidden: int = 64  # small: a few hundred ratings cannot support a wide layer
    dropout: float = 0.3  # on the input too, so no single embedding dimension dominates
    learning_rate: float = 1e-3
    weight_decay: float = 1e-2
    batch_size: int = 32
    folds: int = 5  # k-fold cross-validation for the report
    knn_k: int = 10  # neighbours of the k-NN baseline
    seed: int = 1234


@dataclass
class RatingReport:
    n_rated: int
    n_songs: int
    embedding_model: str
    fallback: bool  # too few ratings: favourites similarity instead of a rating model
    message: str
    folds: int = 0
    # out-of-fold correlation of predicted vs true ratings; None when not measured or undefined
    pearson: float | None = None
    spearman: float | None = None
    rmse: float | None = None
    baselines: dict[str, dict[str, float | None]] = field(default_factory=dict)
    seconds: float = 0.0

    def to_dict(self) -> dict:
        return dataclasses.asdict(self)

    def summary(self) -> str:
        if self.fallback:
            return self.message
        lines = [f"rating model: {self.n_rated} rated songs, {self.folds}-fold cross-validation",
                 f"  model:    {_fmt(self)}"]
        lines += [f"  {name + ':':9s} {_fmt(m)}" for name, m in self.baselines.items()]
        lines.append(self.message)
        return "\n".join(lines)


def _fmt(m: object) -> str:
    get = m.get if isinstance(m, dict) else lambda k: getattr(m, k)
    def num(v: float | None) -> str:
        return "  n/a" if v is None else f"{v:+.3f}"
    return f"Pearson {num(get('pearson'))}  Spearman {num(get('spearman'))}  RMSE {num(get('rmse'))}"


class RatingNet(nn.Module):
    """(embedding ++ implicit features) -> rating 0..1."""

    def __init__(self, in_features: int, config: RatingConfig) -> None:
        super().__init__()
        self.layers = nn.Sequential(
            nn.Dropout(config.dropout),
            nn.Linear(in_features, config.hidden),
            nn.GELU(),
            nn.Dropout(config.dropout),
            nn.Linear(config.hidden, 1),
        )

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        # x: B x (D + F) -> B ratings
        return torch.sigmoid(self.layers(x).squeeze(-1))


class RatingModel:
    """A trained ``RatingNet`` with the feature scaling it was trained with."""

    predicts_rating = True

    def __init__(self, net: RatingNet, feature_mean: np.ndarray, feature_std: np.ndarray,
                 config: RatingConfig, embedding_model: str) -> None:
        self.net, self.config, self.embedding_model = net.eval(), config, embedding_model
        self.feature_mean, self.feature_std = feature_mean, feature_std

    @classmethod
    def fit(cls, vectors: np.ndarray, implicit: np.ndarray, ratings: np.ndarray, config: RatingConfig,
            embedding_model: str, cancel: CancelToken | None = None) -> RatingModel:
        """Trains on rated songs: ``vectors`` R x D, ``implicit`` R x F, ``ratings`` R (0..1)."""
        mean, std = implicit.mean(axis=0), implicit.std(axis=0) + 1e-6
        torch.manual_seed(config.seed)
        net = RatingNet(vectors.shape[1] + implicit.shape[1], config)
        x = torch.from_numpy(_features(vectors, implicit, mean, std))
        y = torch.from_numpy(ratings.astype(np.float32))
        optimiser = torch.optim.AdamW(net.parameters(), lr=config.learning_rate,
                                      weight_decay=config.weight_decay)
        generator = torch.Generator().manual_seed(config.seed)
        net.train()
        for _ in range(config.epochs):
            if cancel is not None:
                cancel.check()
            for batch in torch.randperm(len(y), generator=generator).split(config.batch_size):
                loss = nn.functional.mse_loss(net(x[batch]), y[batch])
                optimiser.zero_grad()
                loss.backward()
                optimiser.step()
        return cls(net, mean, std, config, embedding_model)

    def predict(self, table: SongTable) -> np.ndarray:
        """N float32: the predicted rating (0..1) of every song in the table."""
        return self.predict_arrays(table.vectors, table.implicit())

    def predict_arrays(self, vectors: np.ndarray, implicit: np.ndarray) -> np.ndarray:
        x = torch.from_numpy(_features(vectors, implicit, self.feature_mean, self.feature_std))
        with torch.no_grad():
            return torch.cat([self.net(part) for part in x.split(8192)]).numpy()

    def state(self) -> dict:
        return {"kind": "rating", "config": dataclasses.asdict(self.config),
                "state_dict": self.net.state_dict(), "feature_mean": self.feature_mean,
                "feature_std": self.feature_std, "embedding_model": self.embedding_model,
                "in_features": self.net.layers[1].in_features}

    @classmethod
    def from_state(cls, state: dict) -> RatingModel:
        config = RatingConfig(**state["config"])
        net = RatingNet(state["in_features"], config)
        net.load_state_dict(state["state_dict"])
        return cls(net, state["feature_mean"], state["feature_std"], config, state["embedding_model"])


class FavouritesModel:
    """The fallback taste: cosine similarity to the mean embedding of the favourite songs."""

    predicts_rating = False

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

    def predict(self, table: SongTable) -> np.ndarray:
        """N float32 in 0..1: (1 + cosine to the favourites' mean) / 2; 0.5 without favourites."""
        rows = [r for r in (table.row(k) for k in self.favourite_keys) if r is not None]
        if not rows:
            return np.full(len(table), 0.5, dtype=np.float32)
        centre = table.vectors[rows].mean(axis=0)
        centre /= np.linalg.norm(centre) + 1e-12
        return ((1 + table.vectors @ centre) / 2).astype(np.float32)

    def state(self) -> dict:
        return {"kind": "favourites", "favourite_keys": self.favourite_keys,
                "embedding_model": self.embedding_model}


TasteModel = RatingModel | FavouritesModel


def ratings_fingerprint(table: SongTable) -> str:
    """Changes when a rating is added, changed or removed, or the embeddings change model."""
    text = "\n".join(f"{s.key}\t{s.rating:.2f}" for s in table.songs if s.rating is not None)
    return hashlib.sha1(f"{table.model_id}\n{text}".encode()).hexdigest()


def train(table: SongTable, config: RatingConfig, *, progress: ProgressCallback = ignore_progress,
          cancel: CancelToken | None = None, cross_validate: bool = True) -> tuple[TasteModel, RatingReport]:
    """Cross-validates (unless told not to), then fits on every rated song; the fallback below
    ``MIN_RATINGS``."""
    started = time.monotonic()
    ratings = table.ratings()
    rated = np.flatnonzero(~np.isnan(ratings))
    if len(rated) < MIN_RATINGS:
        model = FavouritesModel.from_table(table)
        message = (f"only {len(rated)} rated songs (a rating model needs at least {MIN_RATINGS}): "
                   f"recommending by similarity to your {len(model.favourite_keys)} most played, "
                   "least skipped songs. Rate more songs in your player for better recommendations.")
        log.warning(message)
        return model, RatingReport(len(rated), len(table), table.model_id, True, message,
                                   seconds=time.monotonic() - started)
    vectors, implicit, y = table.vectors[rated], table.implicit()[rated], ratings[rated]
    if not cross_validate:
        model = RatingModel.fit(vectors, implicit, y, config, table.model_id, cancel)
        return model, RatingReport(len(rated), len(table), table.model_id, False,
                                   "not cross-validated; `musicrec train-classifier` measures it",
                                   seconds=time.monotonic() - started)
    folds = min(config.folds, len(rated))
    fold_of = np.random.default_rng(config.seed).permutation(len(rated)) % folds
    predicted = {"model": np.zeros_like(y), "mean rating": np.zeros_like(y), "k-NN": np.zeros_like(y)}
    meter = RateMeter(folds + 1)
    for fold in range(folds):
        if cancel is not None:
            cancel.check()
        test, fit = fold_of == fold, fold_of != fold
        model = RatingModel.fit(vectors[fit], implicit[fit], y[fit], config, table.model_id, cancel)
        predicted["model"][test] = model.predict_arrays(vectors[test], implicit[test])
        predicted["mean rating"][test] = y[fit].mean()
        predicted["k-NN"][test] = knn_ratings(vectors[fit], y[fit], vectors[test], config.knn_k)
        progress(meter.report("rating", fold + 1, f"fold {fold + 1} of {folds}"))
    model = RatingModel.fit(vectors, implicit, y, config, table.model_id, cancel)
    progress(meter.report("rating", folds + 1, "final fit"))
    scores = {name: correlation(p, y) for name, p in predicted.items()}
    # the mean is one constant per fold: pooled, its "correlation" only reflects which fold a song
    # fell in (negative by construction), so only its RMSE is reported
    scores["mean rating"].update(pearson=None, spearman=None)
    best = max(("model", "k-NN"), key=lambda n: scores[n]["pearson"] or -1.0)
    target = "above" if (scores["model"]["pearson"] or -1) > 0.4 else "below"
    message = (f"measured Pearson {_num(scores['model']['pearson'])} ({target} the 0.4 target); "
               f"best of model and k-NN: {best}")
    report = RatingReport(len(rated), len(table), table.model_id, False, message, folds,
                          baselines={k: v for k, v in scores.items() if k != "model"},
                          seconds=time.monotonic() - started, **scores["model"])
    log.info("%s", report.summary())
    return model, report


def _num(v: float | None) -> str:
    return "n/a" if v is None else f"{v:.3f}"


def knn_ratings(train_vectors: np.ndarray, train_ratings: np.ndarray, vectors: np.ndarray, k: int
                ) -> np.ndarray:
    """Similarity-weighted mean rating of the ``k`` nearest rated songs (M float32)."""
    sims = vectors @ train_vectors.T  # M x R cosine
    k = min(k, sims.shape[1])
    top = np.argpartition(-sims, k - 1, axis=1)[:, :k]
    weights = np.clip(np.take_along_axis(sims, top, axis=1), 0, None) + 1e-6
    return ((weights * train_ratings[top]).sum(axis=1) / weights.sum(axis=1)).astype(np.float32)


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


# -- persistence ----------------------------------------------------------------------------------
def model_path(models_dir: Path) -> Path:
    return models_dir / "rating_model.pt"


def save(path: Path, model: TasteModel, report: RatingReport, fingerprint: str) -> None:
    """One file with the model (or the fallback's favourites), its report and what it was fit on."""
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f".{path.name}.tmp")
    torch.save({"model": model.state(), "report": report.to_dict(), "fingerprint": fingerprint,
                "features": IMPLICIT_FEATURES}, tmp)
    tmp.replace(path)


def load(path: Path) -> tuple[TasteModel, RatingReport, str]:
    """(model, report, fingerprint) as saved; ``ModelError`` when the file is unreadable."""
    try:
        saved = torch.load(path, weights_only=False)
        state = saved["model"]
        model = (RatingModel.from_state(state) if state["kind"] == "rating"
                 else FavouritesModel(state["favourite_keys"], state["embedding_model"]))
        return model, RatingReport(**saved["report"]), saved["fingerprint"]
    except (OSError, KeyError, RuntimeError, TypeError) as exc:
        raise ModelError(f"{path}: unreadable rating model ({exc}); run `musicrec train-classifier`") from exc
