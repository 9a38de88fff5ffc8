"""The library watcher on real folders and a real SQLite database file."""

from __future__ import annotations

import hashlib
import queue
import sqlite3
import threading
import time

import pytest

from musicrec_desktop.watch import LibraryWatcher
from tests.app.tiny import write_song

QUIET_S = 0.3


@pytest.fixture
def changes():
    return queue.Queue()


def make_db(path):
    db = sqlite3.connect(path)
    with db:
        db.execute("CREATE TABLE songs (url TEXT, rating REAL)")
        db.execute("INSERT INTO songs VALUES ('file:///a.flac', 0.6)")
    db.close()  # before the watcher starts: closing after a write is a change
    return path


@pytest.fixture
def watched(tmp_path, changes):
    music = tmp_path / "music"
    (music / "album").mkdir(parents=True)
    player = tmp_path / "player"
    player.mkdir()
    database = make_db(player / "strawberry.db")
    watcher = LibraryWatcher([music, tmp_path / "missing"], database, changes.put, quiet_s=QUIET_S)
    watcher.start()
    yield watcher, music, database
    watcher.stop()


def test_a_new_song_file_is_reported_once_after_a_quiet_period(watched, changes):
    watcher, music, _ = watched
    assert watcher.watched() == [music, watcher.database.parent]
    started = time.monotonic()
    write_song(music / "album" / "new.flac", 330.0, "Rock", seconds=1.0)
    (music / "album" / "cover.jpg").write_bytes(b"not a song")
    batch = changes.get(timeout=5)
    assert time.monotonic() - started >= QUIET_S
    assert batch.songs == {music / "album" / "new.flac"} and not batch.database
    # Many events of one copy make one batch.
    with pytest.raises(queue.Empty):
        changes.get(timeout=QUIET_S * 3)


def test_a_changed_rating_in_the_player_database_is_reported(watched, changes):
    _, _, database = watched
    db = sqlite3.connect(database)
    with db:
        db.execute("UPDATE songs SET rating = 1.0")
    db.close()
    batch = changes.get(timeout=5)
    assert batch.database and not batch.songs


def test_reading_the_database_is_not_a_change(watched, changes):
    _, music, database = watched
    before = hashlib.sha256(database.read_bytes()).hexdigest()
    db = sqlite3.connect(f"file:{database}?mode=ro", uri=True)
    assert db.execute("SELECT rating FROM songs").fetchone() == (0.6,)
    db.close()
    (database.parent / "other.txt").write_text("the player's other files")
    with pytest.raises(queue.Empty):
        changes.get(timeout=QUIET_S * 3)
    assert hashlib.sha256(database.read_bytes()).hexdigest() == before


def test_a_removed_folder_of_songs_is_reported(watched, changes):
    _, music, _ = watched
    write_song(music / "album" / "gone.flac", 330.0, "Rock", seconds=1.0)
    changes.get(timeout=5)
    (music / "album" / "gone.flac").unlink()
    (music / "album").rmdir()
    batch = changes.get(timeout=5)
    assert music / "album" in batch.songs


def test_stop_ends_every_thread_and_reports_nothing_after(tmp_path, changes):
    before = threading.active_count()
    watcher = LibraryWatcher([tmp_path], None, changes.put, quiet_s=QUIET_S)
    watcher.start()
    write_song(tmp_path / "late.flac", 330.0, "Rock", seconds=1.0)
    watcher.stop()
    assert not watcher.running
    with pytest.raises(queue.Empty):
        changes.get(timeout=QUIET_S * 3)
    deadline = time.monotonic() + 5
    while threading.active_count() > before and time.monotonic() < deadline:
        time.sleep(0.05)
    assert threading.active_count() == before
