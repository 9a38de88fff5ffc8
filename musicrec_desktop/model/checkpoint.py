"""Encoder checkpoints on disk and the model id that names an encoder's embeddings."""

from __future__ import annotations

import hashlib
import os
import tempfile
from pathlib import Path
from typing import Any

import torch

from musicrec_desktop.errors import ModelError
from musicrec_desktop.paths import DataDirs

CHECKPOINT_VERSION = 1


def encoder_dir(dirs: DataDirs) -> Path:
    return dirs.models / "encoder"


def checkpoint_path(dirs: DataDirs) -> Path:
    """The latest checkpoint of the encoder (written every epoch and on cancel)."""
    return encoder_dir(dirs) / "checkpoint.pt"


def metrics_path(dirs: DataDirs) -> Path:
    """The training metrics log, one JSON object per line."""
    return encoder_dir(dirs) / "metrics.jsonl"


def save_checkpoint(path: Path, state: dict[str, Any]) -> None:
    """Writes atomically: a crash while saving leaves the previous checkpoint intact."""
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=".checkpoint-", suffix=".tmp")
    os.close(fd)
    try:
        torch.save({"version": CHECKPOINT_VERSION, **state}, tmp)
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


def load_checkpoint(path: Path, map_location: torch.device | str = "cpu") -> dict[str, Any]:
    if not path.exists():
        raise ModelError(f"{path}: no encoder checkpoint (train the encoder first: musicrec train-encoder)")
    try:
        state = torch.load(path, map_location=map_location, weights_only=False)
    except (OSError, RuntimeError, EOFError, ValueError) as exc:
        raise ModelError(f"{path}: unreadable checkpoint ({exc})") from exc
    if not isinstance(state, dict) or state.get("version") != CHECKPOINT_VERSION:
        raise ModelError(f"{path}: not an encoder checkpoint of version {CHECKPOINT_VERSION}")
    return state


def model_id(backbone: str, weights: dict[str, torch.Tensor]) -> str:
    """``<backbone>-<12 hex>``: a hash of the embedding network's weights and buffers, so the same
    encoder always has the same id and any change of weights gives a new one."""
    digest = hashlib.sha256()
    for name in sorted(weights):
        tensor = weights[name].detach().to("cpu").contiguous()
        digest.update(name.encode())
        digest.update(str(tensor.dtype).encode())
        digest.update(tensor.view(-1).view(torch.uint8).numpy().tobytes() if tensor.numel() else b"")
    return f"{backbone}-{digest.hexdigest()[:12]}"
