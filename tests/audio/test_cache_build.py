"""Building the chunk cache from generated music files: formats, channels, placement, bad input."""

from __future__ import annotations

import dataclasses
import errno
import fcntl
import multiprocessing
import os
import shutil
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pytest
from cache_audio_gen import (
    LEFT_HZ,
    RIGHT_HZ,
    checksums,
    damage,
    have_ffmpeg,
    left_amplitude,
    peak_hz,
    rms,
    song,
    write,
    write_long_silent_wav,
    write_m4a,
)

from musicrec_desktop.audio import build, decode
from musicrec_desktop.audio._worker import THREAD_VARIABLES
from musicrec_desktop.audio.build import build_cache
from musicrec_desktop.audio.cache import cache_stats
from musicrec_desktop.audio.chunks import plan_chunks
from musicrec_desktop.audio.decode import AudioReader, SongSkipped, SpanError
from musicrec_desktop.constants import SAMPLE_RATE
from musicrec_desktop.errors import CacheError, Cancelled
from musicrec_desktop.progress import CancelToken

REPO = Path(__file__).resolve().parents[2]


def assert_time_coded(cache, key, duration, beginning=0.0, tolerance=0.06, gain=1.0):
    """Each chunk is 16 kHz stereo from where the index says, the left 440 Hz, the right 1000 Hz."""
    entry = cache.get(key)
    assert entry is not None, key
    expected = plan_chunks(beginning, beginning + duration)
    assert entry.chunk_starts == pytest.approx([s.start_s for s in expected], abs=1e-3)
    assert entry.chunk_seconds == pytest.approx([s.length_s for s in expected], abs=1e-3)
    for i, start in enumerate(entry.chunk_starts):
        chunk = cache.load_chunk(key, i)
        assert chunk.dtype == np.float32 and chunk.shape == (2, entry.chunk_samples(i))
        assert np.abs(chunk).max() <= 1.0
        first = chunk[0, :SAMPLE_RATE]
        want = gain * left_amplitude(start - beginning + 0.5, duration) / np.sqrt(2)
        assert rms(first) == pytest.approx(want, rel=tolerance)
        assert peak_hz(chunk[0, :SAMPLE_RATE]) == pytest.approx(LEFT_HZ, abs=2)
        assert peak_hz(chunk[1, :SAMPLE_RATE]) == pytest.approx(RIGHT_HZ, abs=2)


@pytest.mark.parametrize("fmt", ["npy", "ogg"])
def test_stereo_flac_mp3_and_surround_are_cached_at_16k_stereo_from_the_planned_places(bench, fmt):
    files = [
        write(bench.music / "stereo.flac", 70.0, 44100),
        write(bench.music / "song.mp3", 40.0, 44100, fmt="MP3", subtype="MPEG_LAYER_III"),
        write(bench.music / "surround 5.1.wav", 40.0, 48000, channels=6),
    ]
    before = checksums(bench.music)
    report = bench.build([song(f) for f in files], cache_format=fmt)
    assert (report.cached, sum(report.skipped.values())) == (3, 0)
    cache = bench.open()
    assert {e.fmt for e in cache.entries()} == {fmt}
    assert_time_coded(cache, files[0].as_uri(), 70.0)
    # MP3 adds encoder delay and a lossy tone; the placement must still hold to a few percent.
    assert_time_coded(cache, files[1].as_uri(), 40.0, tolerance=0.08)
    # The 5.1 downmix scales front left by 1 / (1 + 2 * sqrt(1/2)) so that full scale stays in range.
    assert_time_coded(cache, files[2].as_uri(), 40.0, gain=1 / (1 + np.sqrt(2)))
    assert checksums(bench.music) == before


def test_mono_8khz_is_duplicated_to_both_channels(bench):
    path = write(bench.music / "mono8k.wav", 40.0, 8000, channels=1)
    bench.build([song(path)])
    chunk = bench.open().load_chunk(path.as_uri(), 0)
    assert chunk.shape == (2, 30 * SAMPLE_RATE)
    assert np.array_equal(chunk[0], chunk[1])
    assert peak_hz(chunk[0, :SAMPLE_RATE]) == pytest.approx(LEFT_HZ, abs=2)


@pytest.mark.skipif(not have_ffmpeg(), reason="ffmpeg is not installed")
def test_m4a_goes_through_ffmpeg(bench):
    path = write_m4a(bench.music / "aac song.m4a", 40.0)
    report = bench.build([song(path)])
    assert report.cached == 1, report.skipped
    assert_time_coded(bench.open(), path.as_uri(), 40.0, tolerance=0.08)


@pytest.mark.skipif(not have_ffmpeg(), reason="ffmpeg is not installed")
def test_without_ffmpeg_an_m4a_is_skipped_as_unsupported(bench, monkeypatch, tmp_path):
    path = write_m4a(bench.music / "aac song.m4a", 10.0)
    monkeypatch.setenv("PATH", str(tmp_path / "empty"))  # no ffmpeg to fall back to
    report = bench.build([song(path)])
    assert report.skipped == {"unsupported_format": 1}
    assert bench.skips()[path.as_uri()] == "unsupported_format"


def test_without_ffmpeg_a_damaged_file_is_undecodable_and_only_other_formats_unsupported(
        bench, monkeypatch, tmp_path):
    """libsndfile says "not a regular file (possibly a pipe?)" for a text file or a cut-off MP3;
    without ffmpeg to ask, the suffix tells a damaged file from a format this machine lacks."""
    monkeypatch.setenv("PATH", str(tmp_path / "empty"))  # no ffmpeg, whether installed or not
    (bench.music / "text.mp3").write_text("this is not audio\n" * 200)
    mp3 = write(bench.music / "whole.mp3", 20.0, 44100, fmt="MP3", subtype="MPEG_LAYER_III")
    (bench.music / "cut.mp3").write_bytes(mp3.read_bytes()[:300])
    (bench.music / "song.wma").write_bytes(b"0&\xb2u\x8ef\xcf\x11" + bytes(4000))  # an ASF header
    songs = [song(bench.music / n) for n in ("text.mp3", "cut.mp3", "song.wma")]
    report = bench.build(songs)
    assert report.skipped == {"undecodable": 2, "unsupported_format": 1}
    assert bench.skips() == {songs[0].key: "undecodable", songs[1].key: "undecodable",
                             songs[2].key: "unsupported_format"}
    with pytest.raises(SongSkipped) as caught:
        AudioReader(bench.music / "text.mp3")
    assert caught.value.detail == ("not readable as a .mp3 file: damaged, cut short or not audio "
                                   "(or in a codec that needs ffmpeg, which is not installed)")
    with pytest.raises(SongSkipped) as caught:
        AudioReader(bench.music / "song.wma")
    assert caught.value.detail == ".wma files need ffmpeg, which is not installed"


@pytest.mark.skipif(not have_ffmpeg(), reason="ffmpeg is not installed")
def test_spans_libsndfile_fails_on_are_read_through_ffmpeg(bench, monkeypatch, tmp_path):
    path = write(bench.music / "damaged.flac", 200.0, 44100)
    damage(path, at=0.35, size=200)  # a broken frame in the second chunk (60-90 s)
    spans = plan_chunks(0.0, 200.0)
    with monkeypatch.context() as no_ffmpeg:
        no_ffmpeg.setenv("PATH", str(tmp_path / "empty"))
        with AudioReader(path) as reader:  # libsndfile alone: lost sync, then every seek fails
            assert reader.read(spans[0]).shape == (30 * SAMPLE_RATE, 2)
            for span in spans[1:]:
                with pytest.raises(SpanError):
                    reader.read(span)
    assert bench.build([song(path)]).cached == 1
    assert_time_coded(bench.open(), path.as_uri(), 200.0)


def test_cue_tracks_sharing_one_file_get_chunks_from_their_own_part(bench):
    path = write(bench.music / "album.flac", 160.0, 44100)
    first = song(path, key=path.as_uri(), beginning_s=0.0, length_s=70.0)
    second = song(path, key=path.as_uri() + "@70000000000", beginning_s=70.0, length_s=90.0)
    assert bench.build([first, second]).cached == 2
    cache = bench.open()
    a, b = cache.get(first.key), cache.get(second.key)
    assert a.chunk_starts[-1] + a.chunk_seconds[-1] <= 70.0
    assert b.chunk_starts[0] >= 70.0 and b.chunk_starts[-1] + b.chunk_seconds[-1] <= 160.0
    # The time code is over the whole file, so check it against file time.
    for entry in (a, b):
        for i, start in enumerate(entry.chunk_starts):
            first_second = cache.load_chunk(entry.song_key, i)[0, :SAMPLE_RATE]
            want = left_amplitude(start + 0.5, 160.0) / np.sqrt(2)
            assert rms(first_second) == pytest.approx(want, rel=0.03)


def test_a_multi_hour_file_is_cached_by_seeking(bench):
    hours = 3.0
    spans = plan_chunks(0.0, hours * 3600)
    path = write_long_silent_wav(bench.music / "long.wav", hours, marks_s=tuple(s.start_s for s in spans))
    assert path.stat().st_size > 170e6 and path.stat().st_blocks * 512 < 5e6  # sparse: cheap to make
    started = time.monotonic()
    assert bench.build([song(path)]).cached == 1
    assert time.monotonic() - started < 10  # it seeks; decoding 3 hours would take far longer
    cache = bench.open()
    entry = cache.get(path.as_uri())
    assert entry.chunk_starts == pytest.approx([s.start_s for s in spans], abs=1e-3)
    for i in range(4):
        chunk = cache.load_chunk(entry.song_key, i)
        assert rms(chunk[0, 200:SAMPLE_RATE - 200]) > 0.5  # the mark at the chunk's start
        assert rms(chunk[0, 2 * SAMPLE_RATE:]) == 0.0  # silence after it


def test_bad_files_are_skipped_with_a_reason_and_the_build_goes_on(bench):
    music = bench.music
    good = [write(music / name, 35.0, 22050) for name in
            ("naïve ünïcode – 曲.flac", "it's \"quoted\".flac", "new\nline.flac")]
    (music / "zero.flac").write_bytes(b"")
    (music / "text.mp3").write_text("this is not audio\n" * 200)
    (music / "noise.flac").write_bytes(np.random.default_rng(1).bytes(50_000))
    (music / "short.wav").write_bytes(b"")
    write(music / "short.wav", 3.0, 22050)
    full = write(music / "truncated.flac", 200.0, 44100).read_bytes()
    (music / "truncated.flac").write_bytes(full[: len(full) // 3])
    # A text file named .mp3 is damaged or not audio ("undecodable"), with or without ffmpeg; it
    # is not in a format this machine cannot read ("unsupported_format").
    bad = {"zero.flac": {"empty"}, "text.mp3": {"undecodable"},
           "noise.flac": {"undecodable", "decode_error"}, "short.wav": {"too_short"}}
    songs = [song(p) for p in good] + [song(music / n) for n in bad]
    songs += [song(music / "truncated.flac"), song(music / "missing.flac")]
    before = checksums(music)
    report = bench.build(songs)
    cache = bench.open()
    for path in good:
        assert cache.get(path.as_uri()) is not None and cache.load_chunk(path.as_uri(), 0).shape[0] == 2
    assert report.skipped["missing"] == 1
    rows = bench.skips()
    for name, reasons in bad.items():
        assert rows[(music / name).as_uri()] in reasons, name
    # A file cut to a third keeps the chunks that are still there. libsndfile fails on the second
    # one, which the cut goes through; ffmpeg reads it up to the cut.
    truncated = cache.get((music / "truncated.flac").as_uri())
    if have_ffmpeg():
        assert truncated.chunk_starts == pytest.approx((10.0, 60.0))
        assert truncated.chunk_seconds[0] == 30.0 and 5.0 <= truncated.chunk_seconds[1] < 30.0
    else:
        assert (truncated.chunk_starts, truncated.chunk_seconds) == ((10.0,), (30.0,))
    assert checksums(music) == before
    # Skips are remembered: the next build decodes nothing.
    again = bench.build(songs)
    assert again.attempted == 0 and sum(again.skipped.values()) == sum(report.skipped.values())


# Root reads files whatever their permissions; a build started through setpriv without root's two
# file-access capabilities is refused like any other user (a drop to another user cannot run this
# interpreter here: it lives under /root, mode 700).
WITHOUT_FILE_ACCESS = ["setpriv", "--bounding-set=-dac_override,-dac_read_search"]
BUILD_ONE = ("import sys; from pathlib import Path; from musicrec_desktop.audio.build import build_cache; "
             "from musicrec_desktop.library.song import Song; from musicrec_desktop.paths import DataDirs; "
             "from musicrec_desktop.settings import Settings; p = Path(sys.argv[2]); "
             "build_cache([Song(key=p.as_uri(), url=p.as_uri(), path=p)], "
             "Settings().replace(cache_format='npy'), DataDirs.under(Path(sys.argv[1])), workers=0)")


def _can_drop_file_access() -> bool:
    return shutil.which("setpriv") is not None and subprocess.run(
        [*WITHOUT_FILE_ACCESS, "true"], capture_output=True, check=False).returncode == 0


def test_unreadable_file_is_skipped(bench):
    path = write(bench.music / "locked.flac", 35.0, 22050)
    path.chmod(0)
    try:
        if os.geteuid() != 0:
            bench.build([song(path)])
        elif _can_drop_file_access():
            data = bench.dirs.cache.parent
            subprocess.run([*WITHOUT_FILE_ACCESS, sys.executable, "-c", BUILD_ONE, str(data), str(path)],
                           cwd=REPO, check=True, capture_output=True)
        else:
            pytest.skip("root reads files whatever their permissions, and setpriv cannot drop that")
        assert bench.skips() == {path.as_uri(): "unreadable"}
    finally:
        path.chmod(0o644)


def test_a_file_the_readability_check_cannot_open_is_skipped_as_unreadable(bench, monkeypatch):
    locked, other = (write(bench.music / f"{name}.flac", 35.0, 22050) for name in ("locked", "other"))

    def refuse_locked(file, *args, **kwargs):
        if Path(file) == locked:
            raise PermissionError(errno.EACCES, os.strerror(errno.EACCES), str(file))
        return open(file, *args, **kwargs)

    # Only decode's own open: libsndfile and ffmpeg would read the file, as root does.
    monkeypatch.setattr(decode, "open", refuse_locked, raising=False)
    songs = [song(locked), song(other)]
    report = bench.build(songs)
    assert (report.cached, report.skipped) == (1, {"unreadable": 1})
    assert bench.skips() == {locked.as_uri(): "unreadable"}
    again = bench.build(songs)  # recorded: not retried until the file changes
    assert (again.attempted, again.skipped) == (0, {"unreadable": 1})


def test_rebuild_does_no_work_and_changes_are_picked_up(bench):
    paths = [write(bench.music / f"song{i}.flac", 35.0, 22050) for i in range(3)]
    broken = bench.music / "broken.flac"
    broken.write_bytes(b"not a flac")
    songs = [song(p) for p in [*paths, broken]]
    first = bench.build(songs)
    assert (first.cached, first.attempted) == (3, 4)
    files = bench.files()
    again = bench.build(songs)
    assert (again.cached, again.attempted, again.up_to_date) == (0, 0, 3)
    assert bench.files() == files

    # A changed song is decoded again, its old file goes; a repaired file is retried.
    write(paths[0], 50.0, 22050)
    write(broken, 35.0, 22050)
    changed = bench.build(songs)
    assert (changed.cached, changed.attempted, changed.up_to_date) == (2, 2, 2)
    assert bench.open().get(paths[0].as_uri()).chunk_seconds == (30.0,)
    assert len(bench.files()) == 4 and len(files - bench.files()) == 1

    # Songs that left the library are collected, unless only part of the library was given.
    partial = build_cache(songs[:2], bench.settings, bench.dirs, workers=0, collect=False)
    assert partial.removed == 0 and len(bench.open()) == 4
    # A song whose file is away for now (unmounted drive) stays in the library and keeps its entry.
    away = dataclasses.replace(songs[2], available=False)
    kept = bench.build([*songs[:2], away])
    assert (kept.removed, kept.attempted, len(bench.open())) == (1, 0, 3)
    collected = bench.build(songs[:2])
    assert collected.removed == 1 and len(bench.open()) == 2 and len(bench.files()) == 2


def test_switching_format_recaches_and_reading_follows_each_entry(bench):
    a, b = (write(bench.music / f"{n}.flac", 35.0, 22050) for n in "ab")
    bench.build([song(a)], cache_format="npy")
    report = bench.build([song(a), song(b)], collect=False, cache_format="ogg")
    assert report.cached == 2
    cache = bench.open()
    assert {e.fmt for e in cache.entries()} == {"ogg"}
    assert all(f.endswith(".ogg") for f in bench.files())


def test_budget_stops_decoding_once_reached_and_counts_the_rest_without_recording_them(bench):
    paths = [write(bench.music / f"s{i}.flac", 35.0, 22050) for i in range(5)]
    report = bench.build([song(p) for p in paths], cache_budget_gb=2.5e-3)  # room for one npy song
    # The second song did not fit: it was decoded, the three after it were not.
    assert (report.cached, report.attempted, report.skipped["over_budget"]) == (1, 2, 4)
    assert len(bench.files()) == 1 and bench.skips() == {}
    assert cache_stats(bench.root).over_budget == 4
    assert bench.build([song(p) for p in paths], cache_budget_gb=0.0).cached == 4
    assert cache_stats(bench.root).over_budget == 0


def test_a_second_build_at_the_same_time_is_refused(bench):
    path = write(bench.music / "a.flac", 35.0, 22050)
    bench.root.mkdir(parents=True, exist_ok=True)
    with open(bench.root / "build.lock", "a+") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        with pytest.raises(CacheError, match="another cache build"):
            bench.build([song(path)])


def test_worker_processes_run_the_jobs_with_one_thread_for_each_numeric_library(monkeypatch):
    for name in THREAD_VARIABLES:
        monkeypatch.setenv(name, "7")  # what the workers would inherit from this process
    pool = build._start_pool(2)  # the pool a build decodes in
    try:
        seen = {name: pool.submit(os.getenv, name).result() for name in THREAD_VARIABLES}
    finally:
        pool.shutdown()
    assert seen == dict.fromkeys(THREAD_VARIABLES, "1")


def test_worker_processes_build_the_same_cache(bench):
    paths = [write(bench.music / f"w{i}.flac", 35.0, 22050) for i in range(3)]
    report = bench.build([song(p) for p in paths], workers=2)
    assert report.cached == 3
    cache = bench.open()
    assert sorted(e.song_key for e in cache.entries()) == sorted(p.as_uri() for p in paths)


def test_cancel_keeps_finished_songs_and_the_next_build_carries_on(bench):
    paths = [write(bench.music / f"c{i}.flac", 35.0, 22050) for i in range(4)]
    cancel = CancelToken()
    seen = []

    def progress(p):
        seen.append(p.done)
        if p.done == 2:
            cancel.cancel()

    with pytest.raises(Cancelled):
        build_cache([song(p) for p in paths], bench.settings, bench.dirs, progress, cancel, workers=0)
    assert len(bench.open()) == 2 and len(bench.files()) == 2
    assert seen[0] == 0 and seen[-1] == 2
    rest = bench.build([song(p) for p in paths])
    assert (rest.cached, rest.up_to_date) == (2, 2)



def test_a_cancelled_build_stops_its_workers_and_deletes_what_it_did_not_commit(bench):
    paths = [write(bench.music / f"k{i}.flac", 35.0, 22050) for i in range(4)]
    cancel = CancelToken()

    def progress(p):
        if p.done == 1:
            cancel.cancel()  # the three other songs are in flight: all four were submitted at once

    with pytest.raises(Cancelled) as stopped:
        build_cache([song(p) for p in paths], bench.settings, bench.dirs, progress, cancel, workers=2)
    # Checked while the exception, and with it the build's frames, is still held (as the app's
    # worker thread holds it to report it): the cleanup must not wait for them to be collected.
    assert stopped.traceback and multiprocessing.active_children() == []
    cache = bench.open()
    assert len(cache) == 1
    assert bench.files() == {str(e.file.relative_to(bench.root)) for e in cache.entries()}
    assert not list(bench.root.rglob("*.tmp"))
