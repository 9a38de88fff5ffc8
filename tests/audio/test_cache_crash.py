"""A build killed with SIGKILL, one whose worker crashes, and one that runs out of disk, leave a
consistent cache."""

from __future__ import annotations

import functools
import os
import re
import signal
import sqlite3
import subprocess
import sys
import textwrap
import time
from pathlib import Path

import numpy as np
import pytest
from cache_audio_gen import cache_song_or_crash, checksums, song, write

from musicrec_desktop.audio import build
from musicrec_desktop.audio.cache import ChunkCache

REPO = Path(__file__).resolve().parents[2]

BUILD_SCRIPT = textwrap.dedent("""
    import sys
    from pathlib import Path
    from musicrec_desktop.audio.build import build_cache
    from musicrec_desktop.library.song import Song
    from musicrec_desktop.paths import DataDirs
    from musicrec_desktop.settings import Settings

    def main():
        data, fmt, workers, *files = sys.argv[1:]
        songs = [Song(key=Path(f).as_uri(), url=Path(f).as_uri(), path=Path(f)) for f in files]
        build_cache(songs, Settings().replace(cache_format=fmt), DataDirs.under(Path(data)),
                    workers=int(workers))

    if __name__ == "__main__":
        main()
""")


def _start(tmp_path: Path, fmt: str, workers: int, files: list[Path], prelude: str = "") -> subprocess.Popen:
    script = tmp_path / "build_script.py"
    script.write_text(prelude + BUILD_SCRIPT)
    return subprocess.Popen([sys.executable, str(script), str(tmp_path / "data"), fmt, str(workers),
                             *map(str, files)], cwd=REPO, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                            start_new_session=True)


def _committed(index: Path) -> int:
    if not index.exists():
        return 0
    try:
        with sqlite3.connect(index, timeout=5) as db:
            return db.execute("SELECT count(*) FROM songs").fetchone()[0]
    except sqlite3.OperationalError:
        return 0


def _assert_consistent(root: Path) -> ChunkCache:
    """Every visible entry is whole: its file is there and every chunk reads at full length."""
    cache = ChunkCache.open(root)
    for entry in cache.entries():
        assert entry.file.exists()
        for i in range(entry.chunks):
            assert cache.load_chunk(entry.song_key, i).shape == (2, entry.chunk_samples(i))
    return cache


def test_kill_9_mid_build_leaves_whole_entries_and_the_next_build_finishes(tmp_path, bench):
    files = [write(bench.music / f"song {i}.flac", 35.0, 22050) for i in range(12)]
    before = checksums(bench.music)
    root = tmp_path / "data" / "cache"
    proc = _start(tmp_path, "ogg", 1, files)
    try:
        deadline = time.monotonic() + 60
        while _committed(root / "index.sqlite") < 3 and time.monotonic() < deadline and proc.poll() is None:
            time.sleep(0.02)
    finally:
        os.killpg(proc.pid, signal.SIGKILL)  # the build and its worker process, mid-song
        proc.communicate()
    assert proc.returncode == -signal.SIGKILL
    done = _committed(root / "index.sqlite")
    assert 3 <= done < len(files), "the kill must land mid-build"
    assert len(_assert_consistent(root)) == done

    from musicrec_desktop.audio.build import build_cache
    from musicrec_desktop.paths import DataDirs
    from musicrec_desktop.settings import Settings

    report = build_cache([song(f) for f in files], Settings().replace(cache_format="ogg"),
                         DataDirs.under(tmp_path / "data"), workers=0)
    assert (report.up_to_date, report.cached) == (done, len(files) - done)
    cache = _assert_consistent(root)
    assert len(cache) == len(files)
    # Files of the killed build that no row names (half-written or uncommitted) are gone.
    on_disk = {p for p in (root / "chunks").rglob("*") if p.is_file()}
    assert on_disk == {e.file for e in cache.entries()}
    assert checksums(bench.music) == before


def test_a_song_that_crashes_its_worker_is_skipped_and_the_songs_in_flight_with_it_are_cached(bench,
                                                                                             monkeypatch):
    crasher = write(bench.music / "crash.flac", 35.0, 22050)
    others = [write(bench.music / f"song {i}.flac", 35.0, 22050) for i in range(3)]
    # The worker process really dies on crash.flac (os._exit), with the three others in flight.
    monkeypatch.setattr(build, "cache_song", functools.partial(cache_song_or_crash, crasher.name))
    report = bench.build([song(f) for f in [crasher, *others]], workers=2)
    assert (report.cached, report.skipped) == (3, {"decoder_crashed": 1})
    assert bench.skips() == {crasher.as_uri(): "decoder_crashed"}
    cache = _assert_consistent(bench.root)
    assert sorted(e.song_key for e in cache.entries()) == sorted(p.as_uri() for p in others)


# The file size limit makes writes fail the way a full disk does (EFBIG instead of ENOSPC), without
# needing a small file system: the limit holds the short songs, not the long one.
@pytest.mark.parametrize(("fmt", "limit"), [("npy", 1_000_000), ("ogg", 100_000)])
def test_full_disk_stops_with_a_clear_error_and_keeps_the_cache_consistent(tmp_path, bench, fmt, limit):
    small = [write(bench.music / f"small {i}.flac", 8.0, 22050) for i in range(2)]
    big = write(bench.music / "big.flac", 120.0, 22050)
    prelude = ("import resource, signal\nsignal.signal(signal.SIGXFSZ, signal.SIG_IGN)\n"
               f"resource.setrlimit(resource.RLIMIT_FSIZE, ({limit}, {limit}))\n")
    proc = _start(tmp_path, fmt, 0, [*small, big, *small], prelude)
    _, err = proc.communicate(timeout=120)
    assert proc.returncode == 1, err.decode()
    message = err.decode()
    assert "CacheError" in message and "consistent" in message
    assert re.search(r"the disk holding \S+ is (probably )?full", message), message
    cache = _assert_consistent(tmp_path / "data" / "cache")
    assert sorted(e.song_key for e in cache.entries()) == sorted(p.as_uri() for p in small)
    assert not [p for p in (tmp_path / "data" / "cache" / "chunks").rglob("*.tmp")]
    assert np.isfinite(cache.load_chunk(small[0].as_uri(), 0)).all()
