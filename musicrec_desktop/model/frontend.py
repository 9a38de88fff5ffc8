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
# Training views get a random equaliser curve: a smooth gain over the bins, up to +-EQ_DB at any
# bin, made of EQ_WAVES cosines over the 7 octaves. A change of loudness alone would be removed by
# the log and the per-image standardisation; a change of spectral shape is not.
EQ_DB, EQ_WAVES = 6.0, 3


class CQTFrontEnd(nn.Module):
    """(N, samples) float32 mono at ``SAMPLE_RATE`` -> (N, 1, CQT_BINS, frames) float32.

    ``frames = samples // CQT_HOP + 1``. Each image is log-compressed and then standardised on its own
    (zero mean, unit variance over bins and frames): loudness differs between songs and masters and
    should not decide which songs sound alike, while the spectral shape is kept.
    """

    def __init__(self) -> None:
        super().__init__()
        self.cqt = copy.deepcopy(_cqt())  # a copy: moving it to a device must not move the shared one

    def forward(self, wave: torch.Tensor, equalise: torch.Generator | None = None) -> torch.Tensor:
        """equalise: for a training view, a generator that draws each image's random EQ curve."""
        with torch.autocast(wave.device.type, enabled=False):
            mag = self.cqt(wave.float())  # N x bins x frames
            image = torch.log(mag.clamp_min(LOG_FLOOR))
            if equalise is not None:
                image = image + random_eq(image.shape[0], image.shape[1], equalise).to(image.device)
            mean = image.mean(dim=(1, 2), keepdim=True)
            std = image.std(dim=(1, 2), keepdim=True).clamp_min(1e-3)
            return ((image - mean) / std).unsqueeze(1)  # N x 1 x bins x frames


def random_eq(n: int, bins: int, generator: torch.Generator) -> torch.Tensor:
    """n smooth random gain curves over the bins, in natural-log units of magnitude: N x bins x 1.

    Each is a sum of EQ_WAVES cosines of random period (one to a few octaves) and phase, scaled so
    that its largest gain in either direction is a random share of EQ_DB.
    """
    position = torch.linspace(0.0, 1.0, bins)  # 0 at C1, 1 at B7
    cycles = 1.0 + 3.0 * torch.rand(n, EQ_WAVES, 1, generator=generator)  # over the whole range
    phase = 2 * torch.pi * torch.rand(n, EQ_WAVES, 1, generator=generator)
    weight = torch.rand(n, EQ_WAVES, 1, generator=generator)
    curve = (weight * torch.cos(2 * torch.pi * cycles * position + phase)).sum(dim=1)  # N x bins
    peak = curve.abs().amax(dim=1, keepdim=True).clamp_min(1e-6)
    db = EQ_DB * torch.rand(n, 1, generator=generator) * curve / peak
    return (db * (torch.log(torch.tensor(10.0)) / 20.0)).unsqueeze(-1)


@functools.cache
def _cqt() -> nn.Module:
    """The CQT kernels, built once per process (building them takes seconds, copying them does not)."""
    from nnAudio.features import CQT2010v2  # heavy import; only where a model is built

    return CQT2010v2(sr=SAMPLE_RATE, hop_length=CQT_HOP, fmin=CQT_FMIN, n_bins=CQT_BINS,
                     bins_per_octave=CQT_BINS_PER_OCTAVE, output_format="Magnitude", verbose=False)
