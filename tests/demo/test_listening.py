"""The demo listener's listening history: real files (the demo's Strawberry database, the app's
history store), sessions that keep to a style and drift, counters that agree with the history."""

from __future__ import annotations

import contextlib
import json
import sqlite3
from collections import Counter

import pytest

from musicrec_desktop.demo.library import MANIFEST, ensure_demo_library, write_demo_library
from musicrec_desktop.demo.listening import HISTORY_DAYS, NEIGHBOURS
from musicrec_desktop.history.summary import SESSION_GAP_S, listens, sessions
from musicrec_desktop.library import load_library
from musicrec_desktop.library.players import read_player_database
from musicrec_desktop.library.urls import file_url
from musicrec_desktop.paths import DataDirs
from musicrec_desktop.recommend.taste import history_events
from musicrec_desktop.settings import Settings
from musicrec_desktop.store.history import DEMO, HistoryStore, ListeningEvent

QUICK = {"seconds": (3.0, 4.0), "sample_rate": 16000, "workers": 1}


@pytest.fixture(scope="module")
def written(tmp_path_factory):
    """A 21-song demo library (three songs a style) and the history it recorded."""
    root = tmp_path_factory.mktemp("demo")
    library = write_demo_library(root / "demo", 21, seed=3, history_db=root / "history.sqlite", **QUICK)
    with HistoryStore(root / "history.sqlite") as history:
        events = history.events()
    return library, events


def test_the_history_is_months_of_sessions_hours_apart(written):
    library, events = written
    plays = listens(events)
    assert {e.player for e in events} == {DEMO}
    assert Counter(e.kind for e in events)["start"] == len(plays) > 1000
    now = json.loads((library.folder / MANIFEST).read_text())["now"]
    assert now - HISTORY_DAYS * 86400 <= plays[0].at and plays[-1].at <= now
    assert plays[-1].at - plays[0].at > (HISTORY_DAYS - 5) * 86400
    listened = sessions(plays)
    assert 100 < len(listened) < 2 * HISTORY_DAYS
    # within a session songs follow each other; between sessions at least an hour passes
    assert all(b.at - a.at <= 4 + 5 for s in listened for a, b in zip(s, s[1:], strict=False))
    assert min(b[0].at - a[-1].at for a, b in zip(listened, listened[1:], strict=False)) > 2 * SESSION_GAP_S
    urls = {file_url(library.path_of(s)) for s in library.songs}
    assert {e.song_url for e in events} <= urls and all(e.song_key == e.song_url for e in events)


def test_sessions_keep_to_a_style_and_drift_to_neighbours(written):
    library, events = written
    style = {file_url(library.path_of(s)): s.style for s in library.songs}
    listened = sessions(listens(events))
    pairs = [(style[a.song_url], style[b.song_url]) for s in listened for a, b in zip(s, s[1:], strict=False)]
    shares = Counter(style[e.song_url] for e in listens(events))
    chance = sum((n / shares.total()) ** 2 for n in shares.values())  # two plays drawn at random
    kept = sum(a == b for a, b in pairs) / len(pairs)
    assert kept > 0.75 and kept > 3 * chance
    drifts = [(a, b) for a, b in pairs if a != b]
    assert drifts and all(b in NEIGHBOURS[a] for a, b in drifts)
    # sessions drift: some end in another style than they started in
    assert sum(style[s[0].song_url] != style[s[-1].song_url] for s in listened) > len(listened) // 5


def test_finishes_and_skips_follow_the_taste(written):
    library, events = written
    liked = {file_url(library.path_of(s)): s.rating for s in library.songs if s.rating >= 0}
    plays = [e for e in listens(events) if e.song_url in liked]
    loved = [e for e in plays if liked[e.song_url] >= 0.8]
    disliked = [e for e in plays if liked[e.song_url] <= 0.3]

    def skip_rate(some: list[ListeningEvent]) -> float:
        return sum(e.kind == "skip" for e in some) / len(some)

    assert loved and disliked
    assert skip_rate(disliked) > 3 * skip_rate(loved)
    assert len(loved) > 2 * len(disliked)
    # a skip comes before half the song and before 30 s; a finish at its end
    length = {file_url(library.path_of(s)): s.seconds for s in library.songs}
    assert all(e.position_s < min(30, length[e.song_url]) for e in plays if e.kind == "skip")
    assert all(e.position_s >= length[e.song_url] for e in plays if e.kind == "finish")


def test_the_player_counters_are_what_the_history_says_or_more(written):
    library, events = written
    finishes = Counter(e.song_url for e in events if e.kind == "finish")
    skips = Counter(e.song_url for e in events if e.kind == "skip")
    last = {}
    for e in events:
        if e.kind == "finish":
            last[e.song_url] = int(e.at)
    start = listens(events)[0].at
    scan = read_player_database(library.database, "strawberry", source="demo")
    assert len(scan.songs) == 21 and finishes
    for song in scan.songs:
        assert song.playcount >= finishes[song.url] and song.skipcount >= skips[song.url]
        if song.url in last:  # the player's last play is the history's last finish
            assert song.lastplayed == last[song.url]
        elif song.lastplayed is not None:  # played only before the history began
            assert song.lastplayed < start
    # most plays are in the history (the rest were before the companion recorded)
    assert sum(finishes.values()) > 0.5 * sum(s.playcount for s in scan.songs)


def test_the_app_reads_the_demo_history_and_keeps_other_listening(tmp_path):
    dirs = DataDirs.under(tmp_path).create()
    mine = ListeningEvent("file:///elsewhere/song.flac", None, "finish", 1_600_000_000.0, 200.0, "strawberry")
    with HistoryStore(dirs.history_db) as history:
        history.record(mine)
    ensure_demo_library(dirs, songs=7, **QUICK)
    scan = load_library(Settings(), dirs)
    assert scan.source == "demo"
    events = history_events(dirs.history_db, scan.songs)
    keys = {s.key for s in scan.songs}
    assert len(events) > 1000 and {e.key for e in events} <= keys
    with HistoryStore(dirs.history_db) as history:
        before = history.events()
    assert mine in before
    ensure_demo_library(dirs)  # reused: the same history, not written again
    with HistoryStore(dirs.history_db) as history:
        assert history.events() == before
        ids = history._db.execute("SELECT min(id), max(id) FROM listening").fetchone()
    assert ids == (1, len(before))


def test_a_demo_from_before_the_history_gets_one_and_keeps_its_music(tmp_path):
    first = write_demo_library(tmp_path / "demo", 7, seed=5, **QUICK)
    manifest = json.loads((first.folder / MANIFEST).read_text())
    del manifest["listener"]  # as a demo library written before the listener had a history
    (first.folder / MANIFEST).write_text(json.dumps(manifest))
    music = {p: p.stat().st_mtime_ns for p in first.music.rglob("*.*")}
    again = write_demo_library(tmp_path / "demo", 7, seed=5, history_db=tmp_path / "history.sqlite", **QUICK)
    assert again.written == 0 and {p: p.stat().st_mtime_ns for p in again.music.rglob("*.*")} == music
    with HistoryStore(tmp_path / "history.sqlite") as history:
        finishes = Counter(e.song_url for e in history.events() if e.kind == "finish")
    with contextlib.closing(sqlite3.connect(again.database)) as db:
        counts = dict(db.execute("SELECT url, playcount FROM songs").fetchall())
    assert finishes and all(counts[url] >= n for url, n in finishes.items())


def test_albums_added_during_the_history_are_played_only_after_they_arrive(written):
    library, events = written
    start = listens(events)[0].at
    added = {file_url(library.path_of(s)): s.added for s in library.songs}
    new = {url for url, at in added.items() if at > start}
    assert new and len(new) < len(added)
    assert all(e.at >= added[e.song_url] for e in events)
    scan = read_player_database(library.database, "strawberry", source="demo")
    assert {s.url: s.added for s in scan.songs} == added  # the player's date added (its ctime)
    heard = {e.song_url for e in events if e.kind == "finish"}
    for song in scan.songs:
        if song.url in new and song.url not in heard:  # never heard: no plays, no rating
            assert song.playcount == 0 and song.rating is None


def test_the_default_demo_history_can_be_studied():
    """``musicrec study`` on the default demo library: sessions after the cut-off go on to play
    songs new at the cut-off (the library grew), enough for both halves of the study."""
    import numpy as np

    from musicrec_desktop.demo import DEMO_SEED, DEMO_SONGS
    from musicrec_desktop.demo.catalog import plan_catalog, simulate_listener
    from musicrec_desktop.library.song import Song
    from musicrec_desktop.recommend.study import session_split
    from musicrec_desktop.recommend.table import SongTable
    from musicrec_desktop.recommend.taste import TimedEvent

    songs, plays = simulate_listener(plan_catalog(DEMO_SONGS, DEMO_SEED), DEMO_SEED, 1_700_000_000)
    library = [Song(key=s.relpath, url=s.relpath, path=None, rating=None if s.rating < 0 else s.rating,
                    playcount=s.playcount, skipcount=s.skipcount,
                    lastplayed=None if s.lastplayed < 0 else s.lastplayed, added=s.added) for s in songs]
    events = [e for p in plays
              for e in (TimedEvent(p.relpath, p.at, "start"), TimedEvent(p.relpath, p.ended, p.kind))]
    study = session_split(SongTable("demo", library, np.eye(len(library), 8, dtype=np.float32)), events)
    assert len(study.validation) >= 5 and len(study.test) >= 5
    # the player's dates added agree with the history: used, no caveat about them
    assert not [c for c in study.split.caveats if "added" in c]


def test_same_seed_same_history(tmp_path):
    from musicrec_desktop.demo.catalog import plan_catalog, simulate_listener

    catalog = plan_catalog(50, seed=4)
    assert simulate_listener(catalog, 4, 1_700_000_000) == simulate_listener(catalog, 4, 1_700_000_000)
    assert simulate_listener(catalog, 4, 1_700_000_000)[1] != simulate_listener(catalog, 5, 1_700_000_000)[1]
