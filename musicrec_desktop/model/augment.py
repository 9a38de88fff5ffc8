"""Waveform augmentations for one training view, in numpy (they run in the loader's workers).

Order: mixup (stereo) -> channel select -> noise, so that the noise level is measured against the
signal the encoder finally hears. A change of gain is no augmentation here: the log-CQT image is
standardised on its own, which removes it; the front end's random equaliser (``frontend.random_eq``)
changes the spectral shape instead.
"""

from __future__ import annotations

import numpy as np

NOISE_P, NOISE_SNR_DB = 0.5, (25.0, 35.0)
CHANNEL_P = 0.5  # else the average of both channels
MIXUP_P, MIXUP_ALPHA = 0.5, 0.1


def mixup(wave: np.ndarray, partner: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    """``lam * wave + (1 - lam) * partner`` with lam ~ Beta(alpha, alpha) folded to >= 0.5, so the
    view stays mostly its own song. wave, partner: (2, n) float32."""
    lam = float(rng.beta(MIXUP_ALPHA, MIXUP_ALPHA))
    lam = max(lam, 1.0 - lam)
    return (lam * wave + (1.0 - lam) * partner).astype(np.float32)


def to_mono(wave: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    """(2, n) -> (n,): with probability CHANNEL_P left, right or average at random, else average."""
    if rng.random() < CHANNEL_P:
        choice = int(rng.integers(3))
        if choice < 2:
            return wave[choice].astype(np.float32)
    return wave.mean(axis=0).astype(np.float32)


def add_noise(wave: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    """White Gaussian noise at a signal-to-noise ratio drawn from NOISE_SNR_DB. wave: (n,) float32."""
    snr_db = rng.uniform(*NOISE_SNR_DB)
    power = float(np.mean(wave.astype(np.float64) ** 2))
    if power <= 0.0:
        return wave
    std = np.sqrt(power / 10.0 ** (snr_db / 10.0))
    return (wave + rng.normal(0.0, std, wave.shape)).astype(np.float32)


def augment_view(wave: np.ndarray, partner: np.ndarray | None, rng: np.random.Generator) -> np.ndarray:
    """One training view. wave: (2, n) float32 crop; partner: (2, n) crop of another song of the same
    genre or None (no mixup). Returns (n,) float32 mono."""
    if partner is not None:
        wave = mixup(wave, partner, rng)
    mono = to_mono(wave, rng)
    if rng.random() < NOISE_P:
        mono = add_noise(mono, rng)
    return mono
