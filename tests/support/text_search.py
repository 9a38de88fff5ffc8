"""A small real library that text search has learnt: tagged FLAC files in a folder, embeddings
around one centre per genre in a real store, and the real alignment (``learn_alignment``, the
text search stage's job) with the real text encoder."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import soundfile as sf
from mutagen.flac import FLAC

from musicrec_desktop.context import AppContext
from musicrec_desktop.library import load_library
from musicrec_desktop.store.embeddings import EmbeddingStore
from tests.app.tiny import make_ctx

# Genre tag -> the artist of its songs and their decade. No tag says "orchestral" or "rap":
# the tests search for words that are in none of the tags.
GENRES = {"Classical": ("The Court Quartet", 1970), "Rock": ("The Rusty Amps", 1990),
          "Hip-Hop": ("MC Concrete", 2000), "Jazz": ("Blue Room Trio", 1960)}
MODEL = "encoder-test"  # the song vectors' model id


def write_tagged_song(path: Path, freq: float, genre: str, artist: str, year: int, seconds: float) -> Path:
    t = np.arange(int(16000 * seconds)) / 16000
    sf.write(path, (0.2 * np.sin(2 * np.pi * freq * t)).astype(np.float32), 16000)
    tags = FLAC(path)
    tags["title"], tags["artist"], tags["genre"] = path.stem, artist, genre
    tags["album"], tags["date"] = f"{genre} collection", str(year)
    tags.save()
    return path


def aligned_library(root: Path, songs: int = 40, seconds: float = 1.0, align: bool = True) -> AppContext:
    """``songs`` songs of ``seconds`` each, ``genre-NN`` by name, cycling through ``GENRES``;
    their embeddings in the store; with ``align``, text search learnt on them."""
    from musicrec_desktop.textsearch.service import learn_alignment

    music = root / "music"
    music.mkdir(parents=True)
    names = list(GENRES)
    for i in range(songs):
        genre = names[i % len(names)]
        artist, decade = GENRES[genre]
        write_tagged_song(music / f"{genre.lower()}-{i:02d}.flac", 200.0 + 15 * i, genre, artist,
                          decade + i % 10, seconds)
    ctx = make_ctx(root, music, output_dir=str(root / "playlists"))
    scan = load_library(ctx.settings, ctx.dirs)
    rng = np.random.default_rng(0)
    centres = {g: rng.normal(0, 3, 16) for g in GENRES}
    with EmbeddingStore(ctx.dirs.embeddings_db) as store:
        store.register_model(MODEL, 16)
        store.set_current(MODEL)
        store.put(MODEL, [(s.key, centres[s.genre] + rng.normal(0, 1, 16)) for s in scan.songs])
    if align:
        learn_alignment(ctx.settings, ctx.dirs, scan)
    return ctx
