"""Backends measured on the library (precision@10 of same-album/artist/folder songs, the rating
model's out-of-fold correlation) and ``auto``'s choice from those figures."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from musicrec_desktop.encoders import measure
from musicrec_desktop.encoders.choice import chosen_name, open_backend
from musicrec_desktop.encoders.measure import (
    BackendFigures,
    best_backend,
    chance_at_k,
    knn_genre_map,
    precision_at_k,
    song_groups,
)
from musicrec_desktop.errors import NotReadyError
from musicrec_desktop.library.song import Song
from musicrec_desktop.musicnn import package
from musicrec_desktop.paths import DataDirs
from musicrec_desktop.settings import Settings
from musicrec_desktop.store.embeddings import EmbeddingStore


def unit(rows: np.ndarray) -> np.ndarray:
    return (rows / np.linalg.norm(rows, axis=1, keepdims=True)).astype(np.float32)


def test_precision_at_k_counts_group_mates_among_the_nearest() -> None:
    rng = np.random.default_rng(0)
    centres = np.eye(3) * 10
    vectors = unit(np.repeat(centres, 12, axis=0) + rng.standard_normal((36, 3)))
    groups = [f"g{i // 12}" for i in range(36)]
    assert precision_at_k(vectors, groups) == 1.0  # 11 mates each, all nearer than any other
    mixed = groups[:]
    mixed[0], mixed[12] = "g1", "g0"  # two songs in the other cluster's group
    assert precision_at_k(vectors, mixed) == pytest.approx(1 - (2 * 10 + 20 * 1 / 10 * 10) / 360, abs=0.03)
    shuffled = list(rng.permutation(groups))
    assert precision_at_k(vectors, shuffled) < 0.6
    untagged = [None] * 30 + groups[30:]  # six tagged songs: fewer than MIN_QUERIES
    assert precision_at_k(vectors, untagged) is None
    assert chance_at_k(groups) == pytest.approx(11 / 35)


def test_knn_genre_map_of_any_backends_vectors() -> None:
    rng = np.random.default_rng(1)
    vectors = unit(np.repeat(np.eye(3) * 10, 12, axis=0) + rng.standard_normal((36, 3)))
    genres = ["Rock", "Jazz", "Country"]
    songs = [Song(f"s{i}", "u", None, genre=genres[i // 12]) for i in range(36)]
    assert knn_genre_map(Settings(), songs, vectors) == pytest.approx(1.0)  # one cluster a genre
    mixed = rng.permutation([s.genre for s in songs])
    shuffled = [Song(s.key, "u", None, genre=g) for s, g in zip(songs, mixed, strict=True)]
    assert knn_genre_map(Settings(), shuffled, vectors) < 0.6  # chance is about 1/3 a genre
    untagged = [Song(s.key, "u", None, genre="" if i < 30 else s.genre) for i, s in enumerate(songs)]
    assert knn_genre_map(Settings(), untagged, vectors) is None  # six tagged songs: too few
    one_genre = [Song(s.key, "u", None, genre="Rock") for s in songs]
    assert knn_genre_map(Settings(), one_genre, vectors) is None  # nothing to tell apart


def test_song_groups_from_tags_and_folders() -> None:
    songs = [Song("a", "u", Path("/m/x/a.ogg"), artist="A", album="One"),
             Song("b", "u", Path("/m/x/b.ogg"), artist="B", albumartist="A", album="one"),
             Song("c", "u", Path("/m/y/c.ogg"))]
    groups = song_groups(songs)
    assert groups["same_album"][0] == groups["same_album"][1] and groups["same_album"][2] is None
    assert groups["same_artist"] == ["a", "a", None]
    assert groups["same_folder"] == ["/m/x", "/m/x", "/m/y"]


def row(name: str, available: bool = True, embedded: bool = True, **figures) -> BackendFigures:
    return BackendFigures(name, name, available, None if available else "no", name == "moco",
                          f"{name}-1" if embedded else None, 8, 0, 100, **figures)


def test_best_backend_compares_the_first_figure_every_candidate_has() -> None:
    rows = [row("moco", same_folder=0.5, same_album=0.3),
            row("musicnn", rating_pearson=0.4, same_folder=0.4, same_album=0.35),
            row("dsp", same_folder=0.45, same_album=0.2)]
    assert best_backend(rows) == "musicnn"  # album: every candidate has it, rating only one
    rows[0].rating_pearson, rows[2].rating_pearson = 0.5, 0.1
    assert best_backend(rows) == "moco"  # the rating model's correlation decides when all have it
    rows[0].available = False
    assert best_backend(rows) == "musicnn"  # the trained encoder's checkpoint is gone


def test_before_any_measurement_auto_serves_without_training() -> None:
    assert best_backend([row("moco", embedded=False), row("musicnn", embedded=False),
                         row("dsp", embedded=False)]) == "musicnn"
    assert best_backend([row("moco", embedded=False), row("musicnn", available=False, embedded=False),
                         row("dsp", embedded=False)]) == "dsp"
    assert best_backend([row("moco"), row("musicnn"), row("dsp")]) == "musicnn"  # embedded, unmeasured


def test_auto_first_run_choice_is_kept_in_the_store(tmp_path, monkeypatch) -> None:
    dirs = DataDirs.under(tmp_path)
    settings = Settings(encoder="auto")
    try:
        package.checkpoint_prefix()
        expected = "musicnn"
    except NotReadyError:
        expected = "dsp"
    assert open_backend(settings, dirs).name == expected
    with EmbeddingStore(dirs.embeddings_db) as store:
        assert store.auto_encoder() == expected and chosen_name(settings, store) == expected
        with pytest.raises(NotReadyError, match=f"no song embeddings of the {expected} encoder"):
            store.chosen_model(settings.encoder)
        store.set_auto_encoder("dsp")  # as a measurement decides
        assert chosen_name(settings, store) == "dsp"
        assert chosen_name(settings.replace(encoder="moco"), store) == "moco"  # the setting wins
    assert open_backend(settings, dirs).name == "dsp"


def test_measure_backends_keeps_figures_and_the_choice(tmp_path) -> None:
    dirs = DataDirs.under(tmp_path)
    rng = np.random.default_rng(1)
    songs = [Song(f"s{i}", "u", Path(f"/m/album{i % 3}/{i}.ogg"), artist=f"artist{i % 3}",
                  album=f"album{i % 3}") for i in range(30)]
    truth = np.eye(3)[[i % 3 for i in range(30)]] * 4
    with EmbeddingStore(dirs.embeddings_db) as store:
        for name, noise in (("musicnn", 0.5), ("dsp", 8.0)):
            store.register_model(f"{name}-1", 3)
            store.put(f"{name}-1", zip([s.key for s in songs], truth + noise * rng.standard_normal((30, 3)),
                                       strict=True))
            store.set_current(f"{name}-1", name)
    results = measure.measure_backends(Settings(), dirs, songs)
    assert results["musicnn"]["same_album"] == pytest.approx(0.9)  # 9 mates: all among the 10 nearest
    assert results["dsp"]["same_album"] < 0.7
    assert results["musicnn"]["rating_pearson"] is None  # no ratings
    assert results["musicnn"]["measured_songs"] == 30
    with EmbeddingStore(dirs.embeddings_db) as store:
        assert store.measurements("dsp-1")["same_folder"] == results["dsp"]["same_folder"]
        assert store.auto_encoder() == "musicnn"
    rows = {r.name: r for r in measure.figures_table(Settings(), dirs)}
    assert rows["musicnn"].same_artist == results["musicnn"]["same_artist"]
    assert rows["musicnn"].songs == 30 and rows["musicnn"].measured_songs == 30
    assert rows["moco"].model_id is None and rows["moco"].available is False


def test_a_big_library_is_measured_on_a_sample_of_songs(monkeypatch) -> None:
    rng = np.random.default_rng(3)
    groups = [f"g{i % 40}" for i in range(4000)]
    vectors = unit(np.eye(40)[[i % 40 for i in range(4000)]] * 3 + rng.standard_normal((4000, 40)))
    full = precision_at_k(vectors, groups)
    monkeypatch.setattr(measure, "MAX_QUERIES", 500)
    sampled = precision_at_k(vectors, groups)
    assert sampled != full and abs(sampled - full) < 0.05  # an estimate from 500 of 4000 songs
    assert precision_at_k(vectors, groups) == sampled  # the same sample every time


def test_rating_pearson_from_the_vectors_alone() -> None:
    rng = np.random.default_rng(4)
    taste = rng.standard_normal(8)
    vectors = unit(rng.standard_normal((80, 8)))
    ratings = np.clip(0.5 + 0.4 * (vectors @ taste) / np.abs(vectors @ taste).max(), 0, 1)
    songs = [Song(f"s{i}", "u", Path(f"/m/{i}.ogg"), rating=float(round(r * 5) / 5), playcount=i % 3)
             for i, r in enumerate(ratings)]
    informative = measure.rating_pearson(Settings(), songs, vectors, "good")
    noise = measure.rating_pearson(Settings(), songs, unit(rng.standard_normal((80, 8))), "noise")
    assert informative is not None and noise is not None
    assert informative > 0.6 and informative > noise + 0.3
    assert measure.rating_pearson(Settings(), songs[:20], vectors[:20], "few") is None  # under 30 rated
