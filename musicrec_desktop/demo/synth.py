"""Instruments and drums for the demo songs, in plain numpy.

Every function returns one mono note or hit as a float32 array of shape (n,) at ``sr`` Hz with a
peak of about 1; the composer in ``styles.py`` scales, pans and places them. Filters work on the
spectrum (``np.fft``) because a note is short and a per-sample loop in Python is far too slow.
"""

from __future__ import annotations

import numpy as np

TWO_PI = 2.0 * np.pi


def midi_hz(midi: float) -> float:
    return 440.0 * 2.0 ** ((midi - 69.0) / 12.0)


def _t(n: int, sr: int) -> np.ndarray:
    return np.arange(n, dtype=np.float32) / np.float32(sr)


def decay(n: int, sr: int, seconds: float) -> np.ndarray:
    """Exponential decay envelope, (n,) float32."""
    return np.exp(-_t(n, sr) / np.float32(seconds))


def adsr(n: int, sr: int, attack: float, release: float, sustain: float = 1.0,
         decay_s: float = 0.2) -> np.ndarray:
    """Attack, decay to ``sustain``, release over the last ``release`` seconds; (n,) float32."""
    t = _t(n, sr)
    env = np.minimum(1.0, t / max(attack, 1e-4))
    env *= sustain + (1.0 - sustain) * np.exp(-np.maximum(t - attack, 0) / decay_s)
    r = min(int(release * sr), n)
    if r > 0:
        env[n - r:] *= np.linspace(1.0, 0.0, r, dtype=np.float32)
    return env.astype(np.float32)


def spectral_filter(x: np.ndarray, sr: int, low: float = 0.0, high: float | None = None,
                    order: int = 2) -> np.ndarray:
    """Butterworth-shaped band filter applied in the frequency domain; same shape as ``x``."""
    size = _fast_length(len(x))  # an FFT of a length with a large prime factor is many times slower
    spec = np.fft.rfft(x, size)
    f = np.fft.rfftfreq(size, 1.0 / sr)
    gain = np.ones_like(f)
    if high:
        gain /= np.sqrt(1.0 + (f / high) ** (2 * order))
    if low:
        gain /= np.sqrt(1.0 + (low / np.maximum(f, 1e-3)) ** (2 * order))
    return np.fft.irfft(spec * gain, size)[: len(x)].astype(np.float32)


def _fast_length(n: int) -> int:
    """The smallest 2**a * 3**b * 5**c that is at least ``n``."""
    best = 1 << max(0, (n - 1).bit_length())
    five = 1
    while five < best:
        three = five
        while three < best:
            two = three
            while two < n:
                two *= 2
            best = min(best, two)
            three *= 3
        five *= 5
    return best


def noise(n: int, rng: np.random.Generator) -> np.ndarray:
    return rng.standard_normal(n).astype(np.float32)


def _normalise(x: np.ndarray) -> np.ndarray:
    peak = float(np.max(np.abs(x))) if len(x) else 0.0
    return (x / peak).astype(np.float32) if peak > 0 else x.astype(np.float32)


# -- oscillators --------------------------------------------------------------------------------
def _phase(freq: float | np.ndarray, n: int, sr: int) -> np.ndarray:
    if np.ndim(freq) == 0:
        return (np.arange(n) * (float(freq) / sr)) % 1.0
    return np.cumsum(np.asarray(freq, dtype=np.float64) / sr) % 1.0


def saw(freq: float | np.ndarray, n: int, sr: int) -> np.ndarray:
    """Band-limited sawtooth (PolyBLEP), (n,) float32 in -1..1."""
    phase = _phase(freq, n, sr)
    dt = np.broadcast_to(np.asarray(freq, dtype=np.float64) / sr, phase.shape)
    out = 2.0 * phase - 1.0
    lo = phase < dt
    tl = phase[lo] / dt[lo]
    out[lo] -= tl + tl - tl * tl - 1.0
    hi = phase > 1.0 - dt
    th = (phase[hi] - 1.0) / dt[hi]
    out[hi] -= th * th + th + th + 1.0
    return out.astype(np.float32)


def square(freq: float, n: int, sr: int, width: float = 0.5) -> np.ndarray:
    """Band-limited pulse made from two saws; (n,) float32."""
    a = saw(freq, n, sr)
    shift = int(round(width * sr / freq))
    b = np.roll(a, shift)
    return (0.5 * (a - b)).astype(np.float32)


def sine(freq: float | np.ndarray, n: int, sr: int) -> np.ndarray:
    return np.sin(TWO_PI * _phase(freq, n, sr)).astype(np.float32)


# -- pitched instruments: (freq, n, sr, rng) -> (n,) float32 ------------------------------------
def pluck(freq: float, n: int, sr: int, rng: np.random.Generator, brightness: float = 0.5,
          sustain: float = 0.996) -> np.ndarray:
    """Karplus-Strong string. One period is computed per step, so the loop runs f0 times a second."""
    period = max(2, int(round(sr / freq - 0.5)))
    burst = spectral_filter(noise(period * 4, rng), sr, high=1000 + 9000 * brightness)[:period]
    out = np.empty(n + period, dtype=np.float32)
    out[:period] = burst
    prev_last = np.float32(0.0)
    for start in range(period, n + period, period):
        prev = out[start - period:start]
        shifted = np.concatenate(([prev_last], prev[:-1]))
        block = sustain * 0.5 * (prev + shifted)
        stop = min(start + period, n + period)
        out[start:stop] = block[: stop - start]
        prev_last = prev[-1]
    return _normalise(out[period:] * adsr(n, sr, 0.002, 0.03))


def nylon(freq: float, n: int, sr: int, rng: np.random.Generator) -> np.ndarray:
    return pluck(freq, n, sr, rng, brightness=0.25, sustain=0.995)


def steel(freq: float, n: int, sr: int, rng: np.random.Generator) -> np.ndarray:
    return pluck(freq, n, sr, rng, brightness=0.8, sustain=0.997)


def pluck_bass(freq: float, n: int, sr: int, rng: np.random.Generator) -> np.ndarray:
    return pluck(freq, n, sr, rng, brightness=0.1, sustain=0.998)


def upright(freq: float, n: int, sr: int, rng: np.random.Generator) -> np.ndarray:
    x = pluck(freq, n, sr, rng, brightness=0.05, sustain=0.994)
    return _normalise(x + 0.6 * sine(freq, n, sr) * decay(n, sr, 0.35))


def epiano(freq: float, n: int, sr: int, rng: np.random.Generator) -> np.ndarray:
    """Two-operator FM with a decaying index: a Rhodes-like bell tone."""
    t = _t(n, sr)
    index = 2.5 * decay(n, sr, 0.25) + 0.3
    mod = np.sin(TWO_PI * freq * t)
    tine = 0.15 * np.sin(TWO_PI * freq * 14.0 * t) * decay(n, sr, 0.03)
    x = np.sin(TWO_PI * freq * t + index * mod) + tine
    return _normalise(x * decay(n, sr, 1.2) * adsr(n, sr, 0.003, 0.05))


def bell(freq: float, n: int, sr: int, rng: np.random.Generator) -> np.ndarray:
    t = _t(n, sr)
    x = np.sin(TWO_PI * freq * t + 3.0 * decay(n, sr, 0.6) * np.sin(TWO_PI * freq * 3.5 * t))
    return _normalise(x * decay(n, sr, 0.9) * adsr(n, sr, 0.001, 0.05))


def piano(freq: float, n: int, sr: int, rng: np.random.Generator) -> np.ndarray:
    """Additive: slightly stretched partials, the higher ones dying sooner."""
    t = _t(n, sr)
    x = np.zeros(n, dtype=np.float32)
    for k in range(1, 9):
        fk = freq * k * (1.0 + 0.0004 * k * k)
        if fk > sr * 0.45:
            break
        x += np.sin(TWO_PI * fk * t) * decay(n, sr, 1.6 / k**0.7) / k**1.3
    hammer = spectral_filter(noise(n, rng), sr, high=3000) * decay(n, sr, 0.004) * 0.3
    return _normalise((x + hammer) * adsr(n, sr, 0.002, 0.08))


def organ(freq: float, n: int, sr: int, rng: np.random.Generator) -> np.ndarray:
    t = _t(n, sr)
    vib = 1.0 + 0.003 * np.sin(TWO_PI * 6.0 * t)
    x = np.zeros(n, dtype=np.float32)
    for k, amp in ((0.5, 0.6), (1, 1.0), (2, 0.6), (3, 0.4), (4, 0.25), (6, 0.15)):
        if freq * k < sr * 0.45:
            x += amp * sine(freq * k * vib, n, sr)
    return _normalise(x * adsr(n, sr, 0.01, 0.04))


def dist_guitar(freq: float, n: int, sr: int, rng: np.random.Generator) -> np.ndarray:
    """Two detuned saws through a tanh overdrive and a cabinet-like low-pass."""
    x = saw(freq, n, sr) + saw(freq * 1.004, n, sr) + 0.5 * saw(freq * 2.0, n, sr)
    x = np.tanh(4.0 * x * decay(n, sr, 1.5))
    return _normalise(spectral_filter(x, sr, low=90, high=3500, order=3) * adsr(n, sr, 0.004, 0.03))


def supersaw(freq: float, n: int, sr: int, rng: np.random.Generator) -> np.ndarray:
    x = sum(saw(freq * (1.0 + d), n, sr) for d in (-0.012, -0.005, 0.0, 0.006, 0.011))
    x = spectral_filter(x, sr, high=min(4500.0, sr * 0.4))
    return _normalise(x * adsr(n, sr, 0.08, 0.25, sustain=0.85))


def strings(freq: float, n: int, sr: int, rng: np.random.Generator) -> np.ndarray:
    t = _t(n, sr)
    vib = 1.0 + 0.004 * np.sin(TWO_PI * 5.2 * t + rng.uniform(0, 6.0))
    x = saw(freq * vib, n, sr) + saw(freq * 1.003 * vib, n, sr)
    x = spectral_filter(x, sr, low=150, high=2500, order=2)
    return _normalise(x * adsr(n, sr, 0.18, 0.3))


def fiddle(freq: float, n: int, sr: int, rng: np.random.Generator) -> np.ndarray:
    t = _t(n, sr)
    vib = 1.0 + 0.008 * np.sin(TWO_PI * 5.8 * t) * np.minimum(1.0, t / 0.25)
    slide = 1.0 - 0.03 * decay(n, sr, 0.04)  # a short slide up into the note
    x = spectral_filter(saw(freq * vib * slide, n, sr), sr, low=250, high=4000, order=2)
    return _normalise(x * adsr(n, sr, 0.04, 0.08))


def square_lead(freq: float, n: int, sr: int, rng: np.random.Generator) -> np.ndarray:
    x = spectral_filter(square(freq, n, sr, 0.3), sr, high=5000)
    return _normalise(x * adsr(n, sr, 0.005, 0.05, sustain=0.7))


def saw_lead(freq: float, n: int, sr: int, rng: np.random.Generator) -> np.ndarray:
    t = _t(n, sr)
    vib = 1.0 + 0.005 * np.sin(TWO_PI * 5.5 * t) * np.minimum(1.0, t / 0.3)
    x = spectral_filter(saw(freq * vib, n, sr), sr, high=3500)
    return _normalise(x * adsr(n, sr, 0.01, 0.06, sustain=0.8))


def sine_bass(freq: float, n: int, sr: int, rng: np.random.Generator) -> np.ndarray:
    x = sine(freq, n, sr) + 0.25 * np.tanh(3.0 * sine(freq, n, sr))
    return _normalise(x * adsr(n, sr, 0.005, 0.04))


def synth_bass(freq: float, n: int, sr: int, rng: np.random.Generator) -> np.ndarray:
    x = saw(freq, n, sr) + 0.8 * sine(freq * 0.5, n, sr)
    bright = spectral_filter(x, sr, high=1800)
    dark = spectral_filter(x, sr, high=300)
    env = decay(n, sr, 0.12)  # a filter envelope as a crossfade between two filtered copies
    return _normalise((bright * env + dark * (1.0 - env)) * adsr(n, sr, 0.003, 0.03))


def acid_bass(freq: float, n: int, sr: int, rng: np.random.Generator) -> np.ndarray:
    x = saw(freq, n, sr)
    bright = np.tanh(2.0 * spectral_filter(x, sr, low=200, high=2500, order=4))
    dark = spectral_filter(x, sr, high=400)
    env = decay(n, sr, 0.08)
    return _normalise((bright * env + dark * (1.0 - env)) * adsr(n, sr, 0.002, 0.02))


def bass808(freq: float, n: int, sr: int, rng: np.random.Generator) -> np.ndarray:
    glide = freq * (1.0 + 1.0 * decay(n, sr, 0.02))
    x = np.tanh(1.8 * sine(glide, n, sr))
    return _normalise(x * decay(n, sr, 0.9) * adsr(n, sr, 0.002, 0.06))


INSTRUMENTS = {
    f.__name__: f
    for f in (nylon, steel, pluck_bass, upright, epiano, bell, piano, organ, dist_guitar, supersaw,
              strings, fiddle, square_lead, saw_lead, sine_bass, synth_bass, acid_bass, bass808)
}


# -- drums: (sr, rng, tone) -> (n,) float32; ``tone`` in 0..1 varies the sound per song ---------
def kick(sr: int, rng: np.random.Generator, tone: float) -> np.ndarray:
    n = int(sr * (0.25 + 0.35 * tone))
    t = _t(n, sr)
    f_end = 45.0 + 15.0 * tone
    freq = f_end + (150.0 + 60 * tone) * np.exp(-t / 0.03)
    body = np.sin(TWO_PI * np.cumsum(freq) / sr) * decay(n, sr, 0.12 + 0.25 * tone)
    click = spectral_filter(noise(n, rng), sr, low=1500) * decay(n, sr, 0.003) * 0.4
    return _normalise(np.tanh(1.5 * (body + click)))


def snare(sr: int, rng: np.random.Generator, tone: float) -> np.ndarray:
    n = int(sr * 0.3)
    body = sine(170.0 + 60 * tone, n, sr) * decay(n, sr, 0.05)
    rattle = spectral_filter(noise(n, rng), sr, low=1200, high=9000) * decay(n, sr, 0.08 + 0.1 * tone)
    return _normalise(0.6 * body + rattle)


def clap(sr: int, rng: np.random.Generator, tone: float) -> np.ndarray:
    n = int(sr * 0.35)
    burst = spectral_filter(noise(n, rng), sr, low=900, high=3500)
    env = decay(n, sr, 0.12 + 0.1 * tone) * 0.6
    for offset in (0.0, 0.011, 0.022):
        start = int(offset * sr)
        env[start:] += decay(n - start, sr, 0.006)
    return _normalise(burst * env)


def hat(sr: int, rng: np.random.Generator, tone: float) -> np.ndarray:
    n = int(sr * 0.12)
    return _normalise(spectral_filter(noise(n, rng), sr, low=min(7000.0, sr * 0.3), order=3)
                      * decay(n, sr, 0.015 + 0.03 * tone))


def open_hat(sr: int, rng: np.random.Generator, tone: float) -> np.ndarray:
    n = int(sr * 0.6)
    return _normalise(spectral_filter(noise(n, rng), sr, low=min(6000.0, sr * 0.28), order=3)
                      * decay(n, sr, 0.18 + 0.15 * tone))


def ride(sr: int, rng: np.random.Generator, tone: float) -> np.ndarray:
    n = int(sr * 1.2)
    t = _t(n, sr)
    metal = sum(np.sign(np.sin(TWO_PI * f * (1 + 0.1 * tone) * t))
                for f in (317.0, 421.0, 537.0, 663.0, 851.0, 1129.0))
    x = spectral_filter(metal + noise(n, rng), sr, low=3000, order=2)
    ping = np.sin(TWO_PI * 4200.0 * t) * decay(n, sr, 0.05)
    return _normalise(x * decay(n, sr, 0.5) + 0.5 * ping)


def crash(sr: int, rng: np.random.Generator, tone: float) -> np.ndarray:
    n = int(sr * 2.0)
    return _normalise(spectral_filter(noise(n, rng), sr, low=2500, order=2)
                      * decay(n, sr, 0.6 + 0.4 * tone))


def brush(sr: int, rng: np.random.Generator, tone: float) -> np.ndarray:
    n = int(sr * 0.3)
    env = adsr(n, sr, 0.03, 0.1) * decay(n, sr, 0.12)
    return _normalise(spectral_filter(noise(n, rng), sr, low=1500, high=7000) * env)


def clave(sr: int, rng: np.random.Generator, tone: float) -> np.ndarray:
    n = int(sr * 0.08)
    return _normalise(sine(2400.0 + 400 * tone, n, sr) * decay(n, sr, 0.015))


def conga(sr: int, rng: np.random.Generator, tone: float) -> np.ndarray:
    n = int(sr * 0.3)
    t = _t(n, sr)
    freq = (220.0 + 110 * tone) * (1.0 + 0.15 * np.exp(-t / 0.01))
    slap = spectral_filter(noise(n, rng), sr, low=800, high=5000) * decay(n, sr, 0.01) * 0.5
    return _normalise(sine(freq, n, sr) * decay(n, sr, 0.12) + slap)


def shaker(sr: int, rng: np.random.Generator, tone: float) -> np.ndarray:
    n = int(sr * 0.1)
    return _normalise(spectral_filter(noise(n, rng), sr, low=4000, order=2)
                      * adsr(n, sr, 0.015, 0.02) * decay(n, sr, 0.04))


DRUMS = {f.__name__: f for f in (kick, snare, clap, hat, open_hat, ride, crash, brush, clave, conga,
                                 shaker)}
