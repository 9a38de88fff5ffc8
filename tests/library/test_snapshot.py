"""Read-only snapshots: the player's file stays byte-identical, also under locks and writes."""

from __future__ import annotations

import contextlib
import shutil
import sqlite3
import subprocess
import sys
import textwrap
import time

import pytest

from musicrec_desktop.errors import DatabaseLockedError, LibraryError
from musicrec_desktop.library.players import read_player_database
from musicrec_desktop.library.snapshot import snapshot
from tests.library.helpers import ODD_SONGS, sha256


def files_beside(path):
    return sorted(p.name for p in path.parent.iterdir())


def hold_lock(path, how: str, seconds: float) -> subprocess.Popen:
    """Another process that takes a lock on ``path`` and keeps it for ``seconds``."""
    code = textwrap.dedent(f"""
        import sqlite3, sys, time
        db = sqlite3.connect({str(path)!r}, isolation_level=None)
        db.execute({how!r})
        db.execute("UPDATE songs SET playcount = playcount WHERE 0")
        print("locked", flush=True)
        time.sleep({seconds})
        db.execute("ROLLBACK")
    """)
    proc = subprocess.Popen([sys.executable, "-c", code], stdout=subprocess.PIPE, text=True)
    assert proc.stdout.readline().strip() == "locked"
    return proc


def test_snapshot_is_a_full_copy_in_memory(odd_db):
    copy = snapshot(odd_db.path)
    original = sqlite3.connect(f"file:{odd_db.path}?mode=ro", uri=True)
    query = "SELECT * FROM songs ORDER BY rowid"
    assert copy.execute(query).fetchall() == original.execute(query).fetchall()
    assert copy.execute("PRAGMA database_list").fetchall()[0][2] == ""  # in memory
    original.close()
    copy.close()


def test_path_with_uri_characters(odd_db, tmp_path):
    odd = tmp_path / "odd ?#% dir" / "a?b#c%20.db"
    odd.parent.mkdir()
    shutil.copy(odd_db.path, odd)
    before = sha256(odd)
    assert len(read_player_database(odd).songs) == ODD_SONGS
    assert sha256(odd) == before and files_beside(odd) == [odd.name]


def test_read_only_folder_and_file(odd_db):
    odd_db.path.chmod(0o444)
    odd_db.path.parent.chmod(0o555)
    try:
        assert len(read_player_database(odd_db.path).songs) == ODD_SONGS
    finally:
        odd_db.path.parent.chmod(0o755)


def test_exclusive_lock_waits_within_the_bound_then_fails_clearly(odd_db):
    before = sha256(odd_db.path)
    holder = hold_lock(odd_db.path, "BEGIN EXCLUSIVE", 30)
    try:
        started = time.monotonic()
        with pytest.raises(DatabaseLockedError, match="locked") as caught:
            read_player_database(odd_db.path, wait_s=0.6)
        assert 0.5 < time.monotonic() - started < 5
        assert caught.value.path == odd_db.path
    finally:
        holder.kill()
        holder.wait()
    assert sha256(odd_db.path) == before
    assert files_beside(odd_db.path) == [odd_db.path.name]


def test_a_short_lock_is_waited_out(odd_db):
    before = sha256(odd_db.path)
    holder = hold_lock(odd_db.path, "BEGIN EXCLUSIVE", 0.5)
    try:
        assert len(read_player_database(odd_db.path, wait_s=10).songs) == ODD_SONGS
    finally:
        holder.wait()
    assert sha256(odd_db.path) == before


def test_reading_while_a_writer_holds_a_reserved_lock(odd_db):
    """A player in the middle of a write transaction (not yet committing) does not block us."""
    holder = hold_lock(odd_db.path, "BEGIN IMMEDIATE", 30)
    try:
        assert len(read_player_database(odd_db.path, wait_s=1).songs) == ODD_SONGS
    finally:
        holder.kill()
        holder.wait()


WRITER = textwrap.dedent("""
    import sqlite3, sys
    db = sqlite3.connect(sys.argv[1], timeout=30, isolation_level=None)
    for i in range(int(sys.argv[2])):
        db.execute("BEGIN IMMEDIATE")
        # two rows per transaction: a consistent reader always sees an even count
        for j in range(2):
            db.execute("INSERT INTO songs (url, title) VALUES (?, ?)",
                       (f"file:///w/{i}-{j}.flac", "w"))
        db.execute("UPDATE songs SET playcount = playcount + 1 WHERE title = 'odd name'")
        db.execute("COMMIT")
""")


def test_snapshots_while_a_writer_keeps_writing_are_consistent_and_change_nothing(odd_db, tmp_path):
    """The same writes on two copies, one read from all the time: the copies end byte-identical."""
    if odd_db.player != "strawberry":
        pytest.skip("one schema is enough for this")
    quiet = tmp_path / "quiet.db"
    shutil.copy(odd_db.path, quiet)
    writes = "60"
    writer = subprocess.Popen([sys.executable, "-c", WRITER, str(odd_db.path), writes])
    counts = []
    try:
        while writer.poll() is None:
            copy = snapshot(odd_db.path, wait_s=10)
            counts.append(copy.execute("SELECT COUNT(*) FROM songs WHERE title = 'w'").fetchone()[0])
            copy.close()
    finally:
        writer.wait(60)
    assert writer.returncode == 0
    subprocess.run([sys.executable, "-c", WRITER, str(quiet), writes], check=True)
    assert len(counts) >= 3
    assert all(c % 2 == 0 for c in counts)  # never half a transaction
    assert sha256(odd_db.path) == sha256(quiet)
    assert "strawberry.db-journal" not in files_beside(odd_db.path)


def test_missing_database(tmp_path):
    with pytest.raises(LibraryError, match="no such database file"):
        snapshot(tmp_path / "nope.db")


CRASHING_WRITER = textwrap.dedent("""
    import sqlite3, sys, time
    db = sqlite3.connect(sys.argv[1], isolation_level=None)
    db.execute("PRAGMA cache_size = 1")  # spill to the file mid-transaction: a hot journal
    db.execute("BEGIN")
    db.execute("UPDATE songs SET title = 'half-saved'")
    print("writing", flush=True)
    time.sleep(60)
""")


def test_a_player_killed_while_saving_is_reported_and_left_alone(odd_db):
    if odd_db.player != "strawberry":
        pytest.skip("one schema is enough for this")
    with contextlib.closing(sqlite3.connect(odd_db.path)) as db, db:
        # enough pages that the change cannot stay in the writer's memory
        db.executemany("INSERT INTO songs (url, title) VALUES (?, ?)",
                       [(f"file:///pad/{i}.flac", "x" * 400) for i in range(1500)])
    writer = subprocess.Popen([sys.executable, "-c", CRASHING_WRITER, str(odd_db.path)],
                              stdout=subprocess.PIPE, text=True)
    assert writer.stdout.readline().strip() == "writing"
    writer.kill()
    writer.wait()
    writer.stdout.close()
    journal = odd_db.path.with_name(odd_db.path.name + "-journal")
    before = sha256(odd_db.path), sha256(journal)
    with pytest.raises(LibraryError, match="stopped in the middle of saving"):
        read_player_database(odd_db.path, wait_s=0.5)
    assert (sha256(odd_db.path), sha256(journal)) == before


def test_a_wal_database_gets_no_files_beside_it(odd_db):
    """Neither player uses WAL, but a person may have switched theirs; leave no -wal/-shm."""
    if odd_db.player != "clementine":
        pytest.skip("one schema is enough for this")
    with contextlib.closing(sqlite3.connect(odd_db.path)) as db:
        assert db.execute("PRAGMA journal_mode = WAL").fetchone() == ("wal",)
    assert files_beside(odd_db.path) == [odd_db.path.name]
    before = sha256(odd_db.path)
    assert len(read_player_database(odd_db.path).songs) == ODD_SONGS
    assert files_beside(odd_db.path) == [odd_db.path.name] and sha256(odd_db.path) == before
    with contextlib.closing(sqlite3.connect(odd_db.path)) as player:  # the player has it open
        player.execute("UPDATE songs SET playcount = 9 WHERE title = 'odd name'")
        player.commit()
        scan = read_player_database(odd_db.path)
        assert next(s for s in scan.songs if s.title == "odd name").playcount == 9


KILLED_WAL_WRITER = textwrap.dedent("""
    import sqlite3, sys, time
    db = sqlite3.connect(sys.argv[1], isolation_level=None)
    db.execute("PRAGMA journal_mode = WAL")
    db.execute("PRAGMA wal_autocheckpoint = 0")  # the change stays in the -wal file
    db.execute("UPDATE songs SET playcount = 42 WHERE title = 'odd name'")
    db.execute("BEGIN")
    db.execute("UPDATE songs SET playcount = 43")  # never committed
    print("written", flush=True)
    time.sleep(60)
""")


def test_a_wal_database_left_by_a_killed_player_is_read_without_touching_its_files(odd_db):
    """A player killed with its database in WAL mode leaves .db, -wal and -shm; reading it must
    not write any of them (any SQLite connection to it, even read-only, writes the -shm)."""
    if odd_db.player != "strawberry":
        pytest.skip("one schema is enough for this")
    writer = subprocess.Popen([sys.executable, "-c", KILLED_WAL_WRITER, str(odd_db.path)],
                              stdout=subprocess.PIPE, text=True)
    assert writer.stdout.readline().strip() == "written"
    writer.kill()
    writer.wait()
    writer.stdout.close()
    files = [odd_db.path.with_name(odd_db.path.name + tail) for tail in ("", "-wal", "-shm")]
    assert all(f.stat().st_size > 0 for f in files)
    before = [(f.name, sha256(f), f.stat().st_mtime_ns) for f in files]
    for _ in range(2):
        scan = read_player_database(odd_db.path, wait_s=1)
        counts = [s.playcount for s in scan.songs if s.title == "odd name"]
        assert counts == [42]  # the committed change, read from the -wal; the open one is not
        assert max(s.playcount for s in scan.songs) == 42
    assert [(f.name, sha256(f), f.stat().st_mtime_ns) for f in files] == before
    assert files_beside(odd_db.path) == sorted(f.name for f in files)
