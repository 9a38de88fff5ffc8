"""MusiCNN's input: the log-compressed mel spectrogram its extractor makes with librosa, without librosa.

musicnn computes ``librosa.feature.melspectrogram(y, sr=16000, n_fft=512, hop_length=256,
n_mels=96)`` (periodic Hann window, centred frames padded with zeros, power 2, Slaney mel scale and
Slaney area normalisation), rounds it to float16 and compresses it with ``log10(10000 x + 1)``.
The float16 rounding is kept; the logarithm is taken in float32 because musicnn's float16
``10000 * x`` overflows to inf (and NaN in every output) wherever the mel power passes 6.55.
"""

from __future__ import annotations

import numpy as np
import torch
from torch import nn

SAMPLE_RATE = 16_000  # Hz, musicnn's configuration.SR
N_FFT = 512  # samples
HOP = 256  # samples
N_MELS = 96
PATCH_FRAMES = 187  # 3 s: librosa.time_to_frames(3, sr=16000, n_fft=512, hop_length=256) + 1
LOG_SCALE = 10_000.0  # log10(LOG_SCALE * mel + 1)

# Slaney's mel scale (librosa's default, htk=False): linear below 1 kHz, logarithmic above.
_MEL_F_SP = 200.0 / 3  # Hz per mel in the linear part
_MIN_LOG_HZ = 1000.0
_MIN_LOG_MEL = _MIN_LOG_HZ / _MEL_F_SP
_LOG_STEP = np.log(6.4) / 27.0


def hz_to_mel(hz: np.ndarray) -> np.ndarray:
    hz = np.asarray(hz, dtype=np.float64)
    linear = hz / _MEL_F_SP
    logarithmic = _MIN_LOG_MEL + np.log(np.maximum(hz, _MIN_LOG_HZ) / _MIN_LOG_HZ) / _LOG_STEP
    return np.where(hz >= _MIN_LOG_HZ, logarithmic, linear)


def mel_to_hz(mel: np.ndarray) -> np.ndarray:
    mel = np.asarray(mel, dtype=np.float64)
    linear = _MEL_F_SP * mel
    logarithmic = _MIN_LOG_HZ * np.exp(_LOG_STEP * (np.maximum(mel, _MIN_LOG_MEL) - _MIN_LOG_MEL))
    return np.where(mel >= _MIN_LOG_MEL, logarithmic, linear)


def mel_filterbank(sr: int = SAMPLE_RATE, n_fft: int = N_FFT, n_mels: int = N_MELS) -> np.ndarray:
    """librosa.filters.mel(sr=sr, n_fft=n_fft, n_mels=n_mels) from 0 Hz to sr/2: n_mels x (1 + n_fft/2)
    float32 triangles, each scaled to unit area (Slaney normalisation)."""
    fft_hz = np.linspace(0, sr / 2, 1 + n_fft // 2)
    edges_hz = mel_to_hz(np.linspace(hz_to_mel(0.0), hz_to_mel(sr / 2), n_mels + 2))
    widths = np.diff(edges_hz)
    ramps = edges_hz[:, None] - fft_hz[None, :]
    rising = -ramps[:-2] / widths[:-1, None]
    falling = ramps[2:] / widths[1:, None]
    weights = np.maximum(0.0, np.minimum(rising, falling))
    weights *= (2.0 / (edges_hz[2:] - edges_hz[:-2]))[:, None]
    return weights.astype(np.float32)


class LogMel(nn.Module):
    """Mono 16 kHz waves -> musicnn's log-mel input.

    waves: B x S float32 -> B x T x 96 float32 with T = 1 + S // 256 (time first, as musicnn feeds it).
    """

    def __init__(self) -> None:
        super().__init__()
        self.register_buffer("window", torch.hann_window(N_FFT, periodic=True), persistent=False)
        self.register_buffer("filters", torch.from_numpy(mel_filterbank()), persistent=False)

    def forward(self, waves: torch.Tensor) -> torch.Tensor:
        spectrum = torch.stft(waves, N_FFT, HOP, window=self.window, center=True, pad_mode="constant",
                              return_complex=True)  # B x 257 x T
        power = spectrum.real.square() + spectrum.imag.square()
        mel = torch.matmul(self.filters, power).transpose(1, 2)  # B x T x 96
        mel = mel.to(torch.float16).to(torch.float32)  # musicnn rounds the mel power to float16
        return torch.log10(LOG_SCALE * mel + 1.0)


def patches(log_mel: torch.Tensor) -> torch.Tensor:
    """Whole non-overlapping 3 s patches of one log-mel, as musicnn's extractor cuts them.

    log_mel: T x 96 -> P x 187 x 96 with P = T // 187. A song shorter than one patch is repeated
    to fill it (musicnn's training padded short songs by repetition), so every song gets a patch.
    """
    frames = log_mel.shape[0]
    if frames < PATCH_FRAMES:
        log_mel = log_mel.repeat(-(-PATCH_FRAMES // max(frames, 1)), 1)[:PATCH_FRAMES]
        frames = PATCH_FRAMES
    count = frames // PATCH_FRAMES
    return log_mel[:count * PATCH_FRAMES].reshape(count, PATCH_FRAMES, N_MELS)
