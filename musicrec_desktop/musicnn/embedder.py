"""Waves -> MusiCNN's 200-d penultimate features and 50 tag probabilities, averaged over 3 s patches."""

from __future__ import annotations

import ctypes
from collections.abc import Sequence

import numpy as np
import torch

from musicrec_desktop.musicnn.mel import LogMel, patches
from musicrec_desktop.musicnn.network import EMBEDDING_DIM, MusiCNN
from musicrec_desktop.musicnn.package import checkpoint_prefix
from musicrec_desktop.musicnn.tags import MSD_TAGS
from musicrec_desktop.musicnn.tf_checkpoint import TFCheckpoint

# The 7x38 timbral maps take ~9 MB a patch. With 4 patches a forward every map stays under glibc's
# largest mmap threshold, so once ``keep_buffers_in_heap`` has raised it the maps are reused from
# the heap instead of being mapped and page-faulted in afresh each time. Measured on the dev library
# (`/usr/bin/time -v musicrec embed --backend musicnn --device cpu`, 199 songs, 2 cores): 3.65 -> 9.98
# songs/s, system time 17.6 -> 0.6 s, peak RSS 1.2 GB -> 419 MB against 32 patches and the defaults.
PATCHES_PER_FORWARD = 4
MMAP_THRESHOLD = 32 << 20  # glibc's ceiling for M_MMAP_THRESHOLD on 64-bit
TRIM_THRESHOLD = 128 << 20  # freed heap kept for the next forward; above it, given back


def keep_buffers_in_heap() -> None:
    """Lets glibc's malloc keep the network's large buffers in the heap between forwards (process
    wide, like its own adaptive threshold does after the first free). Elsewhere (musl, macOS) it
    does nothing."""
    try:
        mallopt = ctypes.CDLL(None).mallopt
    except (OSError, AttributeError):
        return
    mallopt(-3, MMAP_THRESHOLD)  # M_MMAP_THRESHOLD
    mallopt(-1, TRIM_THRESHOLD)  # M_TRIM_THRESHOLD


class MusiCNNEmbedder:
    """``features, tags = MusiCNNEmbedder(device)(waves)``: one row per wave.

    waves: (n_i,) float32 mono 16 kHz each, any length (shorter than 3 s: repeated to 3 s).
    features: N x 200 float32, the mean of the penultimate layer over the wave's whole 3 s patches;
    tags: N x 50 float32, the mean tag probabilities (``network.MSD_TAGS`` order).
    """

    def __init__(self, device: torch.device, prefix: str | None = None) -> None:
        self.device = device
        self.network = MusiCNN()
        self.network.load_weights(TFCheckpoint(prefix or checkpoint_prefix()))
        self.network.to(device).eval()
        if torch.device(device).type == "cpu":
            keep_buffers_in_heap()
        self.log_mel = LogMel().to(device)

    @torch.no_grad()
    def __call__(self, waves: Sequence[np.ndarray]) -> tuple[np.ndarray, np.ndarray]:
        pieces, owners = [], []
        for i, wave in enumerate(waves):
            mel = self.log_mel(torch.as_tensor(np.ascontiguousarray(wave), dtype=torch.float32,
                                               device=self.device)[None])[0]
            wave_patches = patches(mel)  # P_i x 187 x 96
            pieces.append(wave_patches)
            owners += [i] * wave_patches.shape[0]
        if not pieces:
            return np.zeros((0, EMBEDDING_DIM), np.float32), np.zeros((0, len(MSD_TAGS)), np.float32)
        all_patches = torch.cat(pieces)
        features, tags = [], []
        for start in range(0, all_patches.shape[0], PATCHES_PER_FORWARD):
            f, t = self.network(all_patches[start:start + PATCHES_PER_FORWARD])
            features.append(f)
            tags.append(t)
        owner = torch.as_tensor(owners, device=self.device)
        return _means(torch.cat(features), owner, len(waves)), _means(torch.cat(tags), owner, len(waves))


def _means(rows: torch.Tensor, owner: torch.Tensor, n: int) -> np.ndarray:
    """Per-wave mean of patch rows: P x K -> n x K float32 numpy."""
    sums = torch.zeros(n, rows.shape[1], device=rows.device).index_add_(0, owner, rows)
    counts = torch.bincount(owner, minlength=n).clamp(min=1).unsqueeze(1)
    return (sums / counts).cpu().numpy().astype(np.float32)
