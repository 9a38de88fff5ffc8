"""A chunk source over generated songs of the demo styles, held in memory.

It implements the reading side of the chunk cache (``model.data.ChunkSource``) so that model tests
need no decoding; the test that goes through the real cache is in test_cache_integration.py.
"""

from __future__ import annotations

import functools
from dataclasses import dataclass

import numpy as np

from musicrec_desktop.constants import SAMPLE_RATE
from musicrec_desktop.demo.styles import STYLES, render_song


@dataclass(frozen=True)
class Entry:
    song_key: str
    chunk_seconds: tuple[float, ...]


class MemorySource:
    def __init__(self, songs: dict[str, list[np.ndarray]]) -> None:
        self.songs = songs

    def entries(self) -> list[Entry]:
        return [Entry(k, tuple(c.shape[1] / SAMPLE_RATE for c in chunks)) for k, chunks in self.songs.items()]

    def load_chunk(self, key: str, index: int) -> np.ndarray:
        return self.songs[key][index]

    def load_crop(self, key: str, index: int, start_s: float, duration_s: float) -> np.ndarray:
        start = round(start_s * SAMPLE_RATE)
        return self.songs[key][index][:, start:start + round(duration_s * SAMPLE_RATE)]


@functools.cache
def style_library(per_style: int, chunks: int, chunk_seconds: float, styles: tuple[str, ...] = STYLES,
                  first: int = 0) -> tuple[MemorySource, dict[str, list[str]]]:
    """``per_style`` songs of each style (song numbers from ``first``), ``chunks`` chunks each;
    labels are the style.

    Like the real cache, chunks come from the middle of a song (here its middle half), not from
    the intro, where only a few instruments play.
    """
    songs, labels = {}, {}
    n = round(chunk_seconds * SAMPLE_RATE)
    for s, style in enumerate(styles):
        for i in range(first, first + per_style):
            wave = render_song(style, 1000 * s + i, 2 * chunks * chunk_seconds, SAMPLE_RATE)
            first = wave.shape[1] // 4
            key = f"file:///demo/{style}/{i:03d}.ogg"
            songs[key] = [np.ascontiguousarray(wave[:, first + j * n:first + (j + 1) * n])
                          for j in range(chunks)]
            labels[key] = [style]
    return MemorySource(songs), labels
