"""A small real library for text search: tagged FLAC files listed in a Strawberry database (its
real schema), with song vectors in a real EmbeddingStore that cluster by genre, as an audio
encoder's would. None of the songs' words says "orchestral"."""

from __future__ import annotations

import contextlib
import sqlite3
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pytest

from musicrec_desktop.library.players import read_player_database
from musicrec_desktop.library.song import LibraryScan
from musicrec_desktop.library.urls import file_url
from musicrec_desktop.paths import DataDirs
from musicrec_desktop.settings import Settings
from musicrec_desktop.store.embeddings import EmbeddingStore
from tests.library.helpers import insert_song, schema_database, write_song

GENRES = ("Classical", "Heavy Metal", "Techno", "Jazz", "Country", "Hip-Hop")
PER_GENRE = 6
DIM = 16
MODEL = "test-encoder-v1"


@dataclass
class TaggedLibrary:
    root: Path
    database: Path
    dirs: DataDirs
    settings: Settings

    def scan(self) -> LibraryScan:
        return read_player_database(self.database, "strawberry")

    def genre_of(self, key: str) -> str:
        return {s.key: s.genre for s in self.scan().songs}[key]


def write_library(root: Path, seed: int = 0) -> TaggedLibrary:
    rng = np.random.default_rng(seed)
    centres = rng.standard_normal((len(GENRES), DIM)).astype(np.float32)
    database = schema_database("strawberry", root / "strawberry.db")
    vectors = {}
    with contextlib.closing(sqlite3.connect(database)) as db, db:
        for g, genre in enumerate(GENRES):
            for j in range(PER_GENRE):
                title, artist = f"Track {g}{j}", f"Band {chr(65 + g)}"
                path = write_song(root / "music" / f"{g}-{j}.flac", title, artist, genre, "1994")
                insert_song(db, "strawberry", file_url(path), title=title, artist=artist,
                            album=f"Album {chr(65 + g)}", genre=genre, year=1994 + j, length=10**9)
                vectors[file_url(path)] = centres[g] + 0.4 * rng.standard_normal(DIM).astype(np.float32)
    dirs = DataDirs.under(root / "data").create()
    with EmbeddingStore(dirs.embeddings_db) as store:
        store.register_model(MODEL, DIM)
        store.put(MODEL, vectors.items())
        store.set_current(MODEL)
    return TaggedLibrary(root, database, dirs, Settings())


@pytest.fixture
def tagged_library(tmp_path: Path) -> TaggedLibrary:
    return write_library(tmp_path)
