"""The text vectors of the library's words, kept between learnings: after a few songs change,
only their new words are embedded again (the sentence encoder is the slow part of learning).

One file per text encoder under the models folder; it keeps the texts of the latest learning
only, so it never grows beyond the library.
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterable
from pathlib import Path

import numpy as np

from musicrec_desktop.files import atomic_write
from musicrec_desktop.progress import CancelToken, ProgressCallback, RateMeter, ignore_progress
from musicrec_desktop.textsearch.text_encoder import TextEncoder

CHUNK = 256  # texts embedded between two progress reports / cancel checks


def vectors_path(models: Path, text_encoder: str) -> Path:
    return models / f"text_vectors-{text_encoder}.npz"


def text_id(text: str) -> bytes:
    return hashlib.sha256(text.encode()).digest()[:16]


def cached_vectors(encoder: TextEncoder, texts: Iterable[str], path: Path, *,
                   progress: ProgressCallback = ignore_progress,
                   cancel: CancelToken | None = None) -> dict[str, np.ndarray]:
    """text -> its vector (D float32, unit length) for every text given: those kept in ``path``
    are read, the others embedded; ``path`` then keeps exactly these texts."""
    wanted = sorted(set(texts))
    known = _read(path, encoder.dimension)
    found = {t: known[i] for t in wanted if (i := text_id(t)) in known}
    missing = [t for t in wanted if t not in found]
    meter = RateMeter(len(missing))
    for start in range(0, len(missing), CHUNK):
        if cancel is not None:
            cancel.check()
        chunk = missing[start:start + CHUNK]
        found.update(zip(chunk, encoder.embed(chunk), strict=True))
        progress(meter.report("textsearch", start + len(chunk), "embedding the songs' words"))
    if missing or len(known) != len(wanted):
        _write(path, found)
    return found


def _read(path: Path, dimension: int) -> dict[bytes, np.ndarray]:
    try:
        with np.load(path) as npz:
            ids, vectors = npz["ids"], npz["vectors"].astype(np.float32)
    except (OSError, ValueError, KeyError):
        return {}  # none yet, or unreadable: everything is embedded again
    if vectors.ndim != 2 or vectors.shape[1] != dimension or len(ids) != len(vectors):
        return {}
    return {bytes(i): v for i, v in zip(ids, vectors, strict=True)}


def _write(path: Path, found: dict[str, np.ndarray]) -> None:
    texts = sorted(found)
    ids = np.array([np.frombuffer(text_id(t), np.uint8) for t in texts], np.uint8).reshape(-1, 16)
    vectors = np.stack([found[t] for t in texts]) if texts else np.zeros((0, 0), np.float32)
    with atomic_write(path) as tmp, open(tmp, "wb") as fh:
        np.savez(fh, ids=ids, vectors=vectors.astype(np.float32))
