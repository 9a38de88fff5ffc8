"""Training, checkpoints, resume and embedding, end to end on tiny generated libraries (CPU)."""

from __future__ import annotations

import json

import numpy as np
import pytest
import torch

from musicrec_desktop.errors import Cancelled, ModelError, NotReadyError
from musicrec_desktop.model.checkpoint import checkpoint_path, load_checkpoint, metrics_path, model_id
from musicrec_desktop.model.embed import embed_songs, load_encoder
from musicrec_desktop.model.train import train_encoder
from musicrec_desktop.paths import DataDirs
from musicrec_desktop.progress import CancelToken
from musicrec_desktop.settings import Settings
from musicrec_desktop.store.embeddings import EmbeddingStore
from tests.model.styles_source import MemorySource, style_library

SETTINGS = Settings(num_workers=0, device="cpu", backbone="resnet18", batch_size=4, moco_queue=32,
                    warmup_epochs=1, learning_rate=0.05)
TINY = {"width": 4, "crop_min_seconds": 1.0, "crop_max_seconds": 1.5, "eval_crop_seconds": 1.0,
        "heldout_fraction": 0.25, "bn_splits": 2}


@pytest.fixture(scope="module")
def library():
    return style_library(4, 2, 3.0, ("rock", "electronic", "jazz_classical"))


def run(tmp_path, library, **kwargs):
    source, labels = library
    return train_encoder(SETTINGS, DataDirs.under(tmp_path), labels=labels, open_source=lambda: source,
                         overrides=TINY, **kwargs)


def step_records(tmp_path):
    lines = metrics_path(DataDirs.under(tmp_path)).read_text().splitlines()
    return [r for r in map(json.loads, lines) if r["kind"] == "step"]


@pytest.fixture(scope="module")
def trained(tmp_path_factory, library):
    """One short run shared by the tests that only read its results: (data folder, report, progress)."""
    root = tmp_path_factory.mktemp("trained")
    seen = []
    return root, run(root, library, epochs=2, progress=seen.append), seen


def test_training_writes_checkpoint_metrics_and_progress(trained):
    root, report, seen = trained
    assert report.epochs_run == 2 and report.epoch == 2
    assert (report.songs_trained, report.songs_heldout, report.batch_size) == (9, 3, 4)
    assert report.step == 2 * 2  # two full batches of 4 out of 9 songs, each epoch
    assert 0.0 <= report.genre_map <= 1.0 and 0.0 <= report.knn_accuracy <= 1.0
    assert 0.0 <= report.data_wait_share < 1.0
    assert [h["epoch"] for h in report.history] == [1, 2]
    state = load_checkpoint(report.checkpoint)
    assert {"model", "optimizer", "scheduler", "scaler", "rng", "config", "epoch", "step"} <= set(state)
    assert state["config"]["width"] == 4 and state["model_id"] == report.model_id
    records = step_records(root)
    assert [r["step"] for r in records] == list(range(1, report.step + 1))
    assert all(np.isfinite(r["loss"]) and r["lr"] > 0 for r in records)
    last = seen[-1]
    assert last.stage == "encoder" and last.done == last.total
    assert {"epoch", "step", "loss", "moco", "genre", "lr", "samples_per_s"} <= set(last.metrics)


def test_checkpoint_round_trip_gives_identical_outputs(trained):
    root, report, _ = trained
    first, first_id = load_encoder(DataDirs.under(root), torch.device("cpu"))
    second, second_id = load_encoder(DataDirs.under(root), torch.device("cpu"))
    images = torch.randn(3, 1, 84, 40)
    with torch.no_grad():
        torch.testing.assert_close(first.embed(images), second.embed(images), rtol=0, atol=0)
    assert first_id == second_id == report.model_id
    torch.testing.assert_close(first.queue, second.queue, rtol=0, atol=0)
    weights = {f"backbone_q.{k}": v for k, v in first.backbone_q.state_dict().items()}
    weights.update({f"genre_head.{k}": v for k, v in first.genre_head.state_dict().items()})
    assert model_id("resnet18", weights) == first_id


def test_resume_after_cancel_continues_the_same_steps_and_losses(tmp_path, library):
    straight = run(tmp_path / "straight", library, epochs=3)
    expected = step_records(tmp_path / "straight")

    token = CancelToken()

    def cancel_after_third_step(progress):
        if progress.metrics["step"] == 3:
            token.cancel()

    with pytest.raises(Cancelled):
        run(tmp_path / "stopped", library, epochs=3, progress=cancel_after_third_step, cancel=token)
    assert load_checkpoint(checkpoint_path(DataDirs.under(tmp_path / "stopped")))["step"] == 3
    resumed = run(tmp_path / "stopped", library, resume=True)
    got = step_records(tmp_path / "stopped")
    assert resumed.step == straight.step
    assert [r["step"] for r in got] == [r["step"] for r in expected]
    np.testing.assert_allclose([r["loss"] for r in got], [r["loss"] for r in expected], rtol=1e-5)
    assert resumed.model_id == straight.model_id  # the very same weights


def test_resume_without_checkpoint_is_an_error(tmp_path, library):
    with pytest.raises(ModelError, match="no encoder checkpoint"):
        run(tmp_path, library, epochs=1, resume=True)


def test_too_few_cached_songs_is_not_ready(tmp_path):
    source = MemorySource({"a": [np.zeros((2, 16000), np.float32)]})
    with pytest.raises(NotReadyError):
        train_encoder(SETTINGS, DataDirs.under(tmp_path), labels={}, open_source=lambda: source)


def test_embed_only_missing_songs_and_set_current(trained, library, tmp_path):
    source, _ = library
    with pytest.raises(NotReadyError):
        embed_songs(SETTINGS, DataDirs.under(tmp_path), open_source=lambda: source)
    root, report, _ = trained
    dirs = DataDirs.under(root)
    first = embed_songs(SETTINGS, dirs, open_source=lambda: source)
    assert (first.model_id, first.embedded, first.up_to_date, first.dim) == (report.model_id, 12, 0, 32)
    with EmbeddingStore(dirs.embeddings_db) as store:
        assert store.current_model() == report.model_id
        keys, vectors = store.load(report.model_id)
    assert len(keys) == 12
    np.testing.assert_allclose(np.linalg.norm(vectors, axis=1), 1.0, rtol=1e-5)
    again = embed_songs(SETTINGS, dirs, open_source=lambda: source)
    assert (again.embedded, again.up_to_date) == (0, 12)
    # A new song is embedded with the existing encoder, without retraining.
    grown = MemorySource({**source.songs, "file:///new.ogg": source.songs[keys[0]][:1]})
    added = embed_songs(SETTINGS, dirs, open_source=lambda: grown)
    assert (added.embedded, added.up_to_date, added.model_id) == (1, 12, report.model_id)
    with EmbeddingStore(dirs.embeddings_db) as store:
        _, new_vector = store.load(report.model_id, ["file:///new.ogg"])
    # One chunk of an embedded song: the new song lands near that song.
    assert float(new_vector[0] @ vectors[0]) > 0.9


def test_out_of_memory_halves_the_batch_with_a_warning(tmp_path, library, caplog):
    """A GPU running out of memory cannot be produced on the CPU: the first large batch raises
    the error PyTorch raises, from a hook in front of the query encoder."""
    from musicrec_desktop.model.config import EncoderConfig
    from musicrec_desktop.model.sources import training_songs
    from musicrec_desktop.model.train import _Run
    from musicrec_desktop.progress import ignore_progress

    source, labels = library
    songs = training_songs(source, None, labels, ("rock", "electronic", "jazz_classical"))
    config = EncoderConfig(backbone="resnet18", genre_categories=("rock", "electronic", "jazz_classical"),
                           batch_size=12, epochs=1, queue_size=32).replace(**TINY)
    dirs = DataDirs.under(tmp_path)
    run_ = _Run(config, torch.device("cpu"), songs, [], lambda: source, 0, checkpoint_path(dirs),
                metrics_path(dirs), ignore_progress, None)

    def out_of_memory_once(module, inputs):
        if inputs[0].shape[0] == 12:
            raise torch.OutOfMemoryError("CUDA out of memory (simulated)")

    run_.model.backbone_q.register_forward_pre_hook(out_of_memory_once)
    report = run_.fit()
    assert report.batch_size == 6
    assert report.step == 2  # the 12 songs of the epoch, in two batches of 6
    assert "out of memory" in caplog.text and "going on with 6" in caplog.text
