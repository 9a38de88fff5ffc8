"""Radio from several songs (issue 18): the seeds take turns, never a seed, a near-duplicate of one
or a repeat, endless across batches; "More like these" seeds from the listening history."""

from __future__ import annotations

import time

import numpy as np

from musicrec_companion.session import recent_songs
from musicrec_desktop.library.song import Song
from musicrec_desktop.recommend.service import RadioSession, Recommender
from musicrec_desktop.store.history import HistoryStore, ListeningEvent

from .conftest import add_songs, build_library


def _seeds(lib, artists=("Artist 1", "Artist 4", "Artist 6")) -> list[Song]:
    return [next(s for s in lib.scan.songs if s.artist == a) for a in artists]


def test_a_three_seed_radio_returns_ten_songs_without_repeats_or_its_seeds(tmp_path):
    lib = build_library(tmp_path)
    seeds = _seeds(lib)
    # a near-duplicate of each kind of the first seed: the same recording re-released (same
    # artist and title) and a copy under another name (embedding at cosine > 0.98)
    first = seeds[0]
    v = lib.vectors[first.key]
    remaster_path = lib.music / "Best Of" / "Remaster.flac"
    remaster = Song(key=remaster_path.as_uri(), url=remaster_path.as_uri(), path=remaster_path,
                    artist=first.artist, title=first.title + " (Remastered 2011)", album="Best Of",
                    genre=first.genre)
    twin_path = lib.music / "Other" / "Twin.flac"
    twin = Song(key=twin_path.as_uri(), url=twin_path.as_uri(), path=twin_path, title="Twin",
                artist="Someone Else", genre=first.genre)
    add_songs(lib, [(remaster, v + 0.05 * np.ones_like(v) / np.sqrt(len(v))), (twin, v * 1.0001)])
    rec = Recommender.open(lib.ctx, lib.scan)

    songs, session = rec.radio([str(s.path) for s in seeds], 10)

    keys = [r.song.key for r in songs]
    assert len(songs) == 10 and len(set(keys)) == 10
    assert not set(keys) & {s.key for s in seeds}
    assert remaster.key not in keys and twin.key not in keys
    assert session.seed_keys == [s.key for s in seeds]
    # the seeds take turns: each names its seed, in order, and the songs sit near that seed
    for i, r in enumerate(songs):
        seed = seeds[i % 3]
        assert r.reason.startswith(f"radio from 3 songs, like {seed.display_name}")
        own = float(lib.vectors[r.song.key] @ lib.vectors[seed.key])
        others = [float(lib.vectors[r.song.key] @ lib.vectors[s.key]) for s in seeds if s is not seed]
        assert own > max(others)
    # endless: later batches (also from a saved session) keep every rule
    restored = RadioSession.from_dict(session.to_dict())
    for _ in range(4):
        more, restored = rec.radio("ignored when a session is given", 5, restored)
        keys += [r.song.key for r in more]
    assert len(keys) == len(set(keys)) and len(keys) > 10
    assert not set(keys) & ({s.key for s in seeds} | {remaster.key, twin.key})
    assert restored.queued == keys


def test_one_seed_given_as_a_list_is_todays_radio(library):
    rec = Recommender.open(library.ctx, library.scan)
    seed = _seeds(library)[0]
    alone, _ = rec.radio(seed.url, 5)
    listed, session = rec.radio([seed.url], 5)
    assert [r.song.key for r in listed] == [r.song.key for r in alone]
    assert session.seed_keys == [seed.key] and session.more_seeds == []


def test_more_like_these_seeds_are_the_songs_just_played_latest_first_without_skips(tmp_path):
    db = tmp_path / "history.sqlite"
    now = time.time()
    with HistoryStore(db) as history:
        for key, kind, ago in [("old", "finish", 7200), ("a", "finish", 1800), ("skipped", "start", 1500),
                               ("skipped", "skip", 1490), ("b", "start", 600), ("a", "start", 300),
                               (None, "start", 200)]:
            history.record(ListeningEvent(f"file:///{key}", key, kind, now - ago))
    assert recent_songs(db, now=now) == ["a", "b"]
    assert recent_songs(db, most=1, now=now) == ["a"]
    assert recent_songs(tmp_path / "none.sqlite") == []
