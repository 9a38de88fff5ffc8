"""What one build worker does for one song: decode its chunks and write its cache file.

Worker processes start with ``init_worker`` before anything heavy is imported, so the thread limits
hold for every numeric library they load. They never touch the index: the build process commits
the rows, in one place, after the file is complete.
"""

from __future__ import annotations

import errno
import logging
import os
import secrets
import signal
from dataclasses import dataclass, field
from pathlib import Path

from musicrec_desktop.lifetime import die_with_parent

log = logging.getLogger(__name__)

THREAD_VARIABLES = ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS",
                    "NUMEXPR_NUM_THREADS", "VECLIB_MAXIMUM_THREADS")
DISK_FULL_ERRNOS = {errno.ENOSPC, errno.EDQUOT, errno.EFBIG}
DATA_FOLDER = "chunks"


def init_worker(threads: int = 1) -> None:
    """Runs first in every worker process: it ends with the build process, and has one thread,
    so N workers use N cores."""
    die_with_parent()
    for name in THREAD_VARIABLES:
        os.environ[name] = str(threads)
    # Ctrl+C reaches the whole process group; the build process turns it into a clean cancel.
    signal.signal(signal.SIGINT, signal.SIG_IGN)


def ping() -> bool:
    """A job that only proves the worker started."""
    return True


@dataclass(frozen=True)
class SongJob:
    song_key: str
    path: str
    beginning_s: float
    length_s: float | None
    fmt: str
    root: str  # cache root
    file_id: str  # hash of the song key: names the song's file


@dataclass
class SongResult:
    song_key: str
    file: str | None = None  # relative to the cache root; None when skipped
    offsets: list[int] = field(default_factory=list)
    seconds: list[float] = field(default_factory=list)
    starts: list[float] = field(default_factory=list)
    nbytes: int = 0
    reason: str | None = None  # skip reason
    detail: str = ""
    fatal: str | None = None  # the cache cannot be written at all (full disk): the build stops


def cache_song(job: SongJob) -> SongResult:
    """Decodes the song's chunks and writes them under a fresh name; never raises for a bad file."""
    import numpy as np

    from musicrec_desktop.audio.chunks import MIN_CHUNK_SECONDS, plan_chunks
    from musicrec_desktop.audio.decode import SongSkipped, read_planned
    from musicrec_desktop.constants import SAMPLE_RATE

    try:
        read, last_error = read_planned(Path(job.path), job.beginning_s, job.length_s, plan_chunks)
    except SongSkipped as exc:
        return SongResult(job.song_key, reason=exc.code, detail=exc.detail)
    # Decoders raise many kinds of errors on damaged files; one bad file must not stop the build.
    except Exception as exc:
        log.debug("decoding %s failed", job.path, exc_info=True)
        return SongResult(job.song_key, reason="decode_error", detail=f"{type(exc).__name__}: {exc}"[:300])
    kept = [(span, audio) for span, audio in read if len(audio) >= MIN_CHUNK_SECONDS * SAMPLE_RATE]
    chunks: list[np.ndarray] = [audio for _, audio in kept]
    starts = [round(span.start_s, 3) for span, _ in kept]
    if not chunks:
        return SongResult(job.song_key, reason="decode_error", detail=last_error or "no audio decoded")
    return _write(job, chunks, starts)


def _write(job: SongJob, chunks: list, starts: list[float]) -> SongResult:
    from musicrec_desktop.audio.formats import IncompleteWrite, write_song_file
    from musicrec_desktop.constants import SAMPLE_RATE

    folder = Path(job.root) / DATA_FOLDER / job.file_id[:2]
    # A fresh name every time: the old file stays valid until the index points at the new one.
    name = f"{job.file_id}-{secrets.token_hex(4)}.{job.fmt}"
    tmp = folder / f".{name}.tmp"
    try:
        folder.mkdir(parents=True, exist_ok=True)
        offsets = write_song_file(tmp, chunks, job.fmt)
        os.replace(tmp, folder / name)
        nbytes = (folder / name).stat().st_size
    except OSError as exc:
        tmp.unlink(missing_ok=True)
        if exc.errno in DISK_FULL_ERRNOS:
            return SongResult(job.song_key, fatal=f"the disk holding {job.root} is full ({exc.strerror})")
        return SongResult(job.song_key, fatal=f"cannot write to {folder}: {exc.strerror or exc}")
    except IncompleteWrite as exc:
        tmp.unlink(missing_ok=True)
        return SongResult(job.song_key, fatal=f"the disk holding {job.root} is probably full: "
                                              f"a song file came out short ({exc.detail})")
    except RuntimeError as exc:  # libsndfile cannot create the file at all
        tmp.unlink(missing_ok=True)
        return SongResult(job.song_key, fatal=f"cannot write {tmp.name} in {folder}: {exc}")
    return SongResult(job.song_key, file=f"{DATA_FOLDER}/{job.file_id[:2]}/{name}", offsets=offsets,
                      seconds=[round(len(c) / SAMPLE_RATE, 6) for c in chunks], starts=starts,
                      nbytes=nbytes)
