"""Every odd row real player databases hold, read from each player's own schema."""

from __future__ import annotations

import contextlib
import sqlite3
from collections import Counter
from pathlib import Path

import pytest

from musicrec_desktop.errors import LibraryError
from musicrec_desktop.library.players import _COLUMNS, parse_rating, read_player_database, songs_from_rows
from musicrec_desktop.library.urls import file_url
from tests.library.helpers import ODD_NAMES, ODD_SONGS, insert_song, schema_database, sha256


def by_title(scan):
    return {s.title: s for s in scan.songs}


def row(url: str | bytes | None, **values: object) -> tuple:
    """A row as ``read_player_database`` selects it: the location, then ``_COLUMNS``; NULL elsewhere."""
    return (url, *(values.get(column) for column in _COLUMNS))


def test_odd_rows_are_read_skipped_or_repaired_and_the_file_is_untouched(odd_db):
    before = sha256(odd_db.path)
    scan = read_player_database(odd_db.path)
    assert sha256(odd_db.path) == before
    assert sorted(p.name for p in odd_db.path.parent.iterdir()) == [odd_db.path.name]  # no journal
    assert scan.source == odd_db.player
    assert dict(scan.skipped) == odd_db.odd.expected_skips
    songs = by_title(scan)
    assert len(scan.songs) == ODD_SONGS

    odd = songs["odd name"]
    assert odd.path == odd_db.odd.present and odd.path.name == ODD_NAMES[0]
    assert odd.available and odd.url == file_url(odd_db.odd.present)
    assert (odd.rating, odd.playcount, odd.skipcount, odd.lastplayed, odd.year) == (1.0, 7, 1, 1_700_000_000,
                                                                                    1999)
    assert odd.length_s == 200.0 and odd.genre == "R&B" and odd.artist == "A"
    assert odd.score == (55.5 if odd_db.player == "clementine" else None)
    assert "localhost" not in songs  # the same file as "odd name", which says more
    assert songs["unencoded"].path.name == "raw #name?.flac" and songs["unencoded"].available


def test_missing_files_are_kept_and_counted(odd_db):
    scan = read_player_database(odd_db.path)
    missing = by_title(scan)["missing"]
    assert missing.path == odd_db.odd.missing and not missing.available
    assert missing.rating == 0.6
    assert scan.notes["file missing"] == 1
    # The player's own flag is read and counted; the file on disk decides whether it is there.
    assert scan.notes["marked unavailable by the player"] == 1
    assert scan.notes["marked unavailable by the player, file present"] == 1
    assert by_title(scan)["unencoded"].available
    assert missing not in scan.local_songs and len(scan.local_songs) == len(scan.songs) - 1


def test_cue_tracks_sharing_a_file_stay_separate_songs(odd_db):
    songs = by_title(read_player_database(odd_db.path))
    one, two = songs["cue one"], songs["cue two"]
    assert one.path == two.path == odd_db.odd.cue
    assert one.key != two.key and one.key == one.url
    assert (one.beginning_s, one.length_s, one.rating) == (0.0, 180.0, 0.8)
    assert (two.beginning_s, two.length_s, two.rating) == (180.0, 120.0, 0.4)


def test_ratings_of_every_shape(odd_db):
    scan = read_player_database(odd_db.path)
    ratings = {s.title: s.rating for s in scan.songs if s.title.startswith("rating ")}
    assert ratings == {"rating 0": 0.7, "rating 1": None, "rating 2": None, "rating 3": None,
                       "rating 4": None, "rating 5": None, "rating 6": None, "rating 7": 1.0,
                       "rating 8": 0.0}
    assert scan.notes["rating out of range"] == 3  # 1.5, 5, -0.5
    assert scan.notes["rating not a number"] == 1  # "abc"


def test_nulls_read_as_empty_or_unknown(odd_db):
    song = by_title(read_player_database(odd_db.path))["rating 2"]
    assert (song.artist, song.album, song.genre, song.year) == ("", "", "", None)
    assert (song.rating, song.lastplayed, song.playcount, song.length_s) == (None, None, 0, None)


def test_duplicate_rows_keep_the_one_that_says_most(odd_db):
    scan = read_player_database(odd_db.path)
    dups = [s for s in scan.songs if s.title.startswith("dup")]
    assert len(dups) == 1 and dups[0].title == "dup rated" and dups[0].rating == 0.6
    assert dups[0].playcount == 3
    assert scan.skipped["duplicate row"] == 2  # and "localhost", the same file as "odd name"
    assert by_title(scan)["odd name"].rating == 1.0


def test_keys_are_unique():
    rows = [row("file:///a.flac"), row("file:///a.flac", beginning=5 * 10**9)]
    scan = songs_from_rows(rows, "strawberry", None)
    assert [s.key for s in scan.songs] == ["file:///a.flac", "file:///a.flac@5000000000"]


def test_one_file_spelled_two_ways_is_one_song(tmp_path):
    real = tmp_path / "music" / "a b.flac"
    real.parent.mkdir()
    real.write_bytes(b"not audio, only a file")
    rows = [row(file_url(real), title="first"),
            row(f"file://localhost{file_url(real)[len('file://'):]}", title="with host"),
            row(file_url(real.parent) + "/../music//a%20b.flac", title="roundabout"),
            row(file_url(real), title="cue two", beginning=60 * 10**9)]
    scan = songs_from_rows(rows, "strawberry", None)
    assert [s.title for s in scan.songs] == ["first", "cue two"]
    assert scan.skipped == Counter({"duplicate row": 2})


def test_a_duplicate_that_says_more_replaces_the_first(tmp_path):
    url = file_url(tmp_path / "a.flac")
    rows = [row(url, title="unrated"), row(f"file://localhost{url[len('file://'):]}",
                                           title="rated", rating=0.8)]
    scan = songs_from_rows(rows, "clementine", None)
    assert [(s.title, s.rating) for s in scan.songs] == [("rated", 0.8)]
    assert scan.skipped["duplicate row"] == 1 and scan.notes["file missing"] == 1


def test_a_row_of_nothing_but_nulls_is_skipped_not_fatal():
    scan = songs_from_rows([row(None), row(b"file:///x%20y.flac")], "clementine", None)
    assert scan.skipped == Counter({"no location": 1})
    assert scan.songs[0].path == Path("/x y.flac") and scan.songs[0].title == ""


@pytest.mark.parametrize("value, expected", [
    (None, (None, None)), (-1, (None, None)), (-1.0, (None, None)), (0, (0.0, None)),
    (1, (1.0, None)), (0.2, (0.2, None)), ("0.6", (0.6, None)), (b"0.4", (0.4, None)),
    (1.0004, (1.0, None)), (2, (None, "rating out of range")), (-3, (None, "rating out of range")),
    ("", (None, None)), ("five", (None, "rating not a number")),
    (float("nan"), (None, "rating not a number")),
])
def test_parse_rating(value, expected):
    assert parse_rating(value) == expected


def test_an_unknown_database_is_refused_clearly(tmp_path):
    other = tmp_path / "other.db"
    sqlite3.connect(other).execute("CREATE TABLE t (x)").connection.close()
    with pytest.raises(LibraryError, match="not a Strawberry or Clementine database"):
        read_player_database(other)
    text = tmp_path / "notes.txt"
    text.write_text("hello, not sqlite at all" * 100)
    with pytest.raises(LibraryError, match="not a readable SQLite database"):
        read_player_database(text)


def test_schema_wins_over_the_player_named(tmp_path, caplog):
    path = schema_database("clementine", tmp_path / "c.db")
    scan = read_player_database(path, "strawberry")
    assert scan.source == "clementine" and scan.songs == []
    assert "is a Clementine database, not Strawberry" in caplog.text


def _tempo_mood_comment(path: Path, player: str) -> dict[str, tuple]:
    """(bpm, mood, comment) of each song read back after rows of every shape are written."""
    with contextlib.closing(sqlite3.connect(path)) as db, db:
        tagged = {"bpm": 150.0, "mood": " Calm; Dreamy ", "comment": "recorded live"}
        for title, values in (("tagged", tagged),
                              ("nulls", {"bpm": None, "mood": None, "comment": None}),
                              ("unknown", {"bpm": -1, "mood": "", "comment": ""}),
                              ("zero", {"bpm": 0, "comment": "  "}),
                              ("integer", {"bpm": 96})):
            insert_song(db, player, f"file:///music/{title}.flac", title=title, **values)
    return {s.title: (s.bpm, s.mood, s.comment) for s in read_player_database(path).songs}


def test_tempo_mood_and_comment_from_a_newer_strawberry_schema(tmp_path):
    path = schema_database("strawberry", tmp_path / "strawberry.db")
    with contextlib.closing(sqlite3.connect(path)) as db, db:  # what newer schemas add to 1.0.14's
        db.execute("ALTER TABLE songs ADD COLUMN bpm REAL")
        db.execute("ALTER TABLE songs ADD COLUMN mood TEXT")
    assert _tempo_mood_comment(path, "strawberry") == {
        "tagged": (150.0, "Calm; Dreamy", "recorded live"), "nulls": (None, "", ""),
        "unknown": (None, "", ""), "zero": (None, "", ""), "integer": (96.0, "", "")}


def test_clementine_has_tempo_and_comment_and_strawberry_1_0_14_the_comment_only(tmp_path):
    clementine = _tempo_mood_comment(schema_database("clementine", tmp_path / "c.db"), "clementine")
    assert clementine["tagged"] == (150.0, "", "recorded live")  # no mood column
    assert clementine["unknown"] == clementine["zero"] == (None, "", "")
    old = _tempo_mood_comment(schema_database("strawberry", tmp_path / "s.db"), "strawberry")
    assert old["tagged"] == (None, "", "recorded live") and old["integer"] == (None, "", "")
