"""Backend ``dsp``: bliss-audio's 23 features of each cached chunk, z-scored over the library."""

from __future__ import annotations

import sqlite3

import numpy as np
import pytest
import soundfile

from musicrec_desktop.encoders import dsp
from musicrec_desktop.encoders.dsp import DIMENSION, DspBackend
from musicrec_desktop.encoders.embed import embed_songs
from musicrec_desktop.encoders.features import RAW
from musicrec_desktop.paths import DataDirs
from musicrec_desktop.settings import Settings
from musicrec_desktop.store.embeddings import EmbeddingStore
from tests.model.styles_source import style_library

bliss_audio = pytest.importorskip("bliss_audio")


def analysis(wave: np.ndarray, tmp_path) -> np.ndarray:
    """bliss-audio's own analysis of the wave written as a WAV file, for comparison."""
    path = tmp_path / "expected.wav"
    soundfile.write(path, wave, 16_000, subtype="FLOAT")
    return np.array(bliss_audio.Song(str(path)).analysis, dtype=np.float32)


def test_dsp_vectors_are_blisss_features_z_scored_over_the_library(tmp_path) -> None:
    settings = Settings(encoder="dsp", num_workers=0)
    source, _ = style_library(3, 2, 6.0, ("rock", "electronic", "jazz_classical"))
    dirs = DataDirs.under(tmp_path / "data")
    report = embed_songs(settings, dirs, open_source=lambda: source)
    assert (report.backend, report.dim, report.embedded, report.model_id) == ("dsp", 23, 9, "dsp-bliss23-v1")
    with EmbeddingStore(dirs.embeddings_db) as store:
        raw = store.load_extras(report.model_id, RAW)
    keys = sorted(raw)
    key = keys[0]
    expected = np.mean([analysis(c.mean(axis=0), tmp_path) for c in source.songs[key]], axis=0)
    np.testing.assert_allclose(raw[key], expected, atol=1e-5)
    assert np.abs(raw[key]).max() <= 1.0  # bliss scales each feature to -1..1
    with sqlite3.connect(dirs.embeddings_db) as db:
        stored = dict(db.execute("SELECT song_key, vector FROM embeddings WHERE model_id=?",
                                 (report.model_id,)).fetchall())
    z = np.stack([np.frombuffer(stored[k], np.float32) for k in keys])
    matrix = np.stack([raw[k] for k in keys]).astype(np.float64)
    std = matrix.std(axis=0)
    np.testing.assert_allclose(z, (matrix - matrix.mean(0)) / np.where(std > 1e-9, std, 1), atol=1e-4)


def test_short_and_empty_chunks_are_analysed(tmp_path) -> None:
    backend = DspBackend(Settings(), DataDirs.under(tmp_path))
    backend.load("cuda")
    assert backend.device == "cpu" and backend.unavailable() is None
    tone = (0.3 * np.sin(2 * np.pi * 440 * np.arange(4000) / 16_000)).astype(np.float32)  # 0.25 s
    out = backend.embed([tone, np.zeros(0, np.float32)])
    assert out.vectors.shape == (2, DIMENSION) and np.isfinite(out.vectors).all()
    np.testing.assert_array_equal(out.extras[RAW], out.vectors)


def test_without_bliss_the_backend_says_how_to_install_it(tmp_path, monkeypatch) -> None:
    # bliss-audio is installed here; its absence is simulated.
    monkeypatch.setattr(dsp.importlib.util, "find_spec", lambda name: None)
    assert "pip install bliss-audio" in DspBackend(Settings(), DataDirs.under(tmp_path)).unavailable()
