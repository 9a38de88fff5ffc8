"""The GPU's memory, for the batch size hint, without importing torch (the dialog must open fast)."""

from __future__ import annotations

import logging
import shutil
import subprocess
from functools import lru_cache

log = logging.getLogger(__name__)

SONGS_PER_GB = 4  # 128 songs a batch fit a 32 GB GPU with mixed precision (ResNet-50, 2 views)


@lru_cache(maxsize=1)
def gpu_memory_gb() -> float | None:
    """Total memory of the first NVIDIA GPU in GB, or None when there is none (or no driver)."""
    smi = shutil.which("nvidia-smi")
    if smi is None:
        return None
    try:
        out = subprocess.run([smi, "--query-gpu=memory.total", "--format=csv,noheader,nounits"],
                             capture_output=True, text=True, timeout=5, check=True).stdout
        return float(out.split()[0]) / 1024
    except (OSError, subprocess.SubprocessError, ValueError, IndexError) as exc:
        log.info("no GPU memory figure from nvidia-smi: %s", exc)
        return None


def suggested_batch_size(memory_gb: float | None) -> int:
    if memory_gb is None:
        return 16
    size = int(memory_gb * SONGS_PER_GB)
    return max(8, size - size % 8)


def batch_size_hint(memory_gb: float | None) -> str:
    if memory_gb is None:
        return ("No GPU found: training runs on the CPU; a batch of 16–32 songs keeps it "
                "responsive (and the resnet18 encoder is much faster).")
    return (f"GPU with {memory_gb:.0f} GB: up to about {suggested_batch_size(memory_gb)} songs a "
            "batch fit with mixed precision; it is halved automatically on out-of-memory.")
