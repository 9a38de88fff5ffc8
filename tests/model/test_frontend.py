"""The CQT front end: the signal-path constants, image shapes, tones in their bins, normalisation."""

from __future__ import annotations

import math

import numpy as np
import pytest
import torch

from musicrec_desktop.constants import CQT_BINS, CQT_BINS_PER_OCTAVE, CQT_FMIN, CQT_HOP, SAMPLE_RATE
from musicrec_desktop.model.frontend import CQTFrontEnd


@pytest.fixture(scope="module")
def frontend() -> CQTFrontEnd:
    return CQTFrontEnd()


def noise(*shape: int) -> torch.Tensor:
    return torch.randn(*shape, generator=torch.Generator().manual_seed(0))


def tone(hz: float, seconds: float = 2.0, amplitude: float = 0.5) -> torch.Tensor:
    t = np.arange(int(seconds * SAMPLE_RATE)) / SAMPLE_RATE
    return torch.tensor(amplitude * np.sin(2 * np.pi * hz * t), dtype=torch.float32)


def test_signal_path_constants():
    assert SAMPLE_RATE == 16_000
    assert (CQT_BINS, CQT_BINS_PER_OCTAVE, CQT_HOP) == (84, 12, 512)
    assert pytest.approx(440.0 * 2 ** (-45 / 12), rel=1e-9) == CQT_FMIN  # C1, 45 semitones below A4
    assert round(CQT_FMIN, 2) == 32.70


def test_frontend_builds_its_transform_from_the_constants(frontend):
    cqt = frontend.cqt
    assert (cqt.hop_length, cqt.n_bins) == (CQT_HOP, CQT_BINS)
    frequencies = np.asarray(cqt.frequencies)
    assert len(frequencies) == CQT_BINS
    assert frequencies[0] == pytest.approx(CQT_FMIN, rel=1e-6)
    np.testing.assert_allclose(frequencies[1:] / frequencies[:-1], 2 ** (1 / 12), rtol=1e-6)
    assert frequencies[-1] < SAMPLE_RATE / 2  # B7, about 3951 Hz, below Nyquist


@pytest.mark.parametrize("samples", [10 * CQT_HOP, 10 * CQT_HOP + 511, 7777, SAMPLE_RATE, 5 * SAMPLE_RATE])
def test_image_shape_dtype_and_finite(frontend, samples):
    waves = noise(3, samples) * 0.1
    images = frontend(waves)
    assert images.shape == (3, 1, CQT_BINS, samples // CQT_HOP + 1)  # nnAudio centres its frames
    assert images.dtype == torch.float32
    assert bool(torch.isfinite(images).all())


def test_half_precision_input_gives_a_float32_image(frontend):
    images = frontend((noise(2, SAMPLE_RATE) * 0.1).to(torch.bfloat16))
    assert images.dtype == torch.float32 and bool(torch.isfinite(images).all())


@pytest.mark.parametrize("hz", [440.0, 1000.0, 110.0])
def test_a_tone_lands_in_its_semitone_bin(frontend, hz):
    """Checks sample rate and fmin together: the loudest bin is 12 * log2(hz / fmin), rounded."""
    image = frontend(tone(hz)[None])[0, 0]  # bins x frames
    loudest = int(image[:, 5:-5].mean(dim=1).argmax())
    assert loudest == round(12 * math.log2(hz / CQT_FMIN))  # A4 -> 45, 1 kHz -> 59, A2 -> 21


def test_each_image_is_standardised_on_its_own(frontend):
    waves = torch.stack([tone(220.0) + 0.01 * noise(2 * SAMPLE_RATE),
                         0.001 * noise(2 * SAMPLE_RATE),
                         tone(3000.0, amplitude=0.9)])
    images = frontend(waves)
    per_image = images.flatten(start_dim=1)
    torch.testing.assert_close(per_image.mean(dim=1), torch.zeros(3), rtol=0, atol=1e-4)
    torch.testing.assert_close(per_image.std(dim=1), torch.ones(3), rtol=1e-3, atol=0)


def test_loudness_does_not_change_the_image(frontend):
    wave = tone(330.0) + 0.05 * noise(2 * SAMPLE_RATE)
    quiet, loud = frontend(torch.stack([0.1 * wave, wave]))
    torch.testing.assert_close(quiet, loud, rtol=1e-3, atol=1e-3)  # float32 rounding of the log


def test_the_training_equaliser_changes_the_standardised_image(frontend):
    """A gain change is standardised away (above); the random EQ of a training view is not: the
    image is the standardised log image plus one curve over the bins, the same in every frame."""
    from musicrec_desktop.model.frontend import random_eq

    wave = (tone(330.0) + 0.05 * noise(2 * SAMPLE_RATE))[None]
    plain = frontend(wave)[0, 0]
    changed = frontend(wave, torch.Generator().manual_seed(3))[0, 0]
    assert float((changed - plain).abs().mean()) > 0.05  # not removed by the standardisation
    torch.testing.assert_close(frontend(wave, torch.Generator().manual_seed(3))[0, 0], changed)
    curve = random_eq(1, CQT_BINS, torch.Generator().manual_seed(3))[0]  # bins x 1
    expected = torch.log(frontend.cqt(wave).clamp_min(1e-5))[0] + curve
    expected = (expected - expected.mean()) / expected.std()
    torch.testing.assert_close(changed, expected, rtol=1e-4, atol=1e-4)


def test_equaliser_curves_are_smooth_and_bounded():
    from musicrec_desktop.model.frontend import EQ_DB, random_eq

    curves = random_eq(64, CQT_BINS, torch.Generator().manual_seed(0))[..., 0]  # 64 x bins, log units
    db = curves * 20.0 / math.log(10.0)
    assert float(db.abs().max()) <= EQ_DB + 1e-4
    assert float(db.abs().amax(dim=1).mean()) > EQ_DB / 4  # not all flat
    assert float((db[:, 1:] - db[:, :-1]).abs().max()) < 2.0  # smooth: under 2 dB a semitone
    assert len({round(float(c), 3) for c in db[:, 40]}) > 50  # each view draws its own


def test_silence_gives_a_finite_flat_image(frontend):
    images = frontend(torch.zeros(1, SAMPLE_RATE))
    assert bool(torch.isfinite(images).all())
    assert float(images.max() - images.min()) == 0.0  # flat: no made-up structure
    assert float(images.abs().max()) < 0.01  # ~0: float32 rounding of the mean, over the 1e-3 floor
