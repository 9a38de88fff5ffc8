from collections import Counter
from pathlib import Path

import numpy as np
import pytest

from musicrec_desktop.errors import NotReadyError
from musicrec_desktop.library.song import Song
from musicrec_desktop.recommend import playlists
from musicrec_desktop.recommend.radio import ARTIST_GAP
from musicrec_desktop.recommend.ranking import Ranker
from musicrec_desktop.recommend.rating import FavouritesModel
from musicrec_desktop.recommend.service import RadioSession, Recommender
from musicrec_desktop.recommend.table import SongTable, normalised_name
from musicrec_desktop.settings import Settings

from .conftest import DAY, NOW, add_songs, build_library, replace_songs


def test_play_recommended_follows_the_rules(tmp_path):
    lib = build_library(tmp_path)
    songs = lib.scan.songs
    recent = next(s for s in songs if s.artist == "Artist 1" and s.rating is None)
    rarely = next(s for s in songs if s.artist == "Artist 2" and s.rating is None)
    replace_songs(lib, {recent.key: {"lastplayed": int(NOW - 2 * DAY)},
                        rarely.key: {"playcount": 50}})  # played often: not "rarely played"
    lib.ctx.settings = lib.ctx.settings.replace(exclude_artists=["artist 0"], exclude_genres=["techno"])
    rec = Recommender.open(lib.ctx, lib.scan)
    top = rec.recommended(12, seed=7)
    keys = [r.song.key for r in top]
    assert len(top) == 12 and len(set(keys)) == 12
    assert recent.key not in keys and rarely.key not in keys
    assert all(r.song.artist != "Artist 0" and r.song.genre != "Techno" for r in top)
    assert all(r.song.rating is None or r.song.rating > 0.4 for r in top)
    assert max(Counter(r.song.artist for r in top).values()) <= 2  # artist cap
    assert all(r.reason.startswith("because you rated ") and "★" in r.reason for r in top)
    assert all(0.0 <= r.predicted_rating <= 1.0 for r in top)
    # loved styles first: the first pick is by an artist of the top half
    assert int(top[0].song.artist.split()[-1]) < 5
    # reproducible with a seed, varied without
    assert [r.song.key for r in rec.recommended(12, seed=7)] == keys
    assert len({tuple(r.song.key for r in rec.recommended(12, seed=s)) for s in range(6)}) > 1


def test_near_duplicates_are_left_out(tmp_path):
    lib = build_library(tmp_path)
    original = next(s for s in lib.scan.songs if s.artist == "Artist 1" and s.rating is None)
    v = lib.vectors[original.key]
    path = lib.music / "Best Of" / "Song.flac"
    same_name = Song(key=path.as_uri(), url=path.as_uri(), path=path, artist=original.artist,
                     title=original.title + " (Remastered 2011)", album="Best Of", genre=original.genre)
    path2 = lib.music / "Other" / "Twin.flac"
    twin = Song(key=path2.as_uri(), url=path2.as_uri(), path=path2, title="Twin", artist="Someone Else",
                genre=original.genre)
    add_songs(lib, [(same_name, v + 0.3 * np.ones_like(v) / np.sqrt(len(v))), (twin, v * 1.0001)])
    settings = lib.ctx.settings.replace(artist_cap=8)
    lib.ctx.settings = settings
    rec = Recommender.open(lib.ctx, lib.scan)
    seen = Counter()
    for seed in range(8):
        keys = {r.song.key for r in rec.recommended(40, seed=seed)}
        # same normalised artist + title, or embeddings at cosine > 0.98: never both in one list
        assert len(keys & {original.key, same_name.key}) <= 1
        assert len(keys & {original.key, twin.key}) <= 1
        seen.update(keys & {original.key, same_name.key, twin.key})
    assert len(seen) >= 2  # each does get picked, just never with its duplicate


def test_radio_never_repeats_and_spreads_artists(library):
    rec = Recommender.open(library.ctx, library.scan)
    seed = next(s for s in library.scan.songs if s.artist == "Artist 3")
    first, session = rec.radio(str(seed.path), 5)
    assert len(first) == 5
    # the nearest songs are the seed's own style, and the reason names the seed
    assert first[0].reason.startswith(f"radio from {seed.display_name}")
    queued = [r.song for r in first]
    for _ in range(30):
        batch, session = rec.radio(seed.url, 5, session)
        if not batch:
            break
        queued += [r.song for r in batch]
    keys = [s.key for s in queued]
    assert len(keys) == len(set(keys)) and seed.key not in keys
    assert session.queued == keys
    # dislikes (two stars or less) are never played
    disliked = {s.key for s in library.scan.songs if s.rating is not None and s.rating <= 0.4}
    assert not disliked & set(keys)
    # the artist gap holds across batches, from the seed on: three other artists between two songs
    # of one artist; the radio rather stops than breaks it
    artists = [seed.artist] + [s.artist for s in queued]
    assert all(artists[i] not in artists[max(0, i - ARTIST_GAP):i] for i in range(1, len(artists)))
    # it ran until the gap left nothing: every song it never reached is by one of the last artists
    left = [s for s in library.scan.songs if s.key not in {seed.key, *keys, *disliked}]
    assert left and {s.artist for s in left} <= set(artists[-ARTIST_GAP:])
    # continuing from a saved session (e.g. the companion restarting) keeps the no-repeat rule
    restored = RadioSession.from_dict(session.to_dict())
    more, _ = rec.radio("ignored when a session is given", 5, restored)
    assert not {r.song.key for r in more} & set(keys)


def test_radio_seed_must_be_known(library):
    rec = Recommender.open(library.ctx, library.scan)
    with pytest.raises(NotReadyError, match="musicrec embed"):
        rec.radio(str(Path("/nowhere/song.flac")), 5)


def test_a_genre_category_is_excluded_by_the_title_the_person_sees(tmp_path):
    lib = build_library(tmp_path)
    lib.ctx.settings = lib.ctx.settings.replace(exclude_genres=["latin and World"])  # Reggae's category
    ranker = Recommender.open(lib.ctx, lib.scan).ranker
    # Unrated songs: disliked ratings are left out for their own reason.
    banned = {s.genre for s, ok in zip(ranker.table.songs, ranker.allowed(), strict=True)
              if not ok and s.rating is None}
    assert banned == {"Reggae"}


def test_generated_playlists(tmp_path):
    lib = build_library(tmp_path)
    songs = lib.scan.songs
    five = [s for s in songs if s.rating is not None and s.rating >= 0.9]
    assert five, "the constructed library has five-star songs"
    fresh = five[0]
    replace_songs(lib, {fresh.key: {"lastplayed": int(NOW - 3 * DAY)}})  # not forgotten
    rec = Recommender.open(lib.ctx, lib.scan)
    lists = rec.generated_playlists(10)
    assert {"Discover", "Forgotten favourites", "More like my five-star songs"} <= set(lists)
    assert all(r.song.rating is None for r in lists["Discover"])
    forgotten = lists["Forgotten favourites"]
    assert forgotten and all(r.song.rating >= 0.8 and r.song.lastplayed < NOW - 180 * DAY for r in forgotten)
    assert fresh.key not in {r.song.key for r in forgotten}
    assert "days ago" in forgotten[0].reason
    more = lists["More like my five-star songs"]
    assert all(r.song.rating is None for r in more) and "★★★★" in more[0].reason
    rock = lists["Genre: Rock"]  # Rock, Metal and Blues map to rock, named in the person's words
    assert rock and {r.song.genre for r in rock} <= {"Rock", "Metal", "Blues"}
    assert playlists.FORGOTTEN_DAYS == 180


def test_untagged_songs_do_not_share_one_artist_slot():
    from musicrec_desktop.library.song import Song
    from musicrec_desktop.recommend.ranking import _artist

    a = Song(key="file:///a.flac", url="file:///a.flac", path=None)
    b = Song(key="file:///b.flac", url="file:///b.flac", path=None)
    tagged = Song(key="file:///c.flac", url="file:///c.flac", path=None, artist=" Björk ")
    assert _artist(a) != _artist(b)
    assert _artist(tagged) == "björk"


def test_untagged_songs_are_not_near_duplicates_of_each_other(tmp_path):
    untagged = [Song(key=f"file:///m/track{i:02d}.flac", url=f"file:///m/track{i:02d}.flac", path=None)
                for i in range(3)]
    no_title = Song(key="file:///m/x.flac", url="file:///m/x.flac", path=None, artist="Someone")
    names = [normalised_name(s) for s in [*untagged, no_title]]
    assert len(set(names)) == 4
    tagged = Song(key="k", url="k", path=None, artist="Sigur Rós", title="Hoppípolla (Remastered 2011)")
    assert normalised_name(tagged) == "sigurros|hoppipolla"
    # in a real list: four untagged songs near the loved style all make it, not just one of them
    lib = build_library(tmp_path)
    loved = lib.vectors[next(s.key for s in lib.scan.songs if s.artist == "Artist 0")]
    rng = np.random.default_rng(3)
    paths = [lib.music / f"track {i}.flac" for i in range(4)]
    new = [Song(key=p.as_uri(), url=p.as_uri(), path=p) for p in paths]
    add_songs(lib, [(song, loved + 0.3 * rng.standard_normal(len(loved))) for song in new])
    lib.ctx.settings = lib.ctx.settings.replace(artist_cap=8)
    keys = {r.song.key for r in Recommender.open(lib.ctx, lib.scan).recommended(60, seed=1)}
    assert {s.key for s in new} <= keys


def test_mmr_prefers_a_different_song_over_a_near_copy_of_one_already_picked():
    picked_first = np.array([1.0, 0.0, 0.0])
    near_copy = np.array([0.95, np.sqrt(1 - 0.95**2), 0.0])  # cosine 0.95: below the duplicate rule
    different = np.array([0.0, 0.0, 1.0])
    songs = [Song(key=k, url=k, path=None, title=k, artist=f"artist {k}") for k in ("a", "a2", "b")]
    table = SongTable("m", songs, np.stack([picked_first, near_copy, different]).astype(np.float32))
    ranker = Ranker(table, FavouritesModel([], "m"), Settings(artist_cap=5))
    relevance = np.array([1.0, 0.95, 0.8])
    rows = np.arange(3)
    # lambda 0.7: a2 scores 0.7 * 0.95 - 0.3 * 0.95 = 0.38, b scores 0.7 * 0.8 - 0.3 * 0 = 0.56
    assert ranker.select(rows, relevance, 3, mmr_lambda=0.7) == [0, 2, 1]
    assert ranker.select(rows, relevance, 3, mmr_lambda=1.0) == [0, 1, 2]  # relevance alone
