"""Embedding chunks: batches that run out of memory are halved; how many loader workers feed a device."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from musicrec_desktop.errors import ModelError
from musicrec_desktop.model.config import EncoderConfig
from musicrec_desktop.model.device import GPU_LOADER_WORKERS, loader_workers
from musicrec_desktop.model.frontend import CQTFrontEnd
from musicrec_desktop.model.inference import ChunkEmbedder
from musicrec_desktop.model.moco import MoCo

CPU = torch.device("cpu")


@pytest.fixture(scope="module")
def encoder() -> tuple[MoCo, CQTFrontEnd]:
    torch.manual_seed(0)
    config = EncoderConfig(backbone="resnet18", width=4, projection_dim=4, genre_categories=("a", "b"),
                           queue_size=8)
    return MoCo(config).eval(), CQTFrontEnd()


def waves() -> list[np.ndarray]:
    """Four chunks of 0.5 s and three of 0.75 s, interleaved: two length groups."""
    rng = np.random.default_rng(0)
    return [(0.1 * rng.standard_normal(8000 if i % 3 else 12000)).astype(np.float32) for i in range(7)]


def fail_batches_over(size: int):
    """A forward pre-hook failing every batch larger than ``size`` with the error PyTorch raises: a
    GPU running out of memory cannot happen on the CPU, so this seam stands in for it."""
    def hook(module, inputs):
        if inputs[0].shape[0] > size:
            raise torch.OutOfMemoryError("CUDA out of memory (simulated)")
    return hook


def test_out_of_memory_halves_the_batch_and_gives_the_same_vectors(encoder, caplog):
    model, frontend = encoder
    expected = ChunkEmbedder(model, frontend, CPU)(waves())
    hook = model.backbone_q.register_forward_pre_hook(fail_batches_over(2))
    try:
        embedder = ChunkEmbedder(model, frontend, CPU, batch_size=8)
        got = embedder(waves())
        assert embedder.batch_size == 2
        assert "going on with 4" in caplog.text and "going on with 2" in caplog.text
        caplog.clear()
        embedder(waves())  # a later call starts at the size that worked
        assert "out of memory" not in caplog.text
    finally:
        hook.remove()
    np.testing.assert_allclose(got[0], expected[0], rtol=1e-5, atol=1e-6)
    np.testing.assert_allclose(got[1], expected[1], rtol=1e-5, atol=1e-6)


def test_out_of_memory_with_a_single_chunk_is_an_error(encoder):
    model, frontend = encoder
    hook = model.backbone_q.register_forward_pre_hook(fail_batches_over(0))
    try:
        with pytest.raises(ModelError, match="single chunk"):
            ChunkEmbedder(model, frontend, CPU, batch_size=4)(waves())
    finally:
        hook.remove()


def test_a_gpu_gets_loader_workers_for_all_cores_but_one(monkeypatch):
    cuda = torch.device("cuda:1")  # only the device's type matters; no GPU is needed here
    monkeypatch.setattr("os.cpu_count", lambda: 16)
    assert loader_workers(2, cuda) == GPU_LOADER_WORKERS == 8
    assert loader_workers(12, cuda) == 12  # a larger setting is kept
    monkeypatch.setattr("os.cpu_count", lambda: 4)
    assert loader_workers(2, cuda) == 3
    assert loader_workers(2, CPU) == 2  # on the CPU the setting as it is: the model needs the cores
    assert loader_workers(2, cuda, requested=0) == 0  # --workers wins
