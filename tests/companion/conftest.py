"""Real short audio files with awkward names, a private session bus, and starting real headless players."""

from __future__ import annotations

import hashlib
import shutil
import subprocess
from pathlib import Path

import numpy as np
import pytest
import soundfile as sf

from tests.support.player import HeadlessPlayer, available

# Names that break shells, naive URL code and line-based protocols.
AWKWARD_NAMES = [
    "plain song.flac",
    "it's \"quoted\"; semi.flac",
    "new\nline.flac",
    "ünïcødé 曲 #1?.flac",
    "tab\tand $HOME & back\\slash.wav",
    "percent %20 not a space.flac",
]
SAMPLE_RATE = 16000

# Strawberry plays into a UDP socket: a sink that keeps real time without any sound device
# (fakesink and ALSA's null device swallow a song instantly, so songs would never "play").
STRAWBERRY_SETTINGS = "[Backend]\nengine=gstreamer\noutput=udpsink\n"


def write_song(path: Path, seconds: float, pitch_hz: float, artist: str = "") -> Path:
    t = np.arange(int(SAMPLE_RATE * seconds)) / SAMPLE_RATE
    tone = (0.1 * np.sin(2 * np.pi * pitch_hz * t)).astype(np.float32)
    with sf.SoundFile(path, "w", SAMPLE_RATE, 2) as song:
        if artist:
            song.artist = artist
        song.write(np.stack([tone, tone], axis=1))
    return path


def checksums(paths: list[Path]) -> dict[Path, str]:
    return {p: hashlib.sha256(p.read_bytes()).hexdigest() for p in paths}


@pytest.fixture(scope="session")
def music(tmp_path_factory) -> list[Path]:
    """Six 20 s songs with awkward names and six plain 20 s ones for radio."""
    folder = tmp_path_factory.mktemp("music with spaces")
    songs = [write_song(folder / name, 20.0, 220 + 40 * i, f"Artist {i}")
             for i, name in enumerate(AWKWARD_NAMES)]
    songs += [write_song(folder / f"radio {i:02d}.flac", 20.0, 300 + 20 * i, f"Radio artist {i}")
              for i in range(6)]
    return songs


@pytest.fixture(scope="session")
def short_song(tmp_path_factory) -> Path:
    """A 3 s song that finishes on its own."""
    return write_song(tmp_path_factory.mktemp("short") / "short «finish».flac", 3.0, 440)


@pytest.fixture
def private_bus():
    """The address of a real session bus of our own, with nothing on it."""
    if shutil.which("dbus-daemon") is None:
        pytest.skip("dbus-daemon not installed")
    daemon = subprocess.Popen(["dbus-daemon", "--session", "--nofork", "--print-address=1"],
                              stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True)
    try:
        yield daemon.stdout.readline().strip()
    finally:
        daemon.terminate()
        daemon.wait(5)
        daemon.stdout.close()


def start_player(name: str, home: Path, settings: str | None = None) -> HeadlessPlayer:
    if not available(name):
        pytest.skip(f"{name}, Xvfb or dbus-daemon not installed")
    player = HeadlessPlayer(name, home, settings_text=settings)
    try:
        return player.start()
    except BaseException:
        player.stop()
        raise
