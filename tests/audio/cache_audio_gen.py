"""Audio made by the cache tests: time-coded tones, so a chunk tells where in the song it came from.

Left channel: a 440 Hz tone whose amplitude rises linearly from 0.1 to 0.9 over the song, so the
RMS of a chunk's first second says where the chunk starts. Right channel: a steady 1000 Hz tone,
so the two channels are told apart by their frequency.
"""

from __future__ import annotations

import hashlib
import os
import shutil
import subprocess
from pathlib import Path

import numpy as np
import soundfile as sf

from musicrec_desktop.audio._worker import SongJob, SongResult, cache_song
from musicrec_desktop.library.song import Song

LEFT_HZ, RIGHT_HZ = 440.0, 1000.0


def left_amplitude(t: np.ndarray | float, duration: float) -> np.ndarray | float:
    return 0.1 + 0.8 * np.asarray(t) / duration


def time_coded(duration: float, samplerate: int) -> np.ndarray:
    """(n, 2) float32: the test signal described above."""
    t = np.arange(int(duration * samplerate)) / samplerate
    left = left_amplitude(t, duration) * np.sin(2 * np.pi * LEFT_HZ * t)
    right = 0.3 * np.sin(2 * np.pi * RIGHT_HZ * t)
    return np.stack([left, right], axis=1).astype(np.float32)


def write(path: Path, duration: float, samplerate: int = 44100, *, channels: int = 2,
          fmt: str | None = None, subtype: str | None = None) -> Path:
    """A time-coded file; mono keeps the left channel, surround puts left in FL and right in FR."""
    audio = time_coded(duration, samplerate)
    if channels == 1:
        audio = audio[:, :1]
    elif channels > 2:
        extra = np.zeros((len(audio), channels - 2), dtype=np.float32)
        audio = np.concatenate([audio, extra], axis=1)
    sf.write(path, audio, samplerate, format=fmt, subtype=subtype)
    return path


def write_m4a(path: Path, duration: float) -> Path:
    """AAC in MP4 through ffmpeg (libsndfile cannot read it: the cache must fall back to ffmpeg)."""
    wav = path.with_suffix(".tmp.wav")
    write(wav, duration, 44100)
    subprocess.run(["ffmpeg", "-nostdin", "-v", "error", "-y", "-i", str(wav), "-c:a", "aac", "-b:a", "96k",
                    str(path)], check=True)
    wav.unlink()
    return path


def write_long_silent_wav(path: Path, hours: float, samplerate: int = 8000,
                          marks_s: tuple[float, ...] = ()) -> Path:
    """A mono 16-bit WAV of ``hours`` that costs almost no disk: a sparse file of zeros, with one
    second of full-scale 440 Hz tone at each of ``marks_s``."""
    frames = int(hours * 3600 * samplerate)
    with sf.SoundFile(path, "w", samplerate, 1, subtype="PCM_16", format="WAV") as out:
        out.write(np.zeros(samplerate, dtype=np.int16))
    data_bytes = frames * 2
    with open(path, "r+b") as fh:
        header = bytearray(fh.read(44))
        assert header[36:40] == b"data"
        header[4:8] = (36 + data_bytes).to_bytes(4, "little")
        header[40:44] = data_bytes.to_bytes(4, "little")
        fh.seek(0)
        fh.write(header)
        fh.truncate(44 + data_bytes)
        tone = (0.9 * 32767 * np.sin(2 * np.pi * LEFT_HZ * np.arange(samplerate) / samplerate)).astype("<i2")
        for mark in marks_s:
            fh.seek(44 + int(mark * samplerate) * 2)
            fh.write(tone.tobytes())
    return path


def damage(path: Path, at: float, size: int) -> Path:
    """Overwrites ``size`` bytes from ``at`` (a fraction of the file's length) with noise."""
    data = bytearray(path.read_bytes())
    start = int(len(data) * at)
    data[start:start + size] = np.random.default_rng(0).bytes(size)
    path.write_bytes(bytes(data))
    return path


def song(path: Path, key: str | None = None, beginning_s: float = 0.0, length_s: float | None = None) -> Song:
    return Song(key=key or path.as_uri(), url=path.as_uri(), path=path, beginning_s=beginning_s,
                length_s=length_s)


def checksums(folder: Path) -> dict[str, str]:
    return {str(p): hashlib.sha256(p.read_bytes()).hexdigest() + f"/{p.stat().st_mtime_ns}"
            for p in sorted(folder.rglob("*")) if p.is_file()}


def rms(x: np.ndarray) -> float:
    return float(np.sqrt(np.mean(np.square(x, dtype=np.float64))))


def peak_hz(x: np.ndarray, samplerate: int = 16000) -> float:
    spectrum = np.abs(np.fft.rfft(x * np.hanning(len(x))))
    return float(np.fft.rfftfreq(len(x), 1 / samplerate)[np.argmax(spectrum)])


def have_ffmpeg() -> bool:
    return shutil.which("ffmpeg") is not None


def cache_song_or_crash(crash_name: str, job: SongJob) -> SongResult:
    """A build worker's job that kills its process, as a crashing decoder does, on the file named
    ``crash_name``, and caches every other song as usual. Lives here, not in a test module, so
    that spawned worker processes can import it."""
    if Path(job.path).name == crash_name:
        os._exit(70)
    return cache_song(job)
