"""Which device trains and embeds, and in which precision."""

from __future__ import annotations

import contextlib
import os

import torch

from musicrec_desktop.errors import ModelError


def resolve_device(text: str) -> torch.device:
    """``auto`` (the first GPU when there is one, else the CPU), ``cpu``, ``cuda`` or ``cuda:N``."""
    if text == "auto":
        return torch.device("cuda" if torch.cuda.is_available() else "cpu")
    try:
        device = torch.device(text)
    except RuntimeError as exc:
        raise ModelError(f"device {text!r}: {exc}") from exc
    if device.type not in ("cpu", "cuda"):
        raise ModelError(f"device {text!r}: only cpu, cuda and cuda:N are supported")
    if device.type == "cuda":
        if not torch.cuda.is_available():
            raise ModelError(f"device {text!r}: this PyTorch build or machine has no usable CUDA GPU")
        if device.index is not None and device.index >= torch.cuda.device_count():
            raise ModelError(f"device {text!r}: only {torch.cuda.device_count()} GPU(s) present")
    return device


def autocast_dtype(device: torch.device) -> torch.dtype | None:
    """bf16 on GPUs that have it, fp16 (with a grad scaler) on older ones, None (fp32) on the CPU."""
    if device.type != "cuda":
        return None
    return torch.bfloat16 if torch.cuda.is_bf16_supported() else torch.float16


def autocast(device: torch.device) -> contextlib.AbstractContextManager:
    dtype = autocast_dtype(device)
    if dtype is None:
        return contextlib.nullcontext()
    return torch.autocast(device.type, dtype=dtype)


# Loader processes a GPU gets when none are asked for: each decodes and augments whole crops on
# one core, so a GPU that steps a batch in a fraction of a second needs several. Eight bounds the
# memory their prefetched batches take; one core stays free for the training process itself.
GPU_LOADER_WORKERS = 8


def loader_workers(configured: int, device: torch.device, requested: int | None = None) -> int:
    """Worker processes for the loaders that feed ``device``.

    ``requested`` (a command's ``--workers``) is used as it is. Otherwise the ``num_workers``
    setting, which on a GPU is raised to ``min(cores - 1, GPU_LOADER_WORKERS)``: its default of 2
    suits building the cache beside a desktop, but leaves a GPU waiting for data.
    """
    if requested is not None:
        return requested
    if device.type != "cuda":
        return configured
    return max(configured, min((os.cpu_count() or 1) - 1, GPU_LOADER_WORKERS))
