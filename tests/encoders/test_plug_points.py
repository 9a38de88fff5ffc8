"""A new encoder backend plugs in through the registry alone: one entry in ``BACKENDS``, nothing
else edited, and the setting, the embed stage and the readers of the store all take it."""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import pytest

from musicrec_desktop.context import AppContext
from musicrec_desktop.encoders.base import Embedded, EncoderBackend
from musicrec_desktop.encoders.choice import open_backend
from musicrec_desktop.encoders.embed import embed_songs
from musicrec_desktop.errors import NotReadyError, SettingsError
from musicrec_desktop.paths import DataDirs
from musicrec_desktop.pipeline import EncoderStage, NotNeeded, PipelineState
from musicrec_desktop.plugpoints import ENCODER_BACKENDS
from musicrec_desktop.progress import CancelToken, ignore_progress
from musicrec_desktop.settings import Settings
from musicrec_desktop.store.embeddings import EmbeddingStore
from tests.model.styles_source import style_library


class ToyBackend:
    """Three hand-made features of a wave, and its loudness as an extra output."""

    name = "toy"
    title = "Toy features"
    needs_training = False

    def __init__(self, settings: Settings, dirs: DataDirs) -> None:
        self.loaded_on = ""

    def unavailable(self) -> str | None:
        return None

    def load(self, device: str) -> None:
        self.loaded_on = "cpu"

    model_id = "toy-v1"
    dimension = 3

    @property
    def device(self) -> str:
        return self.loaded_on

    def embed(self, waves: Sequence[np.ndarray]) -> Embedded:
        rows = [(float(np.sqrt(np.mean(w ** 2))), float(np.mean(np.abs(np.diff(np.sign(w)))) / 2), 1.0)
                for w in waves]
        loudness = np.array([[np.abs(w).max()] for w in waves], dtype=np.float32)
        return Embedded(np.array(rows, dtype=np.float32), {"loudness": loudness})


@pytest.fixture
def toy(monkeypatch):
    monkeypatch.setitem(ENCODER_BACKENDS, "toy", ToyBackend)  # the one registry line a new backend adds
    return Settings(encoder="toy", num_workers=0, device="cpu")


def test_toy_backend_is_chosen_by_the_setting_and_follows_the_protocol(toy, tmp_path):
    backend = open_backend(toy, DataDirs.under(tmp_path))
    assert isinstance(backend, ToyBackend) and isinstance(backend, EncoderBackend)


def test_without_its_registry_line_the_name_is_refused():
    with pytest.raises(SettingsError, match="one of auto, moco"):
        Settings(encoder="toy")


def test_toy_backend_embeds_songs_into_the_store_under_its_own_model_id(toy, tmp_path):
    source, _ = style_library(2, 2, 1.0, ("rock", "electronic"))
    dirs = DataDirs.under(tmp_path)
    report = embed_songs(toy, dirs, open_source=lambda: source)
    assert (report.backend, report.model_id, report.dim, report.embedded) == ("toy", "toy-v1", 3, 4)
    with EmbeddingStore(dirs.embeddings_db) as store:
        assert store.current_model("toy") == "toy-v1"
        assert store.current_model("moco") is None  # the trained encoder's readers see nothing
        assert store.chosen_model(toy.encoder) == "toy-v1"
        with pytest.raises(NotReadyError, match="moco"):
            store.chosen_model("moco")
        keys, vectors = store.load("toy-v1", as_stored=True)
        loudness = store.load_extras("toy-v1", "loudness")
    key = keys[0]
    chunks = [c.mean(axis=0) for c in source.songs[key]]  # the loader mixes stereo chunks to mono
    mean = ToyBackend(toy, dirs).embed(chunks).vectors.mean(axis=0)
    np.testing.assert_allclose(vectors[0], mean / np.linalg.norm(mean), rtol=1e-5)
    np.testing.assert_allclose(loudness[key], [np.mean([np.abs(c).max() for c in chunks])], rtol=1e-5)


def test_encoder_stage_trains_nothing_for_a_backend_that_needs_no_training(toy, tmp_path):
    ctx = AppContext(DataDirs.under(tmp_path), toy)
    stage, state = EncoderStage(), PipelineState()
    with pytest.raises(NotNeeded) as nothing:
        stage.run(ctx, state, ignore_progress, CancelToken())
    assert nothing.value.figures == {"backend": "toy", "trained": False}
    assert nothing.value.reason == "toy needs no training"
    assert not (ctx.dirs.models / "encoder").exists()
