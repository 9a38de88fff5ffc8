import numpy as np
import pytest
import torch

from musicrec_desktop.recommend import rating
from musicrec_desktop.recommend.service import Recommender, train_rating_model
from musicrec_desktop.recommend.table import SongTable
from musicrec_desktop.store.embeddings import EmbeddingStore

from .conftest import build_library, replace_songs


def test_rating_model_learns_the_taste_and_reports_baselines(library):
    report = train_rating_model(library.ctx.settings, library.ctx.dirs, library.scan)
    assert not report.fallback
    assert report.n_rated == 40 and report.folds == 5
    # ratings follow the style clusters, so both the model and k-NN must find them
    assert report.pearson > 0.6 and report.spearman > 0.6
    assert report.baselines["k-NN"]["pearson"] > 0.6
    # the mean rating is a constant prediction: correlation undefined, RMSE measured
    assert report.baselines["mean rating"]["pearson"] is None
    assert report.rmse < report.baselines["mean rating"]["rmse"]
    saved = rating.model_path(library.ctx.dirs.models)
    assert saved.exists()
    model, loaded_report, _ = rating.load(saved)
    assert loaded_report.pearson == pytest.approx(report.pearson)
    with EmbeddingStore(library.ctx.dirs.embeddings_db) as store:
        table = SongTable.from_store(library.scan.songs, store)
    predicted = model.predict(table)
    assert predicted.shape == (80,) and predicted.dtype == np.float32
    loved = [i for i, s in enumerate(table.songs) if s.artist == "Artist 0"]
    hated = [i for i, s in enumerate(table.songs) if s.artist == "Artist 9"]
    assert predicted[loved].mean() > predicted[hated].mean() + 0.3


def test_few_ratings_fall_back_to_favourites(tmp_path):
    lib = build_library(tmp_path, rated_artists=2)  # 8 ratings
    plays = {s.key: {"playcount": 40, "skipcount": 0} for s in lib.scan.songs if s.artist == "Artist 5"}
    replace_songs(lib, plays)
    report = train_rating_model(lib.ctx.settings, lib.ctx.dirs, lib.scan)
    assert report.fallback and report.n_rated == 8
    assert "only 8 rated songs" in report.message and "at least 30" in report.message
    rec = Recommender.open(lib.ctx, lib.scan)
    top = rec.recommended(6, seed=1)
    assert all(r.predicted_rating is None for r in top)
    # the most played artist's style ranks first (its own songs are "rarely played" no more)
    assert top[0].song.artist in {"Artist 4", "Artist 5", "Artist 6"} or "Artist 5" in top[0].reason


def test_stale_model_is_retrained_when_ratings_change(library):
    rec = Recommender.open(library.ctx, library.scan)
    saved = rating.model_path(library.ctx.dirs.models)
    first = saved.stat().st_mtime_ns
    Recommender.open(library.ctx, library.scan)
    assert saved.stat().st_mtime_ns == first  # same ratings: reused
    key = next(s.key for s in library.scan.songs if s.rating is None)
    replace_songs(library, {key: {"rating": 1.0}})
    Recommender.open(library.ctx, library.scan)
    assert saved.stat().st_mtime_ns != first
    assert rec.report.n_rated == 40


def test_knn_and_correlation_helpers():
    train = np.eye(3, dtype=np.float32)
    got = rating.knn_ratings(train, np.array([0.2, 0.6, 1.0], dtype=np.float32), train[[2]], k=1)
    assert got == pytest.approx([1.0], abs=1e-4)
    c = rating.correlation(np.array([1.0, 2.0, 3.0]), np.array([1.0, 2.0, 4.0]))
    assert c["spearman"] == pytest.approx(1.0) and 0.9 < c["pearson"] < 1.0
    assert torch.get_num_threads() >= 1
