"""Training, checkpoints, resume and embedding, end to end on tiny generated libraries (CPU)."""

from __future__ import annotations

import json

import numpy as np
import pytest
import torch

from musicrec_desktop.encoders.embed import embed_songs
from musicrec_desktop.encoders.moco import load_encoder
from musicrec_desktop.errors import Cancelled, ModelError, NotReadyError
from musicrec_desktop.model.checkpoint import checkpoint_path, load_checkpoint, metrics_path, model_id
from musicrec_desktop.model.config import EncoderConfig
from musicrec_desktop.model.frontend import CQTFrontEnd
from musicrec_desktop.model.inference import ChunkEmbedder
from musicrec_desktop.model.schedule import cosine_lr
from musicrec_desktop.model.sources import training_songs
from musicrec_desktop.model.train import _Run, train_encoder
from musicrec_desktop.paths import DataDirs
from musicrec_desktop.progress import CancelToken, ignore_progress
from musicrec_desktop.settings import Settings
from musicrec_desktop.store.embeddings import EmbeddingStore
from tests.model.styles_source import MemorySource, style_library

# encoder = moco: these tests are about the trained encoder (auto may serve with another backend)
SETTINGS = Settings(num_workers=0, device="cpu", backbone="resnet18", batch_size=4, moco_queue=32,
                    warmup_epochs=1, learning_rate=0.05, encoder="moco")
TINY = {"width": 4, "crop_min_seconds": 1.0, "crop_max_seconds": 1.5, "eval_crop_seconds": 1.0,
        "heldout_fraction": 0.25, "bn_splits": 2}
CATEGORIES = ("rock", "electronic", "jazz_classical")


@pytest.fixture(scope="module")
def library():
    return style_library(4, 2, 3.0, CATEGORIES)


def run(tmp_path, library, **kwargs):
    source, labels = library
    return train_encoder(SETTINGS, DataDirs.under(tmp_path), labels=labels, open_source=lambda: source,
                         overrides=TINY, **kwargs)


def make_run(root, library, progress=ignore_progress, cancel=None, **changes) -> _Run:
    """A run over all 12 songs (none held out) that keeps its model in memory for the test."""
    source, labels = library
    songs = training_songs(source, None, labels, CATEGORIES)
    config = EncoderConfig(backbone="resnet18", genre_categories=CATEGORIES, queue_size=32, warmup_epochs=1,
                           learning_rate=0.05).replace(**{**TINY, "heldout_fraction": 0.0, **changes})
    dirs = DataDirs.under(root)
    return _Run(config, torch.device("cpu"), songs, [], lambda: source, 0, checkpoint_path(dirs),
                metrics_path(dirs), progress, cancel)


def out_of_memory_at(batch: int):
    """A forward pre-hook that fails every batch of ``batch`` songs with the error PyTorch raises. A
    GPU running out of memory cannot happen on the CPU; this seam stands in for it."""
    def hook(module, inputs):
        if inputs[0].shape[0] == batch:
            raise torch.OutOfMemoryError("CUDA out of memory (simulated)")
    return hook


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
    # 4 steps: the key encoder follows the query encoder closely (momentum from the run's length)
    assert state["config"]["momentum"] == pytest.approx(0.5)
    records = step_records(root)
    assert [r["step"] for r in records] == list(range(1, report.step + 1))
    assert all(np.isfinite(r["loss"]) and r["lr"] > 0 for r in records)
    last = seen[-1]
    assert last.stage == "encoder" and last.done == last.total
    assert {"epoch", "step", "loss", "moco", "genre", "lr", "samples_per_s"} <= set(last.metrics)


def test_checkpoint_round_trip_gives_identical_outputs(tmp_path, library):
    """The encoder read back from the checkpoint equals the one training left in memory: both
    encoders, batch-norm statistics, the queue and its pointer, the genre head."""
    run_ = make_run(tmp_path, library, batch_size=4, epochs=1)
    run_.fit()
    trained = run_.model.eval()
    loaded, loaded_id = load_encoder(DataDirs.under(tmp_path), torch.device("cpu"))
    assert loaded_id == run_.model_id
    expected, got = trained.state_dict(), loaded.state_dict()
    assert got.keys() == expected.keys()
    for name, tensor in expected.items():
        torch.testing.assert_close(got[name], tensor, rtol=0, atol=0, msg=name)
    assert int(loaded.queue_ptr) == 12  # three batches of 4 keys went into the queue
    # Training moved the key encoder away from the query encoder: comparing both is not one check twice.
    assert not torch.equal(trained.backbone_k.stem[0].weight, trained.backbone_q.stem[0].weight)
    images = torch.randn(3, 1, 84, 40, generator=torch.Generator().manual_seed(0))
    with torch.no_grad():
        for outputs in (lambda m: m.embed(images), lambda m: m.genre_head(m.embed(images)),
                        lambda m: m.head_k(m.backbone_k(images))):
            torch.testing.assert_close(outputs(loaded), outputs(trained), rtol=0, atol=0)
    weights = {f"backbone_q.{k}": v for k, v in loaded.backbone_q.state_dict().items()}
    weights.update({f"genre_head.{k}": v for k, v in loaded.genre_head.state_dict().items()})
    assert model_id("resnet18", weights) == loaded_id


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


def test_resume_after_the_library_changed_keeps_the_held_out_songs_out(tmp_path, library):
    """The held-out songs are drawn from the labelled ones; a resume after their tags changed must
    not draw again (and train on songs it evaluated on): the checkpoint keeps the split."""
    source, labels = library
    first = run(tmp_path, library, epochs=1)
    held = set(load_checkpoint(first.checkpoint)["heldout"])
    assert len(held) == first.songs_heldout == 3
    relabelled = {key: (() if key in held else genres) for key, genres in labels.items()}
    resumed = train_encoder(SETTINGS, DataDirs.under(tmp_path), labels=relabelled,
                            open_source=lambda: source, overrides=TINY, resume=True, epochs=2)
    assert resumed.epoch == 2
    assert (resumed.songs_trained, resumed.songs_heldout) == (9, 3)
    assert set(load_checkpoint(resumed.checkpoint)["heldout"]) == held


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
        _, new_vector = store.load(report.model_id, ["file:///new.ogg"], as_stored=True)
    # The new song (one chunk of an embedded song) has the vector the trained encoder gives that chunk.
    encoder, _ = load_encoder(dirs, torch.device("cpu"))
    embedder = ChunkEmbedder(encoder, CQTFrontEnd(), torch.device("cpu"))
    chunk_vector = embedder([grown.songs["file:///new.ogg"][0].mean(axis=0)])[0][0]
    np.testing.assert_allclose(new_vector[0], chunk_vector / np.linalg.norm(chunk_vector),
                               rtol=1e-5, atol=1e-6)


def test_out_of_memory_halves_the_batch_and_keeps_the_schedule(tmp_path, library, caplog):
    """A batch of 10 runs out of memory: training goes on with 4, and the learning rate follows the
    schedule of batch 10 (epochs of 10 of the 12 songs) over songs seen, through a resume too. With
    batch 4 an epoch holds all 12 songs; a schedule recomputed from it would be 20 % longer."""
    token = CancelToken()

    def cancel_after_third_step(progress):
        if progress.metrics["step"] == 3:
            token.cancel()

    run_ = make_run(tmp_path, library, cancel_after_third_step, token, batch_size=10, epochs=2)
    run_.model.backbone_q.register_forward_pre_hook(out_of_memory_at(10))
    with pytest.raises(Cancelled):
        run_.fit()
    assert "out of memory" in caplog.text and "going on with 4" in caplog.text
    source, labels = library
    resumed = train_encoder(SETTINGS, DataDirs.under(tmp_path), labels=labels, open_source=lambda: source,
                            resume=True)
    assert (resumed.batch_size, resumed.step) == (4, 6)  # two epochs of the 12 songs in batches of 4
    records = step_records(tmp_path)
    seen_before = [r["songs_seen"] - 4 for r in records]
    assert seen_before == [0, 4, 8, 12, 16, 20]
    expected = [cosine_lr(seen, total_steps=2 * 10, warmup_steps=10, base_lr=0.05) for seen in seen_before]
    np.testing.assert_allclose([r["lr"] for r in records], expected, rtol=1e-12)
