"""After kill -9 of a command at any point, no process of it remains and the next command works
at once; every command that writes a stage's output takes the run lock (issue 19, items 1 and
4). Real `musicrec` processes on a real library, killed with SIGKILL."""

from __future__ import annotations

import fcntl
import os
import signal
import subprocess
import sys
import textwrap
import time
from pathlib import Path

import mutagen.flac
import numpy as np
import pytest
import soundfile

from musicrec_desktop.constants import SAMPLE_RATE
from musicrec_desktop.demo.styles import render_song
from musicrec_desktop.errors import EXIT_ERROR
from musicrec_desktop.paths import DataDirs
from musicrec_desktop.pipeline.lock import LOCK_FILE
from musicrec_desktop.settings import Settings
from tests.support.processes import descendants, running, wait_for

MUSICREC = [sys.executable, "-m", "musicrec_desktop"]
GONE_S = 2.0  # a worker of a killed command is gone within this; a blocked one never went


def library(root: Path, songs: int, seconds: float, rate: int = SAMPLE_RATE) -> Path:
    """``songs`` tagged FLAC songs of two styles; returns the data folder, set up for them."""
    music = root / "music"
    music.mkdir(parents=True)
    for i in range(songs):
        style, genre = (("electronic", "Techno"), ("jazz_classical", "Jazz"))[i % 2]
        path = music / f"{style}-{i}.flac"
        soundfile.write(path, render_song(style, i, seconds, rate).T, rate)
        tags = mutagen.flac.FLAC(path)
        tags["genre"], tags["title"] = genre, f"{style} {i}"
        tags.save()
    data = root / "data"
    dirs = DataDirs.under(data).create()
    Settings(player="folders", music_folders=[str(music)], num_workers=2, batch_size=4,
             cache_format="npy", device="cpu").save(dirs.settings_file)
    return data


def start(data: Path, *argv: str) -> subprocess.Popen:
    """The command, its output into a file: workers that outlive it would keep a pipe open."""
    with open(data / "console.txt", "w") as console:
        return subprocess.Popen([*MUSICREC, "--data-dir", str(data), *argv], stdout=console,
                                stderr=subprocess.STDOUT, start_new_session=True)


def musicrec(data: Path, *argv: str, timeout: float = 120) -> subprocess.CompletedProcess:
    return subprocess.run([*MUSICREC, "--data-dir", str(data), *argv], capture_output=True,
                          text=True, timeout=timeout)


def kill_when_it_has_workers(command: subprocess.Popen, workers: int, timeout: float = 60) -> set[int]:
    """SIGKILL to ``command`` alone (not its workers) once it runs ``workers`` processes."""
    try:
        started = wait_for(lambda: len(descendants(command.pid)) >= workers, timeout)
        assert started, (Path(command.args[4]) / "console.txt").read_text()
        time.sleep(0.5)  # let them get to work
        below = descendants(command.pid)
        os.kill(command.pid, signal.SIGKILL)
        return below
    finally:
        command.kill()
        command.wait(10)


def lock_is_free(data: Path) -> bool:
    with open(DataDirs.under(data).state / LOCK_FILE, "a+") as fh:
        try:
            fcntl.flock(fh, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            return False
        fcntl.flock(fh, fcntl.LOCK_UN)
        return True


def reap(pids: set[int]) -> None:
    for pid in pids:  # whatever is left, so that a failed test leaves nothing running
        if running(pid):
            os.kill(pid, signal.SIGKILL)


@pytest.mark.slow
def test_build_cache_killed_leaves_no_decoder_and_the_next_build_runs(tmp_path):
    data = library(tmp_path, songs=6, seconds=150.0, rate=44100)
    workers = kill_when_it_has_workers(start(data, "build-cache", "--workers", "2"), 2)
    try:
        assert len(workers) >= 2  # two decoders (and multiprocessing's resource tracker)
        assert wait_for(lambda: not any(running(p) for p in workers), GONE_S), \
            [p for p in workers if running(p)]
    finally:
        reap(workers)
    again = musicrec(data, "build-cache", "--workers", "0")
    assert again.returncode == 0, again.stderr
    assert again.stdout.startswith("cached ") and " skipped 0, " in again.stdout


@pytest.mark.slow
def test_a_run_killed_while_training_leaves_no_loader_and_no_lock(tmp_path):
    """The loader workers are forked: they had a copy of the run lock's descriptor, and kept
    the lock (and GBs) for good when the run was killed."""
    data = library(tmp_path, songs=8, seconds=12.0)
    built = musicrec(data, "build-cache", "--workers", "0")
    assert built.returncode == 0, built.stderr
    # the trained encoder by name: with encoder = auto a quick CPU run trains nothing
    assert musicrec(data, "config", "set", "encoder", "moco").returncode == 0
    workers = kill_when_it_has_workers(start(data, "run", "--quick"), 2, timeout=120)
    try:
        assert wait_for(lambda: lock_is_free(data), GONE_S), "the lock is still held"
        assert wait_for(lambda: not any(running(p) for p in workers), GONE_S), \
            [p for p in workers if running(p)]
    finally:
        reap(workers)
    again = musicrec(data, "build-cache", "--workers", "0")  # takes the same lock
    assert again.returncode == 0 and "up to date 8" in again.stdout, again.stderr
    assert list((DataDirs.under(data).models / "encoder").glob(".checkpoint-*.tmp")) == []


@pytest.mark.slow
def test_embed_killed_leaves_no_loader_and_the_next_embed_runs(tmp_path):
    """The encoder that needs no training (encoder = auto), so embedding starts at once."""
    data = library(tmp_path, songs=8, seconds=12.0)
    built = musicrec(data, "build-cache", "--workers", "0")
    assert built.returncode == 0, built.stderr
    workers = kill_when_it_has_workers(start(data, "embed", "--workers", "2"), 2, timeout=120)
    try:
        assert wait_for(lambda: not any(running(p) for p in workers), GONE_S), \
            [p for p in workers if running(p)]
        assert lock_is_free(data)
    finally:
        reap(workers)
    again = musicrec(data, "embed", "--workers", "0", "--json")
    assert again.returncode == 0, again.stderr
    assert '"embedded"' in again.stdout


HOLD_LOCK = textwrap.dedent("""
    import os, subprocess, sys, time
    from musicrec_desktop.context import AppContext
    from musicrec_desktop.pipeline.lock import exclusive_run, _held_here
    with exclusive_run(AppContext.open(sys.argv[1])):
        if sys.argv[2] == "orphan":  # a worker that keeps the lock's descriptor, then we die
            fd = next(iter(_held_here))
            orphan = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(60)"],
                                      pass_fds=[fd], start_new_session=True)
            print(orphan.pid, flush=True)
            os.kill(os.getpid(), 9)
        print(os.getpid(), flush=True)
        time.sleep(60)
""")


def test_a_lock_left_to_processes_of_a_dead_run_is_stale(tmp_path):
    data = library(tmp_path, songs=2, seconds=5.0)
    holder = subprocess.Popen([sys.executable, "-c", HOLD_LOCK, str(data), "orphan"],
                              stdout=subprocess.PIPE, text=True)
    orphan = int(holder.stdout.readline())
    holder.wait(30)
    holder.stdout.close()
    try:
        assert running(orphan) and not lock_is_free(data)
        done = musicrec(data, "build-cache", "--workers", "0")
        assert done.returncode == 0, done.stderr
        assert f"pid {holder.pid}" in done.stderr and "has ended, but processes it left " \
               "behind still hold it; it is replaced" in done.stderr
        assert done.stdout.startswith("cached 2, up to date 0, skipped 0,")
    finally:
        os.kill(orphan, signal.SIGKILL)


@pytest.mark.parametrize("argv", [
    ["build-cache"], ["train-encoder", "--quick"], ["embed"], ["train-classifier"], ["playlists"],
])
def test_commands_that_write_a_stage_output_wait_for_no_run(tmp_path, argv):
    """A run holds the lock: the command is refused at once and writes nothing."""
    data = tmp_path / "data"
    DataDirs.under(data).create()
    holder = subprocess.Popen([sys.executable, "-c", HOLD_LOCK, str(data), "hold"],
                              stdout=subprocess.PIPE, text=True)
    try:
        pid = int(holder.stdout.readline())
        before = sorted(p for p in data.rglob("*") if "logs" not in p.parts)
        done = musicrec(data, *argv, timeout=60)
        assert done.returncode == EXIT_ERROR
        assert f"musicrec: another musicrec run is working: pid {pid}, " in done.stderr
        assert sorted(p for p in data.rglob("*") if "logs" not in p.parts) == before
    finally:
        holder.kill()
        holder.wait()
        holder.stdout.close()


def test_a_tiny_library_is_real_audio(tmp_path):
    data = library(tmp_path, songs=1, seconds=1.0)
    audio, rate = soundfile.read(next((data.parent / "music").iterdir()))
    assert rate == SAMPLE_RATE and np.abs(audio).max() > 0.01
