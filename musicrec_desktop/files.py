"""Writing a file so that readers see the old one or the whole new one, and holding a file lock.

Every file the app writes for others to read (settings, models, the index, the stored library,
playlists, the pipeline's state) goes through ``atomic_write``; every lock through ``file_lock``.
"""

from __future__ import annotations

import contextlib
import fcntl
import os
import tempfile
from collections.abc import Iterator
from pathlib import Path


@contextlib.contextmanager
def atomic_write(path: Path, mode: int | None = None) -> Iterator[Path]:
    """Yields a temporary path beside ``path`` to write to. When the block ends normally, the
    file replaces ``path`` in one rename (with permissions ``mode`` when given); when it raises,
    the temporary file is removed and ``path`` is left as it was."""
    path.parent.mkdir(parents=True, exist_ok=True)
    # The suffix is kept: writers that pick a format by the file name (audio, SQLite) still can.
    fd, name = tempfile.mkstemp(dir=path.parent, prefix=f".{path.stem}-", suffix=f".tmp{path.suffix}")
    os.close(fd)
    tmp = Path(name)
    try:
        yield tmp
        if mode is not None:
            os.chmod(tmp, mode)
        os.replace(tmp, path)
    except BaseException:
        tmp.unlink(missing_ok=True)
        raise


def write_text_atomic(path: Path, text: str, mode: int | None = None) -> Path:
    """Writes ``text`` as UTF-8 with ``\\n`` line ends through ``atomic_write``."""
    with atomic_write(path, mode) as tmp, open(tmp, "w", encoding="utf-8", newline="\n") as fh:
        fh.write(text)
    return path


@contextlib.contextmanager
def file_lock(path: Path, *, wait: bool = True) -> Iterator[int]:
    """Holds an exclusive ``flock`` on ``path`` (created when missing) and yields its descriptor.

    ``wait=False`` raises ``BlockingIOError`` at once while another process holds it. The kernel
    releases the lock when the process ends, so a crash never leaves it held.
    """
    path.parent.mkdir(parents=True, exist_ok=True)
    fd = os.open(path, os.O_RDWR | os.O_CREAT, 0o644)
    try:
        fcntl.flock(fd, fcntl.LOCK_EX if wait else fcntl.LOCK_EX | fcntl.LOCK_NB)
        yield fd
    finally:
        os.close(fd)  # closing releases the lock
