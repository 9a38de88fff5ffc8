"""A consistent, read-only copy of a player's database, taken without disturbing the player.

The player's file is opened through SQLite's read-only URI mode (so no journal is ever created
next to it) and copied with the backup API into memory while one short read transaction holds
the shared lock. Everything afterwards reads the copy; the player's file is touched only for the
duration of the copy.
"""

from __future__ import annotations

import logging
import sqlite3
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
            if not _is_busy(exc):
                raise LibraryError(path, f"cannot be read: {exc}") from exc
            log.info("%s is locked by another program (try %d of %d)", path, attempt, ATTEMPTS)
        except sqlite3.DatabaseError as exc:
            raise LibraryError(path, f"not a readable SQLite database: {exc}") from exc
    waited = time.monotonic() - started
    raise DatabaseLockedError(
        path, f"the player has kept its database locked for {waited:.0f} s; "
              "try again when it has finished scanning or saving")


def _copy(path: Path, busy_s: float) -> sqlite3.Connection:
    source = sqlite3.connect(read_only_uri(path), uri=True, timeout=busy_s, isolation_level=None)
    try:
        # Take the shared lock ourselves (waiting through the busy timeout) so that the backup
        # runs inside this one read transaction: consistent, and it never spins on a busy source.
        source.execute("BEGIN")
        source.execute("SELECT count(*) FROM sqlite_master").fetchone()
        copy = sqlite3.connect(":memory:")
        try:
            source.backup(copy)
        except BaseException:
            copy.close()
            raise
        source.execute("COMMIT")
        return copy
    finally:
        source.close()


def _is_busy(exc: sqlite3.OperationalError) -> bool:
    code = getattr(exc, "sqlite_errorcode", None)
    if code is not None:
        return code & 0xFF in (sqlite3.SQLITE_BUSY, sqlite3.SQLITE_LOCKED)
    return "locked" in str(exc) or "busy" in str(exc)
