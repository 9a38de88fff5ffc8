"""Encoder checkpoints on disk and the model id that names an encoder's embeddings.

torch is imported where a checkpoint is written, read or hashed: the tray asks where the
checkpoint is (is there a trained encoder?) and must stay free of torch.
"""

from __future__ import annotations

import hashlib
import os
import tempfile
from pathlib import Path
from typing import TYPE_CHECKING, Any

from musicrec_desktop.errors import ModelError, MusicrecError, StorageError, full_disk_note
from musicrec_desktop.lifetime import process_running
from musicrec_desktop.paths import DataDirs

if TYPE_CHECKING:
    import torch

CHECKPOINT_VERSION = 1
TEMP_PREFIX = ".checkpoint-"  # then the saving process id: .checkpoint-<pid>-<random>.tmp


def encoder_dir(dirs: DataDirs) -> Path:
    return dirs.models / "encoder"


def checkpoint_path(dirs: DataDirs) -> Path:
    """The latest checkpoint of the encoder (written every epoch and on cancel)."""
    return encoder_dir(dirs) / "checkpoint.pt"


def metrics_path(dirs: DataDirs) -> Path:
    """The training metrics log, one JSON object per line."""
    return encoder_dir(dirs) / "metrics.jsonl"


def save_checkpoint(path: Path, state: dict[str, Any]) -> None:
    """Writes atomically: a crash while saving leaves the previous checkpoint intact.

    Temporary files that killed saves left beside it go first. Raises ``StorageError`` naming
    the file when it cannot be written (a full disk).
    """
    import torch

    remove_stale_temporaries(path.parent)
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f"{TEMP_PREFIX}{os.getpid()}-",
                                   suffix=".tmp")
    except OSError as exc:
        raise StorageError.from_os_error(exc, path) from exc
    try:
        # Through a Python file: a full disk is then an OSError (ENOSPC); torch's own writer only
        # says "RuntimeError: [enforce fail at inline_container.cc:672] . unexpected pos".
        with os.fdopen(fd, "wb") as fh:
            torch.save({"version": CHECKPOINT_VERSION, **state}, fh)
        os.replace(tmp, path)
    except BaseException as exc:
        Path(tmp).unlink(missing_ok=True)
        if isinstance(exc, (OSError, RuntimeError)):
            raise _save_error(exc, path) from exc
        raise


def _save_error(exc: OSError | RuntimeError, path: Path) -> MusicrecError:
    cause: BaseException | None = exc
    while cause is not None and not isinstance(cause, OSError):
        cause = cause.__context__
    if cause is not None:
        return StorageError.from_os_error(cause, path)
    full = full_disk_note(path)
    if full:
        return StorageError(path, f"cannot save the checkpoint{full}")
    return ModelError(f"{path}: cannot save the checkpoint ({exc})")


def remove_stale_temporaries(folder: Path) -> list[Path]:
    """Deletes the checkpoint temporary files of saves that were killed (a process that no
    longer runs, or a name from before names held the pid); returns them."""
    removed = []
    for tmp in folder.glob(f"{TEMP_PREFIX}*.tmp"):
        pid = tmp.name[len(TEMP_PREFIX):].split("-", 1)[0]
        if pid.isdigit() and process_running(int(pid)):
            continue  # a save in progress
        tmp.unlink(missing_ok=True)
        removed.append(tmp)
    return removed


def load_checkpoint(path: Path, map_location: torch.device | str = "cpu") -> dict[str, Any]:
    import torch

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
    import torch

    digest = hashlib.sha256()
    for name in sorted(weights):
        tensor = weights[name].detach().to("cpu").contiguous()
        digest.update(name.encode())
        digest.update(str(tensor.dtype).encode())
        digest.update(tensor.view(-1).view(torch.uint8).numpy().tobytes() if tensor.numel() else b"")
    return f"{backbone}-{digest.hexdigest()[:12]}"
