"""Real recordings from ../shared/audio (skipped when the folder is absent)."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
from cache_audio_gen import checksums, song

from musicrec_desktop.constants import SAMPLE_RATE

SHARED = Path(__file__).resolve().parents[2] / ".." / "shared" / "audio"
pytestmark = pytest.mark.skipif(not SHARED.is_dir(), reason="../shared/audio is not here")


def test_real_mp3_and_ogg_songs_are_cached_in_stereo(bench):
    files = sorted((SHARED / "jamendo").glob("*.mp3"))[:2] + sorted((SHARED / "librosa").glob("*.ogg"))[:2]
    assert len(files) == 4
    before = checksums(SHARED)
    report = bench.build([song(f) for f in files], cache_format="ogg")
    assert report.cached == 4, report.skipped
    cache = bench.open()
    for path in files:
        entry = cache.get(path.as_uri())
        assert 1 <= entry.chunks <= 4
        assert entry.bytes / entry.chunks < 0.6e6 / 4 * 1.2
        for i in range(entry.chunks):
            chunk = cache.load_chunk(entry.song_key, i)
            assert chunk.shape == (2, entry.chunk_samples(i))
            assert 0.01 < float(np.sqrt(np.mean(chunk ** 2))) < 0.7  # music, not silence or noise
        if path.suffix == ".mp3":  # full songs: four 30 s chunks, with real stereo
            assert entry.chunk_seconds == (30.0,) * 4
            assert not np.allclose(chunk[0], chunk[1], atol=1e-3)
        crop = cache.load_crop(entry.song_key, 0, 2.0, 10.0)
        assert crop.shape == (2, 10 * SAMPLE_RATE)
    assert checksums(SHARED) == before
