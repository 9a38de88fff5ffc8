"""The generated styles: loud enough but never clipping, repeatable, and audibly different."""

from __future__ import annotations

import numpy as np
import pytest

from musicrec_desktop.demo.styles import STYLES, render_song, variant_of
from musicrec_desktop.demo.variants import STYLE_VARIANTS
from musicrec_desktop.library.genres import GenreMapper
from musicrec_desktop.settings import GENRE_CATEGORIES, Settings

SR = 16000


def features(audio: np.ndarray) -> np.ndarray:
    """Timbre and rhythm of a song: mean and spread of 16 log band energies, onset rate, tempo."""
    mono = audio.mean(0)
    frame, hop = 2048, 1024
    frames = np.lib.stride_tricks.sliding_window_view(mono, frame)[::hop] * np.hanning(frame)
    power = np.abs(np.fft.rfft(frames, axis=1)) ** 2
    freqs = np.fft.rfftfreq(frame, 1 / SR)
    edges = np.geomspace(40, 7900, 17)
    bands = np.log(np.stack([power[:, (freqs >= lo) & (freqs < hi)].sum(1) + 1e-9
                             for lo, hi in zip(edges[:-1], edges[1:], strict=True)], 1))
    flux = np.maximum(np.diff(np.sqrt(power), axis=0), 0).sum(1)
    flux = (flux - flux.mean()) / (flux.std() + 1e-9)
    ac = np.correlate(flux, flux, "full")[len(flux) - 1:]
    bpm = 60 * SR / hop / np.maximum(np.arange(len(ac)), 1)
    usable = (bpm > 60) & (bpm < 200)
    tempo = bpm[usable][np.argmax(ac[usable])]
    return np.concatenate([bands.mean(0) - bands.mean(), bands.std(0), [(flux > 1).mean(), np.log(tempo)]])


def test_styles_are_the_genre_categories():
    assert STYLES == GENRE_CATEGORIES


@pytest.mark.parametrize("style", STYLES)
def test_song_levels(style):
    audio = render_song(style, 3, 12.0, SR)
    assert audio.shape == (2, 12 * SR) and audio.dtype == np.float32
    assert np.isfinite(audio).all()
    assert np.abs(audio).max() < 0.97  # never clips
    rms_db = 20 * np.log10(np.sqrt(np.mean(audio.astype(np.float64) ** 2)))
    assert -19.0 < rms_db < -13.0
    assert not np.allclose(audio[0], audio[1])  # real stereo


def test_same_seed_same_song_other_seed_other_song():
    a = render_song("jazz_classical", 11, 6.0, SR)
    assert np.array_equal(a, render_song("jazz_classical", 11, 6.0, SR))
    b = render_song("jazz_classical", 12, 6.0, SR)
    assert np.abs(a - b).mean() > 0.01


def test_styles_separate_by_sound():
    """Nearest style centre (leave one out) on simple features beats chance (1/7) by far."""
    seeds = range(5)
    feats = np.array([features(render_song(style, seed, 20.0, SR)) for style in STYLES for seed in seeds])
    labels = np.repeat(np.arange(len(STYLES)), len(seeds))
    z = (feats - feats.mean(0)) / (feats.std(0) + 1e-9)
    correct = 0
    for i in range(len(z)):
        others = np.arange(len(z)) != i
        centres = np.array([z[others & (labels == c)].mean(0) for c in range(len(STYLES))])
        correct += int(np.argmin(((centres - z[i]) ** 2).sum(1)) == labels[i])
    assert correct / len(z) >= 0.4


def test_songs_of_one_style_differ_in_key_tempo_and_sound():
    songs = [render_song("rock", seed, 15.0, SR) for seed in range(4)]
    feats = np.array([features(s) for s in songs])
    distances = [np.abs(feats[i] - feats[j]).mean() for i in range(4) for j in range(i + 1, 4)]
    assert min(distances) > 0.05


def test_variant_can_be_chosen_and_unknown_style_is_refused():
    assert variant_of("electronic", 0, "drum & bass").name == "drum & bass"
    fast = render_song("electronic", 5, 4.0, SR, variant="drum & bass")
    assert fast.shape == (2, 4 * SR)
    with pytest.raises(ValueError, match="unknown style"):
        render_song("polka", 1, 2.0, SR)
    with pytest.raises(ValueError, match="no variant"):
        variant_of("rock", 1, "polka")


def test_tempo_ranges_differ_between_styles():
    slowest = {style: min(v.tempo[0] for v in vs) for style, vs in STYLE_VARIANTS.items()}
    fastest = {style: max(v.tempo[1] for v in vs) for style, vs in STYLE_VARIANTS.items()}
    assert fastest["hiphop"] < fastest["electronic"]
    assert slowest["jazz_classical"] < slowest["pop"]


def test_every_genre_tag_maps_to_its_style():
    mapper = GenreMapper.from_settings(Settings())
    for style, variants in STYLE_VARIANTS.items():
        for variant in variants:
            for genre in variant.genres:
                assert mapper.categories(genre) == [style], genre
