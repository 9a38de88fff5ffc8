"""Reading the cache back: crops, bounds, errors, pickling into loader workers."""

from __future__ import annotations

import pickle

import numpy as np
import pytest
from cache_audio_gen import song, write

from musicrec_desktop.audio.cache import ChunkCache, cache_root
from musicrec_desktop.constants import SAMPLE_RATE
from musicrec_desktop.errors import CacheError, NotReadyError
from musicrec_desktop.paths import DataDirs
from musicrec_desktop.settings import Settings


@pytest.mark.parametrize("fmt", ["npy", "ogg"])
def test_a_crop_is_the_same_samples_as_that_part_of_the_chunk(bench, fmt):
    path = write(bench.music / "a.flac", 70.0, 44100)
    bench.build([song(path)], cache_format=fmt)
    cache = bench.open()
    key = path.as_uri()
    for index in (0, 1):
        chunk = cache.load_chunk(key, index)
        for start_s, duration_s in ((0.0, 5.0), (7.25, 12.5), (15.0, 15.0)):
            crop = cache.load_crop(key, index, start_s, duration_s)
            start = int(round(start_s * SAMPLE_RATE))
            assert crop.shape == (2, int(round(duration_s * SAMPLE_RATE))) and crop.dtype == np.float32
            assert crop.flags.c_contiguous
            np.testing.assert_allclose(crop, chunk[:, start:start + crop.shape[1]], atol=1e-6)


def test_crops_are_clamped_to_the_chunk(bench):
    path = write(bench.music / "a.flac", 40.0, 22050)
    bench.build([song(path)])
    cache = bench.open()
    key = path.as_uri()
    assert cache.load_crop(key, 0, 25.0, 10.0).shape == (2, 5 * SAMPLE_RATE)
    assert cache.load_crop(key, 0, -1.0, 5.0).shape == (2, 5 * SAMPLE_RATE)
    assert cache.load_crop(key, 0, 31.0, 5.0).shape == (2, 0)
    with pytest.raises(IndexError):
        cache.load_chunk(key, 1)
    with pytest.raises(KeyError):
        cache.load_chunk("file:///nope.flac", 0)
    assert cache.get("file:///nope.flac") is None


def test_an_opened_cache_pickles_and_keeps_no_connection(bench):
    path = write(bench.music / "a.flac", 40.0, 22050)
    bench.build([song(path)])
    cache = pickle.loads(pickle.dumps(bench.open()))
    assert cache.load_chunk(path.as_uri(), 0).shape == (2, 30 * SAMPLE_RATE)
    assert [e.song_key for e in cache.entries()] == [path.as_uri()]
    cache.close()


def test_no_cache_yet_is_not_ready(tmp_path):
    with pytest.raises(NotReadyError, match="build-cache"):
        ChunkCache.open(tmp_path / "nothing")


def test_a_file_deleted_behind_the_index_gives_a_clear_error(bench):
    path = write(bench.music / "a.flac", 40.0, 22050)
    bench.build([song(path)])
    cache = bench.open()
    cache.get(path.as_uri()).file.unlink()
    with pytest.raises(CacheError, match="build the cache again"):
        cache.load_chunk(path.as_uri(), 0)


def test_cache_root_follows_the_setting(tmp_path):
    dirs = DataDirs.under(tmp_path)
    assert cache_root(Settings(), dirs) == dirs.cache
    assert cache_root(Settings().replace(cache_dir=str(tmp_path / "big disk")), dirs) == tmp_path / "big disk"
