"""One run at a time per data folder: the lock a run holds, and the error another run gets.

Every command that writes a stage's output (``run``, ``build-cache``, ``train-encoder``, ``embed``,
``train-classifier``, ``playlists``) and the tray's runs hold it.
"""

from __future__ import annotations

import contextlib
import fcntl
import logging
import os
import re
import shlex
import sys
import time
from collections.abc import Iterator
from pathlib import Path

from musicrec_desktop.context import AppContext
from musicrec_desktop.errors import MusicrecError
from musicrec_desktop.files import file_lock
from musicrec_desktop.lifetime import process_running

log = logging.getLogger(__name__)

LOCK_FILE = "pipeline.lock"  # held while a run works; says which process holds it
_HOLDER_PID = re.compile(r"pid (\d+)")
# Descriptors of the lock this process holds. A forked child (a data-loader worker) gets copies,
# and the lock stays held while any copy is open: the child closes its copies at once.
_held_here: set[int] = set()


def _close_in_child() -> None:
    for fd in _held_here:
        os.close(fd)
    _held_here.clear()


os.register_at_fork(after_in_child=_close_in_child)


class PipelineBusyError(MusicrecError):
    """Another run (the tray's worker or ``musicrec run``) is working on the same data folder."""

    def __init__(self, path: Path, holder: str) -> None:
        self.path, self.holder = path, holder
        super().__init__(f"another musicrec run is working: {holder or 'unknown process'} "
                         f"(it holds {path}); wait for it to finish or stop it, then try again")


@contextlib.contextmanager
def exclusive_run(ctx: AppContext) -> Iterator[None]:
    """One run at a time per data folder: two would train the same models and write the same
    ``pipeline.json`` at once. Raises ``PipelineBusyError`` at once instead of waiting.

    ``flock`` is released by the kernel when the last descriptor of the lock closes, so a crash
    does not leave it held. When it is held all the same and the process named in it is gone
    (processes it left behind still hold it), it is stale: the lock file is replaced.
    """
    path = ctx.dirs.state / LOCK_FILE
    with _locked(path) as fd:
        os.ftruncate(fd, 0)
        os.pwrite(fd, f"pid {os.getpid()}, {shlex.join(sys.argv)[:200]}, since "
                      f"{time.strftime('%Y-%m-%d %H:%M:%S')}\n".encode(), 0)
        _held_here.add(fd)
        try:
            yield
        finally:
            _held_here.discard(fd)


@contextlib.contextmanager
def _locked(path: Path) -> Iterator[int]:
    for _ in range(3):
        held = contextlib.ExitStack()
        try:
            fd = held.enter_context(file_lock(path, wait=False))
        except BlockingIOError:
            _replace_if_stale(path)
            continue
        with held:
            if _same_file(fd, path):  # not a lock file that a stale check replaced meanwhile
                yield fd
                return
    raise PipelineBusyError(path, _holder(path))


def _replace_if_stale(path: Path) -> None:
    """Removes the lock file when the process it names has ended; raises PipelineBusyError when
    that process still runs. Done under a lock on the folder, so only one process replaces it."""
    folder = os.open(path.parent, os.O_RDONLY | os.O_DIRECTORY)
    try:
        fcntl.flock(folder, fcntl.LOCK_EX)
        holder = _holder(path)
        match = _HOLDER_PID.match(holder)
        if match is None or process_running(int(match.group(1))):
            raise PipelineBusyError(path, holder)
        try:
            fd = os.open(path, os.O_RDWR)
        except FileNotFoundError:
            return  # replaced already
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            log.warning("%s: the run that held it (%s) has ended, but processes it left behind "
                        "still hold it; it is replaced", path, holder)
            path.unlink()
        finally:
            os.close(fd)
    finally:
        os.close(folder)  # also lets go of the folder's lock


def _holder(path: Path) -> str:
    try:
        return path.read_text(encoding="utf-8", errors="replace")[:500].strip()
    except FileNotFoundError:
        return ""


def _same_file(fd: int, path: Path) -> bool:
    try:
        return os.path.samestat(os.fstat(fd), os.stat(path))
    except FileNotFoundError:
        return False
