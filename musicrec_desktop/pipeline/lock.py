"""One run at a time per data folder: the lock a run holds, and the error another run gets."""

from __future__ import annotations

import contextlib
import os
import shlex
import sys
import time
from collections.abc import Iterator
from pathlib import Path

from musicrec_desktop.context import AppContext
from musicrec_desktop.errors import MusicrecError
from musicrec_desktop.files import file_lock

LOCK_FILE = "pipeline.lock"  # held while a run works; says which process holds it


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

    ``flock`` is released by the kernel when the process ends, so a crash never leaves it held.
    """
    path = ctx.dirs.state / LOCK_FILE
    held = contextlib.ExitStack()
    try:
        fd = held.enter_context(file_lock(path, wait=False))
    except BlockingIOError:
        holder = path.read_text(encoding="utf-8", errors="replace")[:500].strip()
        raise PipelineBusyError(path, holder) from None
    with held:
        os.ftruncate(fd, 0)
        os.pwrite(fd, f"pid {os.getpid()}, {shlex.join(sys.argv)[:200]}, since "
                      f"{time.strftime('%Y-%m-%d %H:%M:%S')}\n".encode(), 0)
        yield
