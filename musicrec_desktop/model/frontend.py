"""Waveform -> log-CQT image, on the device that trains (nnAudio ``CQT2010v2``).

It runs after the waveform augmentations, in float32 even under autocast: the CQT kernels and the
log are where low precision hurts.
"""

from __future__ import annotations

import copy
import functools

import torch
from torch import nn

from musicrec_desktop.constants import CQT_BINS, CQT_BINS_PER_OCTAVE, CQT_FMIN, CQT_HOP, SAMPLE_RATE

LOG_FLOOR = 1e-5  # magnitudes below this (about -100 dB) are treated as silence


class CQTFrontEnd(nn.Module):
    """(N, samples) float32 mono at ``SAMPLE_RATE`` -> (N, 1, CQT_BINS, frames) float32.

    ``frames = samples // CQT_HOP + 1``. Each image is log-compressed and then standardised on its own
    (zero mean, unit variance over bins and frames): loudness differs between songs and masters and
    should not decide which songs sound alike, while the spectral shape is kept.
    """

    def __init__(self) -> None:
        super().__init__()
        self.cqt = copy.deepcopy(_cqt())  # a copy: moving it to a device must not move the shared one

    def forward(self, wave: torch.Tensor) -> torch.Tensor:
        with torch.autocast(wave.device.type, enabled=False):
            mag = self.cqt(wave.float())  # N x bins x frames
            image = torch.log(mag.clamp_min(LOG_FLOOR))
            mean = image.mean(dim=(1, 2), keepdim=True)
            std = image.std(dim=(1, 2), keepdim=True).clamp_min(1e-3)
            return ((image - mean) / std).unsqueeze(1)  # N x 1 x bins x frames


@functools.cache
def _cqt() -> nn.Module:
    """The CQT kernels, built once per process (building them takes seconds, copying them does not)."""
    from nnAudio.features import CQT2010v2  # heavy import; only where a model is built

    return CQT2010v2(sr=SAMPLE_RATE, hop_length=CQT_HOP, fmin=CQT_FMIN, n_bins=CQT_BINS,
                     bins_per_octave=CQT_BINS_PER_OCTAVE, output_format="Magnitude", verbose=False)
