"""A consistent, read-only copy of a player's database, taken without disturbing the player.

The player's file is opened through SQLite's read-only URI mode (so no journal is ever created
next to it) and copied with the backup API into memory while one short read transaction holds
the shared lock. Everything afterwards reads the copy; the player's file is touched only for the
duration of the copy. A database in WAL mode with a -wal file is copied file by file into a
private folder first, because any SQLite connection to it writes its -shm file.
"""

from __future__ import annotations

import logging
import shutil
import sqlite3
import tempfile
import time
from pathlib import Path

from musicrec_desktop.errors import DatabaseLockedError, LibraryError

log = logging.getLogger(__name__)

DEFAULT_WAIT_S = 15.0  # Strawberry's own busy timeout is 30 s; a collection scan commits far sooner
ATTEMPTS = 3  # the wait is split over this many tries so a stale lock gets re-checked


def read_only_uri(path: Path) -> str:
    """``file:`` URI opening ``path`` read-only; ``as_uri`` escapes ``?``, ``#`` and ``%``."""
    return f"{path.resolve().as_uri()}?mode=ro"


def snapshot(path: Path | str, wait_s: float = DEFAULT_WAIT_S) -> sqlite3.Connection:
    """An in-memory copy of the SQLite database at ``path``.

    Waits up to about ``wait_s`` seconds in total while another process holds a write lock, then
    raises ``DatabaseLockedError``. Any other failure to read raises ``LibraryError``.
    """
    path = Path(path).expanduser()
    if not path.is_file():
        raise LibraryError(path, "no such database file")
    per_try = max(wait_s / ATTEMPTS, 0.05)
    started = time.monotonic()
    for attempt in range(1, ATTEMPTS + 1):
        try:
            return _copy(path, per_try)
        except sqlite3.OperationalError as exc:
            if getattr(exc, "sqlite_errorcode", None) == sqlite3.SQLITE_READONLY_ROLLBACK:
                # A hot journal: the player stopped in the middle of saving. Only a writer may
                # roll it back, and we never write to the player's files.
                raise LibraryError(path, "the player stopped in the middle of saving (its "
                                         f"{path.name}-journal is still there); start the player "
                                         "once so it repairs its database, then try again") from exc
            if not _is_busy(exc):
                raise LibraryError(path, f"cannot be read: {exc}") from exc
            log.info("%s is locked by another program (try %d of %d)", path, attempt, ATTEMPTS)
        except sqlite3.DatabaseError as exc:
            raise LibraryError(path, f"not a readable SQLite database: {exc}") from exc
        except OSError as exc:
            raise LibraryError(path, f"cannot be read: {exc.strerror}") from exc
    waited = time.monotonic() - started
    raise DatabaseLockedError(
        path, f"the player has kept its database locked for {waited:.1f} s; "
              "try again when it has finished scanning or saving")


def _copy(path: Path, busy_s: float) -> sqlite3.Connection:
    uri, before = read_only_uri(path), None
    wal = path.with_name(path.name + "-wal")
    if _is_wal(path) and wal.exists():
        return _copy_private(path, wal)
    if _is_wal(path):
        # A WAL database nobody has open: a read-only connection would create -wal and -shm
        # files next to it and could not remove them. Read it as immutable instead, and check
        # afterwards that nobody opened it meanwhile (else try again the ordinary way).
        uri, before = uri + "&immutable=1", _stamp(path)
    source = sqlite3.connect(uri, uri=True, timeout=busy_s, isolation_level=None)
    try:
        # Take the shared lock ourselves (waiting through the busy timeout) so that the backup
        # runs inside this one read transaction: consistent, and it never spins on a busy source.
        source.execute("BEGIN")
        source.execute("SELECT count(*) FROM sqlite_master").fetchone()
        copy = _in_memory(source)
        source.execute("COMMIT")
        if before is not None and (_stamp(path) != before or wal.exists()):
            copy.close()
            raise sqlite3.OperationalError("database is locked (changed while it was copied)")
        return copy
    finally:
        source.close()


def _copy_private(path: Path, wal: Path) -> sqlite3.Connection:
    """A WAL database with its -wal file (a running player's, or one a crash left behind).

    Even a read-only connection writes the -shm file beside it (it rebuilds or marks the
    wal-index there). So the .db and -wal files are copied into a private folder, the -wal
    first: a checkpoint between the two copies then only repeats in the .db what the -wal
    copy holds. SQLite rebuilds the wal-index of the copy from its -wal, where uncommitted
    frames are ignored. When either file changed while it was copied, this counts as busy and
    is tried again.
    """
    before = _stamp(path), _stamp(wal)
    with tempfile.TemporaryDirectory(prefix="musicrec-snapshot-") as folder:
        private = Path(folder) / "player.db"
        try:
            shutil.copyfile(wal, private.with_name("player.db-wal"))
            shutil.copyfile(path, private)
        except FileNotFoundError as exc:  # the player closed it meanwhile and removed its -wal
            raise sqlite3.OperationalError("database is locked (closed while it was copied)") from exc
        if (_stamp(path), _stamp(wal)) != before:
            raise sqlite3.OperationalError("database is locked (changed while it was copied)")
        source = sqlite3.connect(private, isolation_level=None)
        try:
            return _in_memory(source)
        finally:
            source.close()


def _in_memory(source: sqlite3.Connection) -> sqlite3.Connection:
    """A copy of the whole database in memory (SQLite's backup), closed again if the copy fails."""
    copy = sqlite3.connect(":memory:")
    try:
        source.backup(copy)
    except BaseException:
        copy.close()
        raise
    return copy


def _is_wal(path: Path) -> bool:
    """Whether the database file says it is in WAL mode (header bytes 18-19 are 2)."""
    with open(path, "rb") as fh:
        header = fh.read(20)
    return header[:16] == b"SQLite format 3\x00" and header[18:20] == b"\x02\x02"


def _stamp(path: Path) -> tuple[int, int]:
    st = path.stat()
    return st.st_mtime_ns, st.st_size


def _is_busy(exc: sqlite3.OperationalError) -> bool:
    code = getattr(exc, "sqlite_errorcode", None)
    if code is not None:
        return code & 0xFF in (sqlite3.SQLITE_BUSY, sqlite3.SQLITE_LOCKED)
    return "locked" in str(exc) or "busy" in str(exc)
