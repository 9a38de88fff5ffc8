"""A constructed library: songs in style clusters with embeddings in a real EmbeddingStore."""

from __future__ import annotations

import time
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pytest

from musicrec_desktop.context import AppContext
from musicrec_desktop.library.song import LibraryScan, Song
from musicrec_desktop.paths import DataDirs
from musicrec_desktop.recommend.service import train_recommender
from musicrec_desktop.settings import Settings
from musicrec_desktop.store.embeddings import EmbeddingStore

DIM = 32
MODEL = "test-encoder"
NOW = time.time()
DAY = 86400
GENRES = ["Rock", "Pop", "Techno", "Jazz", "Country", "Hip-Hop", "Reggae", "Metal", "House", "Blues"]


@dataclass
class Library:
    ctx: AppContext
    scan: LibraryScan
    vectors: dict[str, np.ndarray]  # key -> unit vector
    music: Path

    def song(self, key: str) -> Song:
        return self.scan.by_key()[key]


def build_library(root: Path, *, n_artists: int = 10, per_artist: int = 8, rated_artists: int = 10,
                  seed: int = 0, settings: Settings | None = None) -> Library:
    """Artist i sings in style i (a cluster); styles 0-2 are loved, 7-9 disliked. Songs 0-3 of
    the first ``rated_artists`` artists carry a rating that follows the style, plus noise. The
    recommender is trained on it, as the pipeline's rating stage leaves it."""
    rng = np.random.default_rng(seed)
    centres = rng.standard_normal((n_artists, DIM)).astype(np.float32)
    music = root / "music"
    songs, vectors = [], {}
    for a in range(n_artists):
        for j in range(per_artist):
            path = music / f"Artist {a}" / f"Song {a}-{j}.flac"
            v = centres[a] + 0.5 * rng.standard_normal(DIM).astype(np.float32)
            v /= np.linalg.norm(v)
            liking = 1.0 - a / (n_artists - 1)  # 1 for style 0, 0 for the last style
            rating = None
            if a < rated_artists and j < 4:
                rating = float(np.clip(round((0.2 + 0.8 * liking + rng.normal(0, 0.1)) * 10) / 10, 0.2, 1.0))
            song = Song(key=path.as_uri(), url=path.as_uri(), path=path, title=f"Song {a}-{j}",
                        artist=f"Artist {a}", album=f"Album {a}", genre=GENRES[a % len(GENRES)],
                        rating=rating, playcount=int(rng.integers(0, 3)), skipcount=0,
                        lastplayed=int(NOW - 400 * DAY), length_s=180.0 + j)
            songs.append(song)
            vectors[song.key] = v
    dirs = DataDirs.under(root / "data").create()
    with EmbeddingStore(dirs.embeddings_db) as store:
        store.register_model(MODEL, DIM)
        store.put(MODEL, vectors.items())
        store.set_current(MODEL)
    settings = settings or Settings(output_dir=str(root / "out"), recent_days=14, artist_cap=2)
    library = Library(AppContext(dirs, settings), LibraryScan("demo", music, songs), vectors, music)
    train_recommender(settings, dirs, library.scan)  # what the rating stage leaves
    return library


def replace_songs(lib: Library, changes: dict[str, dict]) -> None:
    """Changes fields of songs (by key) in the scan."""
    from dataclasses import replace
    lib.scan.songs = [replace(s, **changes[s.key]) if s.key in changes else s for s in lib.scan.songs]


def add_songs(lib: Library, songs: list[tuple[Song, np.ndarray]]) -> None:
    with EmbeddingStore(lib.ctx.dirs.embeddings_db) as store:
        store.put(MODEL, [(s.key, v / np.linalg.norm(v)) for s, v in songs])
    lib.scan.songs = lib.scan.songs + [s for s, _ in songs]
    lib.vectors.update({s.key: v / np.linalg.norm(v) for s, v in songs})


@pytest.fixture
def library(tmp_path: Path) -> Library:
    return build_library(tmp_path)
