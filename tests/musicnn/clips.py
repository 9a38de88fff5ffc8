"""The short clips behind the MusiCNN golden fixtures, made the same way here and in make_golden.py.

Only numpy, soundfile and soxr: make_golden.py imports this file from a throwaway environment
that has TensorFlow but not this project. Real clips are cut at run time from ../shared/audio and
never copied into the repository.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import soundfile as sf
import soxr

SAMPLE_RATE = 16_000
SECONDS = 6.5  # two whole 3 s patches (187 frames each) of musicnn's extractor

# fixture name -> (file under shared/audio or None for the synthetic clip, start in seconds)
CLIPS: dict[str, tuple[str | None, float]] = {
    "synthetic": (None, 0.0),
    "vibe_ace": ("librosa/Kevin_MacLeod_-_Vibe_Ace.ogg", 20.0),
    "sugar_plum": ("librosa/Kevin_MacLeod_-_P_I_Tchaikovsky_Dance_of_the_Sugar_Plum_Fairy.ogg", 10.0),
}


def synthetic_clip() -> np.ndarray:
    """A plucked-chord riff over noise: deterministic, loud enough to overflow float16 mel power."""
    t = np.arange(int(SECONDS * SAMPLE_RATE)) / SAMPLE_RATE
    notes = (110.0, 164.8, 220.0, 277.2, 329.6)
    x = np.zeros_like(t)
    for i, f in enumerate(notes):
        onset = (t - 0.4 * i) % 1.3
        envelope = np.exp(-4.0 * onset)
        x += 0.25 * envelope * np.sin(2 * np.pi * f * t) + 0.08 * envelope * np.sin(4 * np.pi * f * t)
    x += 0.02 * np.random.default_rng(14).standard_normal(t.size)
    return x.astype(np.float32)


def cut_clip(path: Path, start_s: float) -> np.ndarray:
    """Mono 16 kHz float32 samples of ``path`` from ``start_s``, as librosa.load would make them."""
    info = sf.info(str(path))
    first = int(start_s * info.samplerate)
    x, rate = sf.read(str(path), start=first, stop=first + int(SECONDS * info.samplerate),
                      dtype="float32", always_2d=True)
    return soxr.resample(x.mean(axis=1), rate, SAMPLE_RATE, quality="HQ").astype(np.float32)


def clip(name: str, shared_audio: Path | None) -> np.ndarray:
    source, start = CLIPS[name]
    if source is None:
        return synthetic_clip()
    assert shared_audio is not None
    return cut_clip(shared_audio / source, start)
