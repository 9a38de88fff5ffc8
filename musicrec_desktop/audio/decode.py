"""Reading spans of a music file as 16 kHz stereo float32.

soundfile (libsndfile: MP3, FLAC, Ogg Vorbis/Opus, WAV, AIFF...) seeks to each span and decodes only
that; everything else (M4A/AAC, WMA, APE, Opus in other containers...) goes through ``ffmpeg`` when
it is installed, one short process per span with ``-ss`` before the input (a fast seek).
Resampling is soxr's high-quality mode. Mono is duplicated to two channels and surround is
downmixed, because the encoder's channel-select augmentation needs a left and a right.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import soundfile as sf
import soxr

from musicrec_desktop.audio.chunks import ChunkSpan, Plan
from musicrec_desktop.constants import SAMPLE_RATE
from musicrec_desktop.errors import AudioError

FFMPEG_TIMEOUT_S = 300.0  # a hung decoder must not stall the whole build
# File name suffix -> libsndfile's major format (``soundfile.available_formats`` says which it has).
LIBSNDFILE_SUFFIXES = {".wav": "WAV", ".wave": "WAV", ".flac": "FLAC", ".ogg": "OGG",
                       ".oga": "OGG", ".opus": "OGG", ".mp3": "MP3", ".aif": "AIFF",
                       ".aiff": "AIFF", ".aifc": "AIFF", ".au": "AU", ".caf": "CAF", ".w64": "W64",
                       ".rf64": "RF64"}


class SongSkipped(AudioError):
    """This song cannot be cached; ``code`` is the reason recorded in the cache index."""

    def __init__(self, path: Path | str, code: str, detail: str = "") -> None:
        self.code, self.detail = code, detail
        super().__init__(path, f"{code}: {detail}" if detail else code)


class SpanError(AudioError):
    """One span could not be read (truncated or damaged there); other spans may still be fine."""


@dataclass(frozen=True)
class AudioInfo:
    samplerate: int
    channels: int
    duration_s: float
    decoder: str  # "soundfile" or "ffmpeg"


def ffmpeg_available() -> bool:
    return shutil.which("ffmpeg") is not None and shutil.which("ffprobe") is not None


def to_stereo(frames: np.ndarray) -> np.ndarray:
    """(n, channels) float32 -> (n, 2) float32.

    Mono is duplicated; 5.1 and 7.1 (WAV/FLAC channel order: FL FR FC LFE BL BR [SL SR]) are
    downmixed with the usual -3 dB centre and surrounds and no LFE, scaled so that full-scale input
    stays within [-1, 1]; other layouts put even channels left and odd channels right.
    """
    channels = frames.shape[1]
    if channels == 2:
        return frames
    if channels == 1:
        return np.repeat(frames, 2, axis=1)
    g = np.float32(np.sqrt(0.5))
    if channels in (6, 8):
        fl, fr, fc, back_l, back_r = (frames[:, i] for i in (0, 1, 2, 4, 5))
        left, right, norm = fl + g * fc + g * back_l, fr + g * fc + g * back_r, 1 + 2 * g
        if channels == 8:
            left, right, norm = left + g * frames[:, 6], right + g * frames[:, 7], norm + g
        return (np.stack([left, right], axis=1) / norm).astype(np.float32)
    return np.stack([frames[:, 0::2].mean(axis=1), frames[:, 1::2].mean(axis=1)], axis=1)


def resample(frames: np.ndarray, samplerate: int) -> np.ndarray:
    """(n, 2) float32 at ``samplerate`` -> (m, 2) float32 at 16 kHz, clipped to [-1, 1]."""
    if samplerate != SAMPLE_RATE:
        frames = soxr.resample(frames, samplerate, SAMPLE_RATE, quality="HQ")
    return np.clip(frames, -1.0, 1.0, out=np.asarray(frames, dtype=np.float32))


class AudioReader:
    """One song file opened for reading spans. Raises ``SongSkipped`` when it cannot be read at all."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self._file: sf.SoundFile | None = None
        _check_readable(path)
        try:
            self._file = sf.SoundFile(str(path))
            self.info = AudioInfo(self._file.samplerate, self._file.channels,
                                  self._file.frames / self._file.samplerate, "soundfile")
        except (sf.LibsndfileError, RuntimeError, TypeError) as exc:
            if not ffmpeg_available():
                raise _without_ffmpeg(path) from exc
            self.info = _ffprobe(path)
        if self.info.samplerate <= 0 or self.info.channels <= 0:
            raise SongSkipped(path, "undecodable", "no audio stream")

    def __enter__(self) -> AudioReader:
        return self

    def __exit__(self, *_: object) -> None:
        self.close()

    def close(self) -> None:
        if self._file is not None:
            self._file.close()
            self._file = None

    def read_native(self, span: ChunkSpan) -> np.ndarray:
        """The span at the file's own rate: (n, channels) float32 (ffmpeg gives 2 channels).

        A span libsndfile fails on is read again through ffmpeg when it is installed: on a
        damaged frame libsndfile gives up (and fails every later seek), ffmpeg decodes past it.
        """
        if self._file is None:
            return _ffmpeg_span(self.path, self.info.samplerate, span)
        start = int(round(span.start_s * self.info.samplerate))
        count = int(round(span.length_s * self.info.samplerate))
        try:
            self._file.seek(start)
            return self._file.read(count, dtype="float32", always_2d=True)
        except (sf.LibsndfileError, RuntimeError) as exc:
            reason = f"cannot read {span.start_s:.1f}+{span.length_s:.1f} s: {exc}"
            if not ffmpeg_available():
                raise SpanError(self.path, reason) from exc
            try:
                return _ffmpeg_span(self.path, self.info.samplerate, span)
            except SpanError as retry:
                raise SpanError(self.path, f"{reason}; ffmpeg: {retry.reason}") from exc

    def read(self, span: ChunkSpan) -> np.ndarray:
        """The span as 16 kHz stereo: (n, 2) float32 in [-1, 1]."""
        return resample(to_stereo(self.read_native(span)), self.info.samplerate)


def read_planned(path: Path, beginning_s: float, length_s: float | None,
                 plan: Plan) -> tuple[list[tuple[ChunkSpan, np.ndarray]], str]:
    """The spans ``plan`` picks from the song ``[beginning_s, beginning_s + length_s)`` of its file
    (to the file's end when ``length_s`` is None or 0), each as 16 kHz stereo, with the reason the
    last unreadable span gave ("" when none). ``SongSkipped`` when the file cannot be read or the
    plan picks nothing (``too_short``, or ``truncated`` when the song starts past the file's end)."""
    with AudioReader(path) as reader:
        end = reader.info.duration_s
        if length_s:
            end = min(end, beginning_s + length_s)
        spans = plan(beginning_s, end)
        if not spans:
            code = "too_short" if beginning_s < reader.info.duration_s else "truncated"
            raise SongSkipped(path, code, f"{end - beginning_s:.1f} s of audio")
        read, last_error = [], ""
        for span in spans:
            try:
                read.append((span, reader.read(span)))
            except SpanError as exc:
                last_error = exc.reason
    return read, last_error


def _without_ffmpeg(path: Path) -> SongSkipped:
    """Why a file libsndfile cannot open is skipped when there is no ffmpeg to try instead.

    A format libsndfile reads (a text file or a cut-off download named .mp3) is damaged, not
    unsupported; libsndfile's own message for it ("not a regular file (possibly a pipe?)") is
    misleading, so it is not passed on.
    """
    suffix = path.suffix.lower()
    if LIBSNDFILE_SUFFIXES.get(suffix) in sf.available_formats():
        return SongSkipped(path, "undecodable", f"not readable as a {suffix} file: damaged, cut "
                                                "short or not audio (or in a codec that needs "
                                                "ffmpeg, which is not installed)")
    return SongSkipped(path, "unsupported_format",
                       f"{suffix or 'this'} files need ffmpeg, which is not installed")


def _check_readable(path: Path) -> None:
    try:
        st = os.stat(path)
        with open(path, "rb"):
            pass
    except FileNotFoundError as exc:
        raise SongSkipped(path, "missing", "file not found") from exc
    except PermissionError as exc:
        raise SongSkipped(path, "unreadable", "permission denied") from exc
    except IsADirectoryError as exc:
        raise SongSkipped(path, "not_audio", "a folder") from exc
    except OSError as exc:
        raise SongSkipped(path, "unreadable", exc.strerror or str(exc)) from exc
    if st.st_size == 0:
        raise SongSkipped(path, "empty", "zero bytes")


def _ffprobe(path: Path) -> AudioInfo:
    cmd = ["ffprobe", "-v", "error", "-select_streams", "a:0", "-show_entries",
           "stream=sample_rate,channels,duration:format=duration", "-of", "json", f"file:{path}"]
    try:
        out = subprocess.run(cmd, capture_output=True, timeout=FFMPEG_TIMEOUT_S, check=False)
    except subprocess.TimeoutExpired as exc:
        raise SongSkipped(path, "decode_timeout", "ffprobe did not finish") from exc
    if out.returncode != 0:
        raise SongSkipped(path, "undecodable", _last_line(out.stderr) or "ffprobe failed")
    data = json.loads(out.stdout or b"{}")
    streams = data.get("streams") or []
    if not streams:
        raise SongSkipped(path, "undecodable", "no audio stream")
    stream = streams[0]
    duration = _number(stream.get("duration")) or _number(data.get("format", {}).get("duration"))
    if not duration:
        raise SongSkipped(path, "undecodable", "unknown length")
    return AudioInfo(int(stream.get("sample_rate") or 0), int(stream.get("channels") or 0),
                     duration, "ffmpeg")


def _ffmpeg_span(path: Path, samplerate: int, span: ChunkSpan) -> np.ndarray:
    # -threads 1: a build runs several of these at once and must not take over the machine.
    cmd = ["ffmpeg", "-nostdin", "-v", "error", "-threads", "1", "-ss", f"{span.start_s:.6f}",
           "-t", f"{span.length_s:.6f}", "-i", f"file:{path}", "-map", "0:a:0", "-vn", "-ac", "2",
           "-ar", str(samplerate), "-f", "f32le", "-"]
    try:
        out = subprocess.run(cmd, capture_output=True, timeout=FFMPEG_TIMEOUT_S, check=False)
    except subprocess.TimeoutExpired as exc:
        raise SpanError(path, "ffmpeg did not finish") from exc
    if out.returncode != 0:
        raise SpanError(path, _last_line(out.stderr) or "ffmpeg failed")
    usable = len(out.stdout) // 8 * 8
    return np.frombuffer(out.stdout[:usable], dtype="<f4").reshape(-1, 2).copy()


def _number(text: object) -> float | None:
    try:
        value = float(text)  # type: ignore[arg-type]
    except (TypeError, ValueError):
        return None
    return value if value > 0 else None


def _last_line(stderr: bytes) -> str:
    lines = stderr.decode("utf-8", "replace").strip().splitlines()
    return lines[-1][:200] if lines else ""
