"""Listening history: when each song started, finished or was skipped, in the app's own SQLite file.

Neither player keeps a per-play history, so the companion records one from what the player says on
the session bus. The player's own database is never written: this file lives in the app's state
folder (``DataDirs.history_db``).
"""

from __future__ import annotations

import sqlite3
from dataclasses import dataclass
from pathlib import Path
from typing import Literal

EventKind = Literal["start", "finish", "skip"]
KINDS: tuple[str, ...] = ("start", "finish", "skip")
IMPORTED = "import"  # the ``player`` of listens imported from a file (musicrec history import)
DEMO = "demo"  # the ``player`` of the demo library's simulated listener (demo.listening)

SCHEMA = """
CREATE TABLE IF NOT EXISTS listening (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    song_url TEXT NOT NULL,
    song_key TEXT,
    kind TEXT NOT NULL CHECK (kind IN ('start', 'finish', 'skip')),
    at REAL NOT NULL,
    position_s REAL NOT NULL DEFAULT 0,
    player TEXT NOT NULL DEFAULT ''
);
CREATE INDEX IF NOT EXISTS listening_at ON listening(at);
-- A listen imported twice (the same file again, or two exports of the same listens) is one listen.
CREATE UNIQUE INDEX IF NOT EXISTS listening_imported ON listening(song_key, at)
    WHERE player = 'import';
"""


@dataclass(frozen=True)
class ListeningEvent:
    song_url: str  # as the player reported it (xesam:url)
    song_key: str | None  # the library's song key when the song is known, else None
    kind: EventKind  # start | finish | skip
    at: float  # epoch seconds
    position_s: float = 0.0  # where in the song it happened (seconds)
    player: str = ""  # "strawberry" or "clementine"; IMPORTED for a listen read from a file

    def __post_init__(self) -> None:
        if self.kind not in KINDS:
            raise ValueError(f"listening event kind {self.kind!r} is not one of {', '.join(KINDS)}")


class HistoryStore:
    """``HistoryStore(path).record(event)``; ``.events(since=epoch)`` oldest first."""

    def __init__(self, path: Path) -> None:
        path = Path(path)
        path.parent.mkdir(parents=True, exist_ok=True)
        self.path = path
        # The follower writes while the tray or a rating model may read: WAL lets both proceed.
        self._db = sqlite3.connect(path, timeout=30, check_same_thread=False)
        self._db.execute("PRAGMA journal_mode=WAL")
        self._db.executescript(SCHEMA)

    def close(self) -> None:
        self._db.close()

    def __enter__(self) -> HistoryStore:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def record(self, event: ListeningEvent) -> None:
        with self._db:
            self._db.execute(
                "INSERT INTO listening (song_url, song_key, kind, at, position_s, player) "
                "VALUES (?, ?, ?, ?, ?, ?)",
                (event.song_url, event.song_key, event.kind, float(event.at),
                 float(event.position_s), event.player),
            )

    def record_imported(self, events: list[ListeningEvent]) -> int:
        """Records listens read from a file (``player`` IMPORTED, ``song_key`` set); one already
        here at the same time for the same song is left out. Returns how many were added."""
        before = self._db.total_changes
        with self._db:
            self._db.executemany(
                "INSERT OR IGNORE INTO listening (song_url, song_key, kind, at, position_s, player) "
                "VALUES (?, ?, ?, ?, ?, ?)",
                [(e.song_url, e.song_key, e.kind, float(e.at), float(e.position_s), IMPORTED)
                 for e in events],
            )
        return self._db.total_changes - before

    def replace_events_of(self, player: str, events: list[ListeningEvent]) -> bool:
        """Makes ``events`` the events of ``player`` (their own ``player`` is not read), leaving
        every other player's alone, in one transaction; False (nothing written) when they are
        already what is stored. The demo library rewrites its simulated listening this way."""
        rows = [(e.song_url, e.song_key, e.kind, float(e.at), float(e.position_s), player) for e in events]
        stored = self._db.execute(
            "SELECT song_url, song_key, kind, at, position_s, player FROM listening WHERE player = ? "
            "ORDER BY id", (player,)).fetchall()
        if stored == rows:
            return False
        with self._db:
            self._db.execute("DELETE FROM listening WHERE player = ?", (player,))
            self._db.executemany(
                "INSERT INTO listening (song_url, song_key, kind, at, position_s, player) "
                "VALUES (?, ?, ?, ?, ?, ?)", rows)
        return True

    def count(self) -> int:
        """How many events it holds."""
        return int(self._db.execute("SELECT COUNT(*) FROM listening").fetchone()[0])

    def events(self, since: float | None = None) -> list[ListeningEvent]:
        """Events at or after ``since`` (epoch seconds; all when None), oldest first."""
        rows = self._db.execute(
            "SELECT song_url, song_key, kind, at, position_s, player FROM listening "
            "WHERE at >= ? ORDER BY at, id",
            (float("-inf") if since is None else float(since),),
        ).fetchall()
        return [ListeningEvent(*row) for row in rows]
