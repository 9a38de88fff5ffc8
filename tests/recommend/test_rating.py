import logging
import subprocess
import sys

import numpy as np
import pytest

from musicrec_desktop.errors import NotReadyError
from musicrec_desktop.library.song import Song
from musicrec_desktop.recommend import rating, regressors, taste
from musicrec_desktop.recommend.service import Recommender, train_recommender
from musicrec_desktop.recommend.table import SongTable
from musicrec_desktop.settings import Settings
from musicrec_desktop.store.embeddings import EmbeddingStore

from .conftest import build_library, replace_songs


def test_rating_model_learns_the_taste_and_reports_baselines(library):
    report = train_recommender(library.ctx.settings, library.ctx.dirs, library.scan)
    assert not report.fallback
    assert report.n_rated == 40 and report.folds == 5
    # ratings follow the style clusters, so both the model and k-NN must find them
    assert report.pearson > 0.6 and report.spearman > 0.6
    assert report.baselines["k-NN"]["pearson"] > 0.6
    # the mean rating is a constant prediction: correlation undefined, RMSE measured
    mean = report.baselines["mean rating"]
    assert mean["pearson"] is None and mean["spearman"] is None
    assert report.rmse < mean["rmse"]
    # every family measured with and without the signals (k-NN: embeddings only); the best of each in
    # the variants, the better of those in use
    assert set(report.families) == {"ridge, embeddings only", "ridge, embeddings + implicit signals",
                                    "MLP, embeddings only", "MLP, embeddings + implicit signals",
                                    "k-NN, embeddings only"}
    assert report.families["k-NN, embeddings only"] == report.baselines["k-NN"]
    best_without = max(v["pearson"] for k, v in report.families.items() if k.endswith("embeddings only"))
    assert report.variants[rating.EMBEDDINGS_ONLY]["pearson"] == best_without
    signals = rating.WITH_IMPLICIT if report.uses_implicit else rating.EMBEDDINGS_ONLY
    assert report.pearson == report.families[f"{report.family}, {signals}"]["pearson"]
    both = report.variants
    assert set(both) == {rating.WITH_IMPLICIT, rating.EMBEDDINGS_ONLY}
    assert all(v["pearson"] is not None for v in both.values())
    assert report.uses_implicit == (both[rating.WITH_IMPLICIT]["pearson"]
                                    >= both[rating.EMBEDDINGS_ONLY]["pearson"])
    in_use = both[rating.WITH_IMPLICIT if report.uses_implicit else rating.EMBEDDINGS_ONLY]
    assert report.pearson == in_use["pearson"]
    text = report.summary()
    mean_row = f"mean rating: no correlation (a constant prediction); RMSE {mean['rmse']:.3f}"
    assert mean_row in " ".join(text.split())  # the columns are padded
    assert "model, embeddings only:" in text and "model, embeddings + implicit signals:" in text
    saved = taste.model_path(library.ctx.dirs.models)
    assert saved.exists()
    model, loaded_report, _ = taste.load(saved)
    assert loaded_report.pearson == pytest.approx(report.pearson)
    assert model.uses_implicit == report.uses_implicit and model.family == report.family
    with EmbeddingStore(library.ctx.dirs.embeddings_db) as store:
        table = SongTable.from_store(library.scan.songs, store)
    predicted = model.predict(table)
    assert predicted.shape == (80,) and predicted.dtype == np.float32
    loved = [i for i, s in enumerate(table.songs) if s.artist == "Artist 0"]
    hated = [i for i, s in enumerate(table.songs) if s.artist == "Artist 9"]
    assert predicted[loved].mean() > predicted[hated].mean() + 0.3


def test_no_ratings_and_no_plays_say_the_picks_are_for_variety(tmp_path):
    """An untagged, unrated, never played folder of music (the dev library, say)."""
    lib = build_library(tmp_path, rated_artists=0)
    replace_songs(lib, {s.key: {"playcount": 0, "skipcount": 0} for s in lib.scan.songs})
    report = train_recommender(lib.ctx.settings, lib.ctx.dirs, lib.scan)
    assert report.fallback and report.n_rated == 0
    assert report.message == ("only 0 rated songs (a rating model needs at least 30) and none played yet: "
                              "recommendations are picked for variety. Rate more songs in your player "
                              "for better recommendations.")


def test_few_ratings_fall_back_to_favourites(tmp_path):
    lib = build_library(tmp_path, rated_artists=2)  # 8 ratings
    # only Artist 5 is played; the 8 rated songs sit at 2.5 stars: neither liked nor disliked
    changes = {s.key: {"playcount": 0, "skipcount": 0} for s in lib.scan.songs}
    changes |= {s.key: {"playcount": 0, "rating": 0.5} for s in lib.scan.songs if s.rating is not None}
    changes |= {s.key: {"playcount": 40, "skipcount": 0} for s in lib.scan.songs if s.artist == "Artist 5"}
    replace_songs(lib, changes)
    report = train_recommender(lib.ctx.settings, lib.ctx.dirs, lib.scan)
    assert report.fallback and report.n_rated == 8
    assert "only 8 rated songs" in report.message and "at least 30" in report.message
    assert "similarity to your 8 most played" in report.message
    model, _, _ = taste.load(taste.model_path(lib.ctx.dirs.models))
    artist5 = {s.key for s in lib.scan.songs if s.artist == "Artist 5"}
    assert set(model.favourite_keys) == artist5  # the only songs with plays
    top = Recommender.open(lib.ctx, lib.scan).recommended(6, seed=1)
    assert all(r.predicted_rating is None for r in top)
    # the taste is Artist 5's style: its songs come first, as many as the artist cap (2) allows
    assert [r.song.artist for r in top[:2]] == ["Artist 5", "Artist 5"]
    assert sum(r.song.artist == "Artist 5" for r in top) == 2


def test_recommendations_never_retrain_the_model_the_rating_stage_owns_it(library):
    """Changed ratings retrain in the pipeline's rating stage (tests/test_pipeline.py), with
    progress and cancel; opening the recommendations only reads the saved model."""
    rec = Recommender.open(library.ctx, library.scan)
    saved = taste.model_path(library.ctx.dirs.models)
    first = saved.stat().st_mtime_ns
    key = next(s.key for s in library.scan.songs if s.rating is None)
    replace_songs(library, {key: {"rating": 1.0}})
    Recommender.open(library.ctx, library.scan)
    assert saved.stat().st_mtime_ns == first
    assert rec.report.n_rated == 40
    saved.unlink()
    with pytest.raises(NotReadyError, match="musicrec train-classifier"):
        Recommender.open(library.ctx, library.scan)


def test_a_model_of_other_song_vectors_is_not_used(library):
    with EmbeddingStore(library.ctx.dirs.embeddings_db) as store:
        store.register_model("new-encoder", 32)
        store.put("new-encoder", library.vectors.items())
        store.set_current("new-encoder")
    with pytest.raises(NotReadyError, match="test-encoder.*new-encoder"):
        Recommender.open(library.ctx, library.scan)


def test_a_failed_save_keeps_the_previous_model_and_leaves_no_temporary_file(library):
    with EmbeddingStore(library.ctx.dirs.embeddings_db) as store:
        table = SongTable.from_store(library.scan.songs, store)
    model, report = rating.train(table, rating.RatingConfig(epochs=2), cross_validate=False)
    path = library.ctx.dirs.models / "rating_model.pt"
    taste.save(path, model, report, "first")
    report.baselines["broken"] = {"pearson": lambda: None}  # cannot be pickled
    with pytest.raises(AttributeError):
        taste.save(path, model, report, "second")
    assert taste.load(path)[2] == "first"
    assert [p.name for p in path.parent.iterdir()] == ["rating_model.pt"]


def test_ridge_leave_one_out_matches_refitting_without_each_song():
    """The penalty is chosen by exact leave-one-out error: the closed form must equal refitting."""
    rng = np.random.default_rng(0)
    x = rng.normal(size=(25, 8))
    y = x @ rng.normal(size=8) * 0.1 + 0.5 + rng.normal(scale=0.05, size=25)
    model = regressors.Ridge.fit(x, y)
    assert model.alpha in set(regressors.RIDGE_ALPHAS * np.mean(np.linalg.svd(x - x.mean(0))[1] ** 2))
    # refit by hand at the chosen penalty without song 3: its prediction is the closed form's
    def fit_at(alpha, xs, ys):
        xm, ym = xs.mean(0), ys.mean()
        w = np.linalg.solve((xs - xm).T @ (xs - xm) + alpha * np.eye(8), (xs - xm).T @ (ys - ym))
        return w, ym - xm @ w
    w, b = fit_at(model.alpha, x, y)
    np.testing.assert_allclose(model.weights, w, rtol=1e-6)
    keep = np.arange(25) != 3
    w3, b3 = fit_at(model.alpha, x[keep], y[keep])
    u, s_, _ = np.linalg.svd(x - x.mean(0), full_matrices=False)
    shrink = s_ ** 2 / (s_ ** 2 + model.alpha)
    fitted = u @ (shrink * (u.T @ (y - y.mean())))
    leverage = (u ** 2) @ shrink + 1 / 25
    loo = (y - y.mean() - fitted) / (1 - leverage)
    assert loo[3] == pytest.approx(y[3] - (x[3] @ w3 + b3), rel=1e-6)


def test_ridge_beats_an_mlp_where_the_taste_is_linear_in_few_ratings():
    """60 ratings over 256 dimensions (which, like song embeddings, vary along a few directions),
    the taste linear along one of them: ridge measures better than the MLP."""
    rng = np.random.default_rng(1)
    latent = rng.normal(size=(60, 6))
    vectors = (latent @ rng.normal(size=(6, 256)) + 0.3 * rng.normal(size=(60, 256))).astype(np.float32)
    vectors /= np.linalg.norm(vectors, axis=1, keepdims=True)
    y = np.clip(0.5 + 0.15 * latent[:, 0], 0, 1).astype(np.float32)
    implicit = rng.normal(size=(60, 3)).astype(np.float32)
    config = rating.RatingConfig()
    scores = rating._cross_validate(vectors, implicit, y, config, 5, rating.RateMeter(6),
                                    lambda p: None, None)
    ridge = scores[("ridge", False)]["pearson"]
    assert ridge > 0.9  # measured 0.931; MLP 0.896, k-NN 0.876
    assert ridge > scores[("MLP", False)]["pearson"] and ridge > scores[("k-NN", False)]["pearson"]


def test_knn_and_correlation_helpers():
    train = np.eye(3, dtype=np.float32)
    stars = np.array([0.2, 0.6, 1.0], dtype=np.float32)
    assert regressors.knn_ratings(train, stars, train[[2]], k=1) == pytest.approx([1.0], abs=1e-4)
    # equally similar to songs 0 and 1, orthogonal to song 2: the mean of 0.2 and 0.6
    between = np.array([[1, 1, 0]], dtype=np.float32) / np.sqrt(2)
    assert regressors.knn_ratings(train, stars, between, k=2) == pytest.approx([0.4], abs=1e-5)
    c = rating.correlation(np.array([1.0, 2.0, 3.0]), np.array([1.0, 2.0, 4.0]))
    # cov = 3, sd_x = sqrt(2), sd_y = sqrt(42/9): r = 3 / sqrt(2 * 42 / 9) = 0.981981
    assert c["pearson"] == pytest.approx(0.981981, abs=1e-6)
    assert c["spearman"] == pytest.approx(1.0)
    assert c["rmse"] == pytest.approx(np.sqrt(1 / 3))  # errors 0, 0, 1
    constant = rating.correlation(np.array([0.5, 0.5, 0.5]), np.array([0.2, 0.6, 1.0]))
    # errors 0.3, -0.1, -0.5
    assert constant["pearson"] is None and constant["rmse"] == pytest.approx(np.sqrt(0.35 / 3))


@pytest.mark.parametrize("module", [
    "musicrec_desktop.recommend.service",  # what the tray opens for "Play recommended" and radio
    "musicrec_desktop.recommend.rating",
    "musicrec_desktop.recommend.evaluate",
])
def test_importing_the_recommendations_does_not_load_torch(module):
    code = f"import sys, {module}; assert 'torch' not in sys.modules, 'torch was imported'"
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120)
    assert result.returncode == 0, result.stderr


def test_a_model_learnt_without_measuring_summarises_in_one_line():
    """The study learns every recommender with measure=False and shows each report's summary: a
    rating model with nothing cross-validated said so instead of raising (max() of no rows)."""
    rng = np.random.default_rng(0)
    songs = [Song(key=f"k{i}", url=f"k{i}", path=None, rating=0.2 + 0.2 * (i % 5)) for i in range(40)]
    vectors = rng.standard_normal((40, 8)).astype(np.float32)
    table = SongTable("m", songs, vectors / np.linalg.norm(vectors, axis=1, keepdims=True))
    model, report = rating.RatingModel.learn(taste.TasteView(table), Settings(), measure=False)
    assert not report.fallback and report.folds == 0
    assert report.summary() == (f"rating model ({report.family}): 40 rated songs; not cross-validated; "
                                "`musicrec train-classifier` measures it")


def test_too_few_ratings_is_a_warning_for_the_library_and_a_note_for_a_view_of_the_past(caplog):
    """The study and the evaluation learn on the ratings known before their cut-off: the person's
    library is not short of ratings, so the console must not tell them to rate more songs."""
    songs = [Song(key=f"k{i}", url=f"k{i}", path=None, rating=0.8 if i < 5 else None, playcount=i)
             for i in range(20)]
    table = SongTable("m", songs, np.eye(20, dtype=np.float32))
    with caplog.at_level(logging.INFO, logger=rating.__name__):
        rating.RatingModel.learn(taste.TasteView(table), Settings(), measure=False)
        assert [r.levelno for r in caplog.records] == [logging.INFO]
        caplog.clear()
        rating.RatingModel.learn(taste.TasteView(table), Settings())
        assert [r.levelno for r in caplog.records] == [logging.WARNING]
        assert "only 5 rated songs" in caplog.records[0].getMessage()


def test_the_rating_net_repeats_itself_and_leaves_the_global_random_state_alone():
    """Its start, dropout masks and batches from a generator of its own: the rating stage may learn
    on the tray's worker while other models learn, and the seed alone decides the net."""
    import torch

    from musicrec_desktop.recommend import rating_net

    rng = np.random.default_rng(0)
    x = rng.standard_normal((40, 12)).astype(np.float32)
    y = (x[:, 0] > 0).astype(np.float32)
    options = dict(hidden=8, dropout=0.3, epochs=5, learning_rate=1e-2, weight_decay=1e-4, batch_size=16,
                   seed=3)
    torch.manual_seed(123)
    before = torch.get_rng_state()
    first = rating_net.fit(x, y, **options)
    assert torch.equal(torch.get_rng_state(), before)
    torch.manual_seed(7)
    second = rating_net.fit(x, y, **options)
    for (name, a), b in zip(first.state_dict().items(), second.state_dict().values(), strict=True):
        assert torch.equal(a, b), name
    np.testing.assert_array_equal(rating_net.predict(first, x), rating_net.predict(second, x))
    # a saved net reads back into the same layout
    again = rating_net.from_state(first.state_dict(), 12, 8, 0.3)
    np.testing.assert_array_equal(rating_net.predict(again, x), rating_net.predict(first, x))
