"""Backend ``mfcc``: MFCC statistics of each chunk, z-scored over the library once every song is in."""

from __future__ import annotations

import sqlite3

import numpy as np

from musicrec_desktop.encoders.embed import embed_songs
from musicrec_desktop.encoders.features import RAW
from musicrec_desktop.encoders.mfcc import DIMENSION, MfccBackend, mfcc_statistics
from musicrec_desktop.paths import DataDirs
from musicrec_desktop.settings import Settings
from musicrec_desktop.store.embeddings import EmbeddingStore
from tests.model.styles_source import MemorySource, style_library

SR = 16_000


def stored_vectors(dirs: DataDirs, model_id: str) -> dict[str, np.ndarray]:
    """The vectors as written (the store's ``load`` centres and renormalises them)."""
    with sqlite3.connect(dirs.embeddings_db) as db:
        rows = db.execute("SELECT song_key, vector FROM embeddings WHERE model_id=?", (model_id,))
        return {k: np.frombuffer(v, np.float32) for k, v in rows}


def test_mfcc_statistics_of_tones() -> None:
    t = np.arange(SR * 2) / SR
    low = mfcc_statistics((0.5 * np.sin(2 * np.pi * 110 * t)).astype(np.float32))
    high = mfcc_statistics((0.5 * np.sin(2 * np.pi * 3000 * t)).astype(np.float32))
    noise = np.random.default_rng(0).standard_normal(t.size).astype(np.float32)
    loud, quiet = mfcc_statistics(0.3 * noise), mfcc_statistics(0.03 * noise)
    assert low.shape == (DIMENSION,) and low.dtype == np.float32 and np.isfinite(low).all()
    # the first MFCC is the mean log band energy times sqrt(64): 20 dB quieter is log(100) lower
    np.testing.assert_allclose(loud[0] - quiet[0], np.log(100) * np.sqrt(64), rtol=0.01)
    np.testing.assert_allclose(loud[1:26], quiet[1:26], atol=0.05)  # the same spectral shape
    assert abs(low[1] - high[1]) > 10  # the spectral tilt tells a low tone from a high one
    steady = low[3 * 26:]  # a steady tone barely changes from frame to frame
    assert float(np.abs(steady).max()) < 0.5
    assert np.isfinite(mfcc_statistics(np.zeros(100, np.float32))).all()  # shorter than a frame


def test_mfcc_vectors_are_z_scored_over_the_library(tmp_path) -> None:
    settings = Settings(encoder="mfcc", num_workers=0)
    source, _ = style_library(3, 2, 3.0, ("rock", "electronic", "jazz_classical"))
    dirs = DataDirs.under(tmp_path)
    report = embed_songs(settings, dirs, open_source=lambda: source)
    assert (report.backend, report.dim, report.embedded, report.model_id) == ("mfcc", 104, 9, "mfcc104-v1")
    with EmbeddingStore(dirs.embeddings_db) as store:
        raw = store.load_extras(report.model_id, RAW)
    keys = sorted(raw)
    for key in keys:  # raw: the mean of the song's chunk features
        chunks = [mfcc_statistics(c.mean(axis=0)) for c in source.songs[key]]
        np.testing.assert_allclose(raw[key], np.mean(chunks, axis=0), rtol=1e-4, atol=1e-4)
    stored = stored_vectors(dirs, report.model_id)
    z = np.stack([stored[k] for k in keys])
    np.testing.assert_allclose(z.mean(axis=0), 0, atol=1e-4)
    np.testing.assert_allclose(z.std(axis=0), 1, atol=1e-3)
    matrix = np.stack([raw[k] for k in keys])
    np.testing.assert_allclose(z, (matrix - matrix.mean(0)) / matrix.std(0), rtol=1e-3, atol=1e-3)


def test_new_songs_restandardise_the_library(tmp_path) -> None:
    settings = Settings(encoder="mfcc", num_workers=0)
    source, _ = style_library(2, 1, 3.0, ("rock", "electronic"))
    dirs = DataDirs.under(tmp_path)
    embed_songs(settings, dirs, open_source=lambda: source)
    first = stored_vectors(dirs, "mfcc104-v1")
    more, _ = style_library(2, 1, 3.0, ("jazz_classical",), first=10)
    both = MemorySource({**source.songs, **more.songs})
    report = embed_songs(settings, dirs, open_source=lambda: both)
    assert (report.embedded, report.up_to_date) == (2, 4)
    second = stored_vectors(dirs, "mfcc104-v1")
    assert len(second) == 6
    np.testing.assert_allclose(np.stack(list(second.values())).mean(axis=0), 0, atol=1e-4)
    key = next(iter(first))
    assert np.abs(first[key] - second[key]).max() > 0.05  # re-standardised with the new songs
    again = embed_songs(settings, dirs, open_source=lambda: both)
    assert again.embedded == 0
    np.testing.assert_array_equal(stored_vectors(dirs, "mfcc104-v1")[key], second[key])


def test_mfcc_is_always_available(tmp_path) -> None:
    backend = MfccBackend(Settings(), DataDirs.under(tmp_path))
    backend.load("auto")
    assert backend.unavailable() is None and backend.device == "cpu"
