"""The two on-disk formats of a cached song: its chunks one after another in a single file.

- ``ogg``: Ogg Vorbis through libsndfile at quality 0.1 (about 0.54 MB a song, see bench/cache.py).
- ``npy``: 16-bit PCM, (samples, 2) int16, memory-mapped on reading (3.84 MB a song).

Where each chunk starts inside the file (in samples) is kept in the cache index, so reading a crop
is a seek and a decode of that crop only.
"""

from __future__ import annotations

import os
from collections.abc import Sequence
from pathlib import Path

import numpy as np
import soundfile as sf

from musicrec_desktop.constants import CHANNELS, SAMPLE_RATE

FORMATS = ("ogg", "npy")
# libsndfile's compression level for Vorbis: 1 - level is the Vorbis quality (0.1 here). Measured on
# real songs: level 0.8 gives 0.63 MB a song, 0.85 0.58 MB (0.62 at worst), 0.9 0.54 MB (0.57 at worst).
OGG_COMPRESSION_LEVEL = 0.9
_PCM_SCALE = np.float32(1.0 / 32768.0)


def suffix(fmt: str) -> str:
    if fmt not in FORMATS:
        raise ValueError(f"unknown cache format {fmt!r}; one of {', '.join(FORMATS)}")
    return fmt


def write_song_file(path: Path, chunks: Sequence[np.ndarray], fmt: str) -> list[int]:
    """Writes the chunks ((n, 2) float32 at 16 kHz each) to ``path``; returns each chunk's offset.

    The file is flushed to disk before returning: the index row that points to it is committed
    afterwards, so a row never names a file whose data may still be lost.
    """
    offsets = list(np.cumsum([0] + [len(c) for c in chunks[:-1]]).tolist())
    if suffix(fmt) == "ogg":
        with sf.SoundFile(str(path), "w", SAMPLE_RATE, CHANNELS, format="OGG", subtype="VORBIS",
                          compression_level=OGG_COMPRESSION_LEVEL) as out:
            for chunk in chunks:
                out.write(chunk)
    else:
        pcm = np.concatenate([np.round(c * 32767.0) for c in chunks]).astype("<i2")
        with open(path, "wb") as out:
            np.save(out, pcm)
    with open(path, "rb+") as fh:
        os.fsync(fh.fileno())
    return offsets


def read_samples(path: Path, fmt: str, offset: int, count: int) -> np.ndarray:
    """``count`` samples from ``offset`` of a song file: (2, count) float32 in [-1, 1]."""
    if suffix(fmt) == "ogg":
        with sf.SoundFile(str(path)) as src:
            src.seek(offset)
            frames = src.read(count, dtype="float32", always_2d=True)
        return np.ascontiguousarray(frames.T)
    pcm = np.load(path, mmap_mode="r")
    out = np.empty((CHANNELS, count), dtype=np.float32)
    out[:] = pcm[offset:offset + count].T
    out *= _PCM_SCALE
    return out
