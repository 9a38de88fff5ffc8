"""Fixtures of the cache tests: data folders, settings and a cache build/open shortcut."""

from __future__ import annotations

import contextlib
import sqlite3
from pathlib import Path

import pytest

from musicrec_desktop.audio.build import CacheReport, build_cache
from musicrec_desktop.audio.cache import ChunkCache, cache_root
from musicrec_desktop.library.song import Song
from musicrec_desktop.paths import DataDirs
from musicrec_desktop.settings import Settings


class CacheBench:
    """One data folder and a way to build its cache and read it back."""

    def __init__(self, root: Path) -> None:
        self.dirs = DataDirs.under(root / "data").create()
        self.music = root / "music"
        self.music.mkdir()
        self.settings = Settings().replace(cache_format="npy")

    @property
    def root(self) -> Path:
        return cache_root(self.settings, self.dirs)

    def build(self, songs: list[Song], workers: int = 0, collect: bool = True,
              **settings: object) -> CacheReport:
        if settings:
            self.settings = self.settings.replace(**settings)
        return build_cache(songs, self.settings, self.dirs, workers=workers, collect=collect)

    def open(self) -> ChunkCache:
        return ChunkCache.open(self.root)

    def skips(self) -> dict[str, str]:
        """song key -> recorded skip reason, straight from the index."""
        with contextlib.closing(sqlite3.connect(self.root / "index.sqlite")) as db:
            return dict(db.execute("SELECT song_key, reason FROM songs WHERE reason IS NOT NULL"))

    def files(self) -> set[str]:
        data = self.root / "chunks"
        if not data.exists():
            return set()
        return {str(p.relative_to(self.root)) for p in data.rglob("*") if p.is_file()}


@pytest.fixture
def bench(tmp_path: Path) -> CacheBench:
    return CacheBench(tmp_path)
