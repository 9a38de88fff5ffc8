"""Reading the chunk cache: which songs are cached, their chunks, and random crops of them.

``ChunkCache.open`` reads the index once and keeps no database connection, so an open cache can be
pickled into data-loader workers and used from forked processes. Every call opens the song's file,
seeks and decodes only what was asked for.
"""

from __future__ import annotations

import time
from collections import Counter
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from musicrec_desktop.audio.formats import read_samples
from musicrec_desktop.audio.index import CacheIndex, IndexRow
from musicrec_desktop.constants import SAMPLE_RATE
from musicrec_desktop.errors import CacheError, NotReadyError
from musicrec_desktop.paths import DataDirs
from musicrec_desktop.settings import Settings


def cache_root(settings: Settings, dirs: DataDirs) -> Path:
    """The cache folder: the ``cache_dir`` setting, or the app's cache folder when it is empty."""
    return Path(settings.cache_dir).expanduser() if settings.cache_dir else dirs.cache


@dataclass(frozen=True)
class CachedSong:
    song_key: str
    chunk_seconds: tuple[float, ...]  # length of each chunk
    fmt: str  # "ogg" or "npy"
    file: Path  # the song's cache file
    chunk_offsets: tuple[int, ...]  # first sample of each chunk within the file
    chunk_starts: tuple[float, ...]  # where each chunk starts in the music file, seconds
    source: str  # the music file
    bytes: int
    created: float  # epoch seconds

    @property
    def chunks(self) -> int:
        return len(self.chunk_seconds)

    def chunk_samples(self, index: int) -> int:
        return int(round(self.chunk_seconds[index] * SAMPLE_RATE))


class ChunkCache:
    """The cached songs of one cache folder, as they were when it was opened."""

    def __init__(self, root: Path, songs: dict[str, CachedSong]) -> None:
        self.root = root
        self._songs = songs

    @classmethod
    def open(cls, root: Path) -> ChunkCache:
        """Raises ``NotReadyError`` when there is no cache in ``root`` yet."""
        root = Path(root)
        try:
            index = CacheIndex(root, create=False)
        except FileNotFoundError as exc:
            raise NotReadyError(f"no chunk cache in {root}: run `musicrec build-cache` first") from exc
        try:
            rows = index.rows()
        finally:
            index.close()
        return cls(root, {k: _song(root, r) for k, r in sorted(rows.items()) if r.cached})

    def entries(self) -> list[CachedSong]:
        """Every cached song (complete entries only), ordered by song key."""
        return list(self._songs.values())

    def get(self, song_key: str) -> CachedSong | None:
        return self._songs.get(song_key)

    def __len__(self) -> int:
        return len(self._songs)

    def __contains__(self, song_key: object) -> bool:
        return song_key in self._songs

    def load_chunk(self, song_key: str, index: int) -> np.ndarray:
        """Chunk ``index`` of the song: (2, n) float32 at 16 kHz in [-1, 1]."""
        song = self._song(song_key, index)
        return self._read(song, song.chunk_offsets[index], song.chunk_samples(index))

    def load_crop(self, song_key: str, index: int, start_s: float, duration_s: float) -> np.ndarray:
        """``duration_s`` seconds from ``start_s`` into chunk ``index``: (2, n) float32 in [-1, 1].

        The crop is clamped to the chunk, so n is shorter than asked when the chunk ends first
        (callers pad); a negative start counts as 0.
        """
        song = self._song(song_key, index)
        length = song.chunk_samples(index)
        start = min(max(int(round(start_s * SAMPLE_RATE)), 0), length)
        count = min(max(int(round(duration_s * SAMPLE_RATE)), 0), length - start)
        return self._read(song, song.chunk_offsets[index] + start, count)

    def close(self) -> None:
        """Nothing stays open between calls; kept so that callers can treat it like a resource."""

    def _song(self, song_key: str, index: int) -> CachedSong:
        song = self._songs.get(song_key)
        if song is None:
            raise KeyError(f"song {song_key!r} is not in the chunk cache")
        if not 0 <= index < song.chunks:
            raise IndexError(f"song {song_key!r} has {song.chunks} chunks, not chunk {index}")
        return song

    def _read(self, song: CachedSong, offset: int, count: int) -> np.ndarray:
        if count == 0:
            return np.zeros((2, 0), dtype=np.float32)
        try:
            audio = read_samples(song.file, song.fmt, offset, count)
        except (OSError, RuntimeError) as exc:
            raise CacheError(f"{song.file}: cannot read the cached song {song.song_key!r} ({exc}); "
                             "build the cache again") from exc
        if audio.shape[1] != count:
            raise CacheError(f"{song.file}: cached song {song.song_key!r} is shorter than its index "
                             "says; build the cache again")
        return audio


def _song(root: Path, row: IndexRow) -> CachedSong:
    return CachedSong(row.song_key, row.chunk_seconds, row.fmt or "", root / (row.file or ""),
                      row.chunk_offsets, row.chunk_starts, row.path, row.bytes, row.created)


@dataclass(frozen=True)
class CacheStats:
    root: str
    songs: int
    chunks: int
    bytes: int
    bytes_per_song: float
    formats: dict[str, int]  # format -> songs
    skipped: dict[str, int]  # reason -> songs
    over_budget: int  # songs the last build left out: the size budget was reached
    oldest: float | None  # epoch seconds of the oldest entry
    newest: float | None

    def as_dict(self) -> dict[str, object]:
        def iso(t: float | None) -> str | None:
            return None if t is None else time.strftime("%Y-%m-%d %H:%M:%S", time.localtime(t))

        data = dict(self.__dict__)
        data["oldest"], data["newest"] = iso(self.oldest), iso(self.newest)
        return data


def cache_stats(root: Path) -> CacheStats:
    """What the cache in ``root`` holds; ``NotReadyError`` when there is none."""
    try:
        index = CacheIndex(root, create=False)
    except FileNotFoundError as exc:
        raise NotReadyError(f"no chunk cache in {root}: run `musicrec build-cache` first") from exc
    try:
        rows = list(index.rows().values())
        over_budget = index.over_budget()
    finally:
        index.close()
    cached = [r for r in rows if r.cached]
    total = sum(r.bytes for r in cached)
    created = [r.created for r in cached]
    return CacheStats(str(root), len(cached), sum(len(r.chunk_seconds) for r in cached), total,
                      total / len(cached) if cached else 0.0, dict(Counter(r.fmt or "" for r in cached)),
                      dict(Counter(r.reason or "" for r in rows if not r.cached)), over_budget,
                      min(created, default=None), max(created, default=None))
