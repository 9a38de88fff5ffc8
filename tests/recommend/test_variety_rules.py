"""Variety and exclusions as settings (issue 18, item 3), over a library in a real store: no artist
or album twice within N songs, no song longer than the limit, no named genre, never a song rated
one star (or two); in Play recommended, radio, song paths and every generated playlist alike."""

from __future__ import annotations

import pytest

from musicrec_desktop.errors import SettingsError
from musicrec_desktop.recommend.ranking import _album, _artist
from musicrec_desktop.recommend.service import Recommender
from musicrec_desktop.settings import Settings

from .conftest import build_library, replace_songs

ARTIST_GAP, ALBUM_GAP, LONGEST_MIN = 4, 6, 3.05  # songs last 180 + j seconds: j >= 4 are too long


@pytest.fixture
def lib(tmp_path):
    lib = build_library(tmp_path)
    # A compilation that many artists share: only the album gap keeps its songs apart.
    replace_songs(lib, {s.key: {"album": "Summer Mix", "albumartist": "Various Artists"}
                        for s in lib.scan.songs if s.title.endswith(("-1", "-2"))})
    lib.ctx.settings = lib.ctx.settings.replace(artist_gap=ARTIST_GAP, album_gap=ALBUM_GAP,
                                                max_song_minutes=LONGEST_MIN, exclude_genres=["reggae"],
                                                artist_cap=20)
    return lib


def assert_rules(songs, before=()) -> None:
    """Every rule over one list in play order; ``before``: songs that played first (radio seeds,
    the path's start), which the gaps count back into."""
    walk = [*before, *songs]
    assert songs
    for i in range(len(before), len(walk)):
        song = walk[i]
        assert _artist(song) not in {_artist(s) for s in walk[max(0, i - ARTIST_GAP):i]}, song.display_name
        assert _album(song) not in {_album(s) for s in walk[max(0, i - ALBUM_GAP):i]}, song.display_name
        assert song.length_s <= LONGEST_MIN * 60
        assert song.genre != "Reggae"
        assert song.rating is None or song.rating > 0.4  # one star (or two): never


def test_the_library_has_what_the_rules_leave_out(lib):
    songs = lib.scan.songs
    assert any(s.rating is not None and s.rating <= 0.2 for s in songs)  # one-star songs
    assert any(s.length_s > LONGEST_MIN * 60 for s in songs)
    assert sum(s.album == "Summer Mix" for s in songs) == 20 and any(s.genre == "Reggae" for s in songs)


def test_play_recommended_keeps_the_variety_rules(lib):
    rec = Recommender.open(lib.ctx, lib.scan)
    for seed in range(3):
        assert_rules([r.song for r in rec.recommended(12, seed=seed)])


def test_radio_from_one_song_and_from_three_keeps_the_variety_rules(lib):
    rec = Recommender.open(lib.ctx, lib.scan)
    for artists in (["Artist 2"], ["Artist 1", "Artist 3", "Artist 5"]):
        seeds = [next(s for s in lib.scan.songs if s.artist == a and s.length_s < 181) for a in artists]
        queued, session = [], None
        for _ in range(4):
            batch, session = rec.radio([s.url for s in seeds], 4, session)
            queued += [r.song for r in batch]
        assert len(queued) >= 8
        assert_rules(queued, before=seeds)


def test_a_song_path_keeps_the_variety_rules_between_its_ends(lib):
    rec = Recommender.open(lib.ctx, lib.scan)
    start = next(s for s in lib.scan.songs if s.artist == "Artist 0")
    target = next(s for s in lib.scan.songs if s.artist == "Artist 4" and s.title.endswith("-3"))
    path = rec.path(start.url, target.url, 8)
    assert path.steps[-1].song.key == target.key
    assert_rules([r.song for r in path.steps[:-1]], before=[start])


def test_every_generated_playlist_keeps_the_variety_rules(lib):
    lists = Recommender.open(lib.ctx, lib.scan).generated_playlists(10)
    assert len(lists) >= 4
    for songs in lists.values():
        assert_rules([r.song for r in songs])


def test_the_rules_are_settings_with_checked_values():
    assert (Settings().artist_gap, Settings().album_gap, Settings().max_song_minutes) == (0, 0, 0.0)
    assert Settings().with_text("max_song_minutes", "12.5").max_song_minutes == 12.5
    with pytest.raises(SettingsError, match="artist_gap"):
        Settings(artist_gap=-1)
    with pytest.raises(SettingsError, match="max_song_minutes"):
        Settings().with_text("max_song_minutes", "nan")
