"""Chunk placement rule and channel handling (pure functions)."""

import numpy as np
import pytest

from musicrec_desktop.audio.chunks import MIN_CHUNK_SECONDS, plan_chunks
from musicrec_desktop.audio.decode import resample, to_stereo
from musicrec_desktop.constants import CHUNK_SECONDS, CHUNKS_PER_SONG, EDGE_SKIP_FRACTION


def test_long_song_gets_four_evenly_spread_chunks_inside_the_edges():
    spans = plan_chunks(0.0, 300.0)
    assert len(spans) == CHUNKS_PER_SONG
    assert all(s.length_s == CHUNK_SECONDS for s in spans)
    assert spans[0].start_s == pytest.approx(300 * EDGE_SKIP_FRACTION)
    assert spans[-1].start_s + spans[-1].length_s == pytest.approx(300 * (1 - EDGE_SKIP_FRACTION))
    gaps = np.diff([s.start_s for s in spans])
    assert np.allclose(gaps, gaps[0]) and gaps[0] >= CHUNK_SECONDS


@pytest.mark.parametrize(("duration", "count"), [(100.0, 3), (70.0, 2), (34.0, 1), (134.0, 4)])
def test_shorter_songs_get_fewer_full_chunks_that_never_overlap(duration, count):
    spans = plan_chunks(0.0, duration)
    assert len(spans) == count
    assert all(s.length_s == CHUNK_SECONDS for s in spans)
    for a, b in zip(spans, spans[1:], strict=False):
        assert b.start_s >= a.start_s + a.length_s - 1e-9
    assert spans[0].start_s >= duration * EDGE_SKIP_FRACTION - 1e-9
    assert spans[-1].start_s + CHUNK_SECONDS <= duration * (1 - EDGE_SKIP_FRACTION) + 1e-9


def test_song_under_one_chunk_gives_its_middle():
    (span,) = plan_chunks(0.0, 20.0)
    assert span.length_s == pytest.approx(18.0)
    assert span.start_s == pytest.approx(1.0)


def test_very_short_song_keeps_at_least_the_shortest_crop_and_tiny_songs_give_nothing():
    (span,) = plan_chunks(0.0, 5.2)
    assert span.length_s == pytest.approx(MIN_CHUNK_SECONDS)
    assert span.start_s >= 0.0 and span.start_s + span.length_s <= 5.2
    assert plan_chunks(0.0, MIN_CHUNK_SECONDS - 0.1) == []


def test_cue_track_chunks_stay_inside_the_track():
    spans = plan_chunks(600.0, 800.0)
    assert len(spans) == 4
    assert spans[0].start_s == pytest.approx(610.0)
    assert spans[-1].start_s + spans[-1].length_s == pytest.approx(790.0)


def test_mono_is_duplicated_and_stereo_kept():
    mono = np.linspace(-1, 1, 10, dtype=np.float32)[:, None]
    assert np.array_equal(to_stereo(mono), np.hstack([mono, mono]))
    stereo = np.random.default_rng(0).uniform(-1, 1, (10, 2)).astype(np.float32)
    assert to_stereo(stereo) is stereo


def test_surround_downmix_keeps_sides_apart_and_stays_in_range():
    frames = np.zeros((4, 6), dtype=np.float32)
    frames[:, 0] = 1.0  # front left only
    out = to_stereo(frames)
    assert out[:, 0].max() > 0.3 and np.all(out[:, 1] == 0)
    full = np.ones((4, 6), dtype=np.float32)
    assert np.abs(to_stereo(full)).max() <= 1.0 + 1e-6
    eight = np.ones((4, 8), dtype=np.float32)
    assert np.abs(to_stereo(eight)).max() <= 1.0 + 1e-6
    three = np.array([[1.0, 0.0, 1.0]], dtype=np.float32)
    assert np.allclose(to_stereo(three), [[1.0, 0.0]])


def test_resample_to_16k_keeps_length_and_clips():
    x = np.full((44100, 2), 1.2, dtype=np.float32)
    y = resample(x, 44100)
    assert y.shape == (16000, 2) and y.dtype == np.float32
    assert y.max() <= 1.0
