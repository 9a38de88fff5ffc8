"""The cache index: one SQLite row per song, either a cached entry or a recorded skip.

A row is committed only after its audio file is complete on disk under its final name, so every
cached row a reader sees is whole. Files no row names (left by a killed build) are deleted by the
next build. Only the build process writes; readers load the rows once and keep no connection.
"""

from __future__ import annotations

import json
import sqlite3
import time
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path

from musicrec_desktop.errors import CacheError, free_space_note, full_disk_note

INDEX_NAME = "index.sqlite"
SCHEMA_VERSION = 1

_SCHEMA = """
CREATE TABLE IF NOT EXISTS meta (key TEXT PRIMARY KEY, value TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS songs (
    song_key TEXT PRIMARY KEY,
    identity TEXT NOT NULL,     -- JSON [path, size, mtime_ns, beginning_s, length_s]; changed: re-cache
    path TEXT NOT NULL,
    fmt TEXT,                   -- "ogg" | "npy"; NULL for a skipped song
    layout INTEGER,             -- chunks.LAYOUT_VERSION that placed the chunks
    file TEXT,                  -- relative to the cache root
    chunk_offsets TEXT,         -- JSON list: first sample of each chunk within the file
    chunk_seconds TEXT,         -- JSON list: length of each chunk
    chunk_starts TEXT,          -- JSON list: where each chunk starts in the music file, seconds
    bytes INTEGER NOT NULL DEFAULT 0,
    reason TEXT,                -- NULL when cached; the skip reason otherwise
    detail TEXT,
    created REAL NOT NULL
);
"""


@dataclass(frozen=True)
class IndexRow:
    song_key: str
    identity: str
    path: str
    fmt: str | None
    layout: int | None
    file: str | None
    chunk_offsets: tuple[int, ...]
    chunk_seconds: tuple[float, ...]
    chunk_starts: tuple[float, ...]
    bytes: int
    reason: str | None
    detail: str | None
    created: float

    @property
    def cached(self) -> bool:
        return self.reason is None


def identity_of(path: str, size: int, mtime_ns: int, beginning_s: float, length_s: float | None) -> str:
    return json.dumps([path, size, mtime_ns, round(beginning_s, 6),
                       None if length_s is None else round(length_s, 6)], ensure_ascii=False)


class CacheIndex:
    """The index database in the cache root."""

    def __init__(self, root: Path, *, create: bool) -> None:
        self.path = root / INDEX_NAME
        if not create and not self.path.exists():
            raise FileNotFoundError(self.path)
        try:
            self._db = sqlite3.connect(self.path, timeout=30.0, isolation_level=None)
            # WAL + NORMAL: a killed process never loses a committed row (only power loss could).
            self._db.execute("PRAGMA journal_mode=WAL")
            self._db.execute("PRAGMA synchronous=NORMAL")
            if create:
                self._db.executescript(_SCHEMA)
                self._db.execute("INSERT OR IGNORE INTO meta VALUES ('schema', ?)", (str(SCHEMA_VERSION),))
            version = self._db.execute("SELECT value FROM meta WHERE key='schema'").fetchone()
        except sqlite3.Error as exc:
            raise CacheError(f"{self.path}: cannot open the cache index: {exc}"
                             f"{full_disk_note(self.path)}") from exc
        if version is None or int(version[0]) != SCHEMA_VERSION:
            raise CacheError(f"{self.path}: cache index version {version and version[0]} is not "
                             f"{SCHEMA_VERSION}; delete the cache folder and build it again")

    def close(self) -> None:
        self._db.close()

    def rows(self) -> dict[str, IndexRow]:
        cur = self._db.execute(
            "SELECT song_key, identity, path, fmt, layout, file, chunk_offsets, chunk_seconds, "
            "chunk_starts, bytes, reason, detail, created FROM songs")
        return {r[0]: IndexRow(r[0], r[1], r[2], r[3], r[4], r[5], _tuple(r[6], int), _tuple(r[7], float),
                               _tuple(r[8], float), r[9], r[10], r[11], r[12]) for r in cur}

    def put_cached(self, song_key: str, identity: str, path: str, fmt: str, layout: int, file: str,
                   offsets: list[int], seconds: list[float], starts: list[float], nbytes: int) -> None:
        self._write("INSERT OR REPLACE INTO songs VALUES (?,?,?,?,?,?,?,?,?,?,NULL,NULL,?)",
                    (song_key, identity, path, fmt, layout, file, json.dumps(offsets),
                     json.dumps(seconds), json.dumps(starts), nbytes, time.time()))

    def put_skipped(self, song_key: str, identity: str, path: str, reason: str, detail: str) -> None:
        self._write("INSERT OR REPLACE INTO songs VALUES (?,?,?,NULL,NULL,NULL,NULL,NULL,NULL,0,?,?,?)",
                    (song_key, identity, path, reason, detail, time.time()))

    def record_over_budget(self, songs: int) -> None:
        """How many songs the last build left out because the size budget was reached: they
        have no row (they are cached once the budget allows), so the count is kept apart."""
        self._write("INSERT OR REPLACE INTO meta VALUES ('over_budget', ?)", (str(songs),))

    def over_budget(self) -> int:
        row = self._db.execute("SELECT value FROM meta WHERE key='over_budget'").fetchone()
        return int(row[0]) if row else 0

    def remove(self, keys: Iterable[str]) -> None:
        keys = list(keys)
        for start in range(0, len(keys), 500):
            part = keys[start:start + 500]
            self._write(f"DELETE FROM songs WHERE song_key IN ({','.join('?' * len(part))})", part)

    def _write(self, sql: str, params: Iterable[object]) -> None:
        try:
            self._db.execute(sql, tuple(params))  # autocommit: one row, one transaction
        except sqlite3.OperationalError as exc:
            raise CacheError(f"{self.path}: cannot write the cache index ({exc}"
                             f"{free_space_note(self.path)}); the cache is consistent, free some "
                             "disk space and build again") from exc


def _tuple(text: str | None, kind: type) -> tuple:
    return tuple(kind(v) for v in json.loads(text)) if text else ()
