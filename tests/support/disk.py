"""A real full disk and a real unwritable folder for the tests of what musicrec says about them.

A full disk is a small tmpfs mounted for the test (only root may mount; others skip with the
reason). Root writes any folder whatever its permissions, so an unwritable folder is tested in a
process started through ``setpriv`` without root's two file-access capabilities.
"""

from __future__ import annotations

import contextlib
import errno
import os
import shutil
import subprocess
from collections.abc import Iterator
from pathlib import Path

import pytest

WITHOUT_FILE_ACCESS = ["setpriv", "--bounding-set=-dac_override,-dac_read_search"]


@contextlib.contextmanager
def small_disk(folder: Path, size_kb: int) -> Iterator[Path]:
    """A file system of ``size_kb`` kB mounted at ``folder`` for the block; skips without root."""
    if os.geteuid() != 0 or shutil.which("mount") is None:
        pytest.skip("a full disk is simulated by mounting a small tmpfs, which needs root")
    folder.mkdir(parents=True, exist_ok=True)
    mounted = subprocess.run(["mount", "-t", "tmpfs", "-o", f"size={size_kb}k", "tmpfs", str(folder)],
                             capture_output=True, text=True, check=False)
    if mounted.returncode != 0:
        pytest.skip(f"cannot mount a small tmpfs here: {mounted.stderr.strip()}")
    try:
        yield folder
    finally:
        # lazy: a process the test killed may still be letting go of a file there
        subprocess.run(["umount", "-l", str(folder)], check=False)


def fill(folder: Path, leave_bytes: int = 0) -> None:
    """Fills the disk holding ``folder`` to the last byte, or to ``leave_bytes`` free."""
    with open(folder / "filler", "wb", buffering=0) as fh:
        try:
            while shutil.disk_usage(folder).free > leave_bytes:
                fh.write(b"\0" * min(4096, max(shutil.disk_usage(folder).free - leave_bytes, 1)))
        except OSError as exc:
            assert exc.errno == errno.ENOSPC, exc
    assert shutil.disk_usage(folder).free <= leave_bytes


def without_file_access(argv: list[str]) -> list[str]:
    """``argv`` run so that folder permissions apply to it (root bypasses them); skips when
    they cannot be made to apply."""
    if os.geteuid() != 0:
        return argv
    if shutil.which("setpriv") is None or subprocess.run(
            [*WITHOUT_FILE_ACCESS, "true"], capture_output=True, check=False).returncode != 0:
        pytest.skip("root writes any folder, and setpriv cannot drop that here")
    return [*WITHOUT_FILE_ACCESS, *argv]
