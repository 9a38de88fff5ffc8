"""The two on-disk formats of a cached song: its chunks one after another in a single file.

- ``ogg``: Ogg Vorbis through libsndfile at quality 0.1 (about 0.54 MB a song, see bench/cache.py).
- ``npy``: 16-bit PCM, (samples, 2) int16, memory-mapped on reading (7.68 MB a song: 4 chunks of
  30 s at 16 kHz, 2 channels of 2 bytes).

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


class IncompleteWrite(Exception):
    """A song file came out short and the library writing it gave no reason (in practice: a full
    disk, a quota or a file size limit)."""

    def __init__(self, path: Path, detail: str) -> None:
        super().__init__(f"{path.name}: {detail}")
        self.path, self.detail = path, detail


def write_song_file(path: Path, chunks: Sequence[np.ndarray], fmt: str) -> list[int]:
    """Writes the chunks ((n, 2) float32 at 16 kHz each) to ``path``; returns each chunk's offset.

    The file is checked and flushed to disk before returning: the index row that points to it is
    committed afterwards, so a row never names a file whose data is short or may still be lost.
    Raises ``OSError`` (with its errno) or ``IncompleteWrite`` when the file cannot be written.
    """
    offsets = list(np.cumsum([0] + [len(c) for c in chunks[:-1]]).tolist())
    if suffix(fmt) == "ogg":
        _write_ogg(path, chunks)
    else:
        pcm = np.concatenate([np.round(c * 32767.0) for c in chunks]).astype("<i2")
        with open(path, "wb") as out:
            try:
                np.save(out, pcm)
            except OSError as exc:
                if exc.errno is not None:
                    raise
                raise IncompleteWrite(path, str(exc)) from exc  # numpy: "N requested and M written"
    with open(path, "rb+") as fh:
        os.fsync(fh.fileno())
    return offsets


def _write_ogg(path: Path, chunks: Sequence[np.ndarray]) -> None:
    # Opening is outside the try: a folder that cannot be written is not a short write.
    out = sf.SoundFile(str(path), "w", SAMPLE_RATE, CHANNELS, format="OGG", subtype="VORBIS",
                       compression_level=OGG_COMPRESSION_LEVEL)
    try:
        with out:
            for chunk in chunks:
                out.write(chunk)
    # libsndfile reports a short write as an error code without errno, and soundfile checks the
    # count with an assert (gone under python -O: hence the length check below).
    except (sf.LibsndfileError, AssertionError) as exc:
        raise IncompleteWrite(path, f"libsndfile stopped writing ({exc or 'short write'})") from exc
    expected = sum(len(c) for c in chunks)
    try:
        written = sf.info(str(path)).frames
    except sf.LibsndfileError as exc:
        raise IncompleteWrite(path, f"the file written cannot be read back ({exc})") from exc
    if written != expected:
        raise IncompleteWrite(path, f"{written} of {expected} samples are in the file")


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
