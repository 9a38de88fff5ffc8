"""The radio asks the recommender about the current listening session (issue 15): with session KNN
and a real listening history, the picks near a seed lean toward what the session plays; Play
recommended keeps the long-term profile."""

from __future__ import annotations

import time
from collections import Counter

import numpy as np
import pytest

from musicrec_desktop.context import AppContext
from musicrec_desktop.library.song import LibraryScan, Song
from musicrec_desktop.paths import DataDirs
from musicrec_desktop.recommend.service import RadioSession, Recommender, train_recommender
from musicrec_desktop.settings import Settings
from musicrec_desktop.store.embeddings import EmbeddingStore
from musicrec_desktop.store.history import HistoryStore, ListeningEvent

DIM = 16
MODEL = "test-encoder"
STYLES = ("A", "B", "C")
NOW = time.time()
MIN = 60.0


@pytest.fixture
def library(tmp_path):
    """Three styles (orthogonal directions), four artists each, six songs an artist; the seed
    lies halfway between styles A and B. The long-term history played style C, weeks ago; the
    session KNN recommender is trained on it, as the rating stage leaves it."""
    rng = np.random.default_rng(3)
    music = tmp_path / "music"
    songs, vectors = [], {}
    for s, style in enumerate(STYLES):
        for a in range(4):
            for j in range(6):
                path = music / f"{style}{a}" / f"{style}{a}-{j}.flac"
                v = np.eye(DIM, dtype=np.float32)[s] + 0.15 * rng.standard_normal(DIM).astype(np.float32)
                songs.append(Song(key=path.as_uri(), url=path.as_uri(), path=path, title=f"{style}{a}-{j}",
                                  artist=f"Artist {style}{a}", album=f"Album {style}{a}", genre=style))
                vectors[songs[-1].key] = v / np.linalg.norm(v)
    seed_path = music / "seed.flac"
    songs.append(Song(key=seed_path.as_uri(), url=seed_path.as_uri(), path=seed_path, title="Seed",
                      artist="Seed Artist"))
    axes = np.eye(DIM, dtype=np.float32)
    vectors[songs[-1].key] = (axes[0] + axes[1]) / np.sqrt(2)
    dirs = DataDirs.under(tmp_path / "data").create()
    with EmbeddingStore(dirs.embeddings_db) as store:
        store.register_model(MODEL, DIM)
        store.put(MODEL, vectors.items())
        store.set_current(MODEL)
    long_ago = [s for s in songs if s.genre == "C"][:8]
    _played(dirs, long_ago, NOW - 20 * 86400)
    settings = Settings(output_dir=str(tmp_path / "out"), recommender="session_knn", artist_cap=3)
    scan = LibraryScan("demo", music, songs)
    train_recommender(settings, dirs, scan)
    return AppContext(dirs, settings), scan


def _played(dirs: DataDirs, songs: list[Song], start: float) -> None:
    """Records ``songs`` as the companion does: each started, then finished 3 minutes later."""
    with HistoryStore(dirs.history_db) as history:
        for i, song in enumerate(songs):
            history.record(ListeningEvent(song.url, song.key, "start", start + 180 * i, 0.0, "strawberry"))
            history.record(ListeningEvent(song.url, song.key, "finish", start + 180 * i + 179, 179.0,
                                          "strawberry"))


def _styles(recommendations) -> Counter:
    return Counter(r.song.genre for r in recommendations)


def _session_of(scan: LibraryScan, style: str) -> list[Song]:
    return [s for s in scan.songs if s.genre == style and s.title.endswith(("-4", "-5"))]


def test_the_radio_leans_toward_the_current_session(library):
    ctx, scan = library
    rec = Recommender.open(ctx, scan)
    seed = str(scan.songs[-1].path)
    without, _ = rec.radio(seed, 10, now=NOW)  # no session going on: similarity alone
    assert rec.listening_session(NOW) == []
    _played(ctx.dirs, _session_of(scan, "B"), NOW - 25 * MIN)
    session = rec.listening_session(NOW)
    assert {e.key for e in session} == {s.key for s in _session_of(scan, "B")}
    with_b, _ = rec.radio(seed, 10, now=NOW)
    assert _styles(without) == {"A": 5, "B": 5}  # the seed lies halfway
    assert _styles(with_b)["B"] >= 8
    assert not {r.song.key for r in with_b} & {e.key for e in session}  # heard in the session: not again
    # an hour later the session is over: the radio is what it was without it
    later, _ = rec.radio(seed, 10, now=NOW + 60 * MIN + 25 * MIN)
    assert [r.song.key for r in later] == [r.song.key for r in without]


def test_a_radio_song_s_reason_names_the_session_s_song_it_is_like(library):
    ctx, scan = library
    rec = Recommender.open(ctx, scan)
    seed = str(scan.songs[-1].path)
    start = f"radio from {scan.songs[-1].display_name}; "
    without, _ = rec.radio(seed, 10, now=NOW)
    # no session going on: the long-term reason, a song of style C played weeks ago
    assert all(r.reason.startswith(f"{start}because you often play Artist C") for r in without)
    session = _session_of(scan, "B")
    _played(ctx.dirs, session, NOW - 25 * MIN)
    picks, _ = rec.radio(seed, 10, now=NOW)
    for r in picks:
        nearest = max(session, key=lambda s: float(rec.table.vectors[rec.table.row(s.key)]
                                                   @ rec.table.vectors[rec.table.row(r.song.key)]))
        assert r.reason == f"{start}like {nearest.display_name}, played just now"


def test_the_session_s_style_decides_between_two_near_styles(library):
    ctx, scan = library
    _played(ctx.dirs, _session_of(scan, "A"), NOW - 25 * MIN)
    rec = Recommender.open(ctx, scan)
    picks, _ = rec.radio(str(scan.songs[-1].path), 10, now=NOW)
    assert _styles(picks) == {"A": 7, "B": 3}  # similarity to the seed still counts
    # the long-term profile (style C, far from the seed) is not the radio's


def test_the_radio_s_own_songs_join_the_session_as_they_play(library):
    ctx, scan = library
    rec = Recommender.open(ctx, scan)
    seed = str(scan.songs[-1].path)
    first, radio = rec.radio(seed, 5, now=NOW)
    played = [r.song for r in first if r.song.genre == "A"][:2]
    assert len(played) == 2
    after = NOW + 180 * len(played)
    unheard, _ = rec.radio(seed, 5, RadioSession.from_dict(radio.to_dict()), now=after)
    _played(ctx.dirs, played, NOW)  # the companion records them as they play
    assert [e.key for e in rec.listening_session(after) if e.kind == "finish"] == [s.key for s in played]
    more, radio = rec.radio(seed, 5, radio, now=after)
    assert _styles(more)["A"] > _styles(unheard)["A"]
    assert not {r.song.key for r in more} & {r.song.key for r in first}


def test_play_recommended_keeps_the_long_term_profile(library):
    ctx, scan = library
    before = [r.song.key for r in Recommender.open(ctx, scan).recommended(10, seed=1)]
    _played(ctx.dirs, _session_of(scan, "B"), time.time() - 25 * MIN)
    after = Recommender.open(ctx, scan).recommended(10, seed=1)
    assert [r.song.key for r in after] == before
    assert _styles(after)["C"] >= 8  # the history's style, weeks ago


def test_a_session_of_many_hours_is_read_whole_and_no_further(library):
    """The radio reads the recent end of the history, further back while the session goes on."""
    ctx, scan = library
    rec = Recommender.open(ctx, scan)
    some = [s for s in scan.songs if s.genre == "A"]
    _played(ctx.dirs, some[:2], NOW - 12 * 3600 - 45 * MIN)  # the session before: a gap of 39 minutes
    with HistoryStore(ctx.dirs.history_db) as history:
        for i in range(60):  # one song every 12 minutes for the last 12 hours
            song = some[i % len(some)]
            at = NOW - 12 * 3600 + 12 * MIN * i
            history.record(ListeningEvent(song.url, song.key, "finish", at, 179.0))
    session = rec.listening_session(NOW)
    assert len(session) == 60 and session[0].at == NOW - 12 * 3600
    assert rec.listening_session(NOW + 31 * MIN) == []
