"""Exception families. Each carries its context; the CLI and the dialogs turn them into messages.

Exit codes of the command line are here too so that every command uses the same ones.
"""

from __future__ import annotations

import errno
import shutil
from pathlib import Path

EXIT_OK = 0
EXIT_ERROR = 1  # a MusicrecError: the message says what went wrong and what to do
EXIT_USAGE = 2  # bad command line (argparse)
EXIT_NOT_READY = 3  # an earlier stage has not run yet (no cache, no model, no embeddings)
EXIT_LOCKED = 4  # the player kept its database locked for longer than we wait: try again later
EXIT_CANCELLED = 130
EXIT_BROKEN_PIPE = 141  # what a shell reports for a command whose reader went away (128 + SIGPIPE)


class MusicrecError(Exception):
    """Base of every error this app reports to the person."""

    exit_code = EXIT_ERROR


class SettingsError(MusicrecError):
    def __init__(self, key: str, value: object, allowed: str) -> None:
        self.key, self.value, self.allowed = key, value, allowed
        super().__init__(f"setting {key!r}: {value!r} is not allowed ({allowed})")


class LibraryError(MusicrecError):
    """The player database or a music folder cannot be read."""

    def __init__(self, path: Path | str, reason: str) -> None:
        self.path, self.reason = Path(path), reason
        super().__init__(f"{path}: {reason}")


class DatabaseLockedError(LibraryError):
    """The player holds a write lock on its database for longer than we wait."""

    exit_code = EXIT_LOCKED


class AudioError(MusicrecError):
    """A song cannot be decoded or cached."""

    def __init__(self, path: Path | str, reason: str) -> None:
        self.path, self.reason = Path(path), reason
        super().__init__(f"{path}: {reason}")


class CacheError(MusicrecError):
    """The chunk cache cannot be written (full disk, budget) or is unusable."""


NEARLY_FULL_BYTES = 1_000_000  # less room than this: a write failing there is put down to it


class StorageError(MusicrecError):
    """A file of ours cannot be written: the disk is full, read-only, or the folder not ours."""

    def __init__(self, path: Path | str | None, reason: str) -> None:
        self.path, self.reason = (Path(path) if path else None), reason
        super().__init__(f"{path}: {reason}" if path else reason)

    @classmethod
    def from_os_error(cls, exc: OSError, path: Path | str | None = None) -> StorageError:
        """The message for ``exc``, which says what to do, about ``path`` (default: the file
        that ``exc`` names)."""
        path = path if path is not None else exc.filename
        if exc.errno in (errno.ENOSPC, errno.EDQUOT):
            free = free_space_note(path)
            return cls(path, f"the disk is full ({exc.strerror}{free}); free some space and run "
                             "the command again (the work done so far is kept)")
        if exc.errno in (errno.EACCES, errno.EPERM):
            return cls(path, "permission denied; fix the folder's permissions or keep musicrec's "
                             "files elsewhere (musicrec --data-dir DIR, or the cache_dir setting)")
        if exc.errno == errno.EROFS:
            return cls(path, "the file system is read-only; keep musicrec's files elsewhere "
                             "(musicrec --data-dir DIR)")
        return cls(path, exc.strerror or str(exc))


def full_disk_note(path: Path | str) -> str:
    """``"; the disk is full (12 kB free): ..."`` when the disk holding ``path`` has next to no
    room left, for errors that do not say so (SQLite reports a full disk as "disk I/O error")."""
    free = _free_bytes(path)
    if free is None or free >= NEARLY_FULL_BYTES:
        return ""
    return f"; the disk is full ({free / 1000:.0f} kB free): free some space and run it again"


def free_space_note(path: Path | str | None) -> str:
    """``", 12 kB free"``: how much room the disk holding ``path`` has left; "" when unknown."""
    free = _free_bytes(path) if path else None
    return "" if free is None else f", {free / 1000:.0f} kB free"


def _free_bytes(path: Path | str) -> int | None:
    folder = Path(path)
    while not folder.exists() and folder != folder.parent:  # the file may not be there yet
        folder = folder.parent
    try:
        return shutil.disk_usage(folder).free
    except OSError:
        return None


class ModelError(MusicrecError):
    """Training, checkpoints or embedding failed."""


class NotReadyError(MusicrecError):
    """An earlier stage has not produced what this one needs."""

    exit_code = EXIT_NOT_READY


class NoLibraryError(NotReadyError):
    """No player database or music folder is configured or found, and no demo library was made."""

    def __init__(self) -> None:
        super().__init__("no library configured: no Strawberry or Clementine database and no music "
                         "folder found; set one with `musicrec config set database_path PATH` or "
                         "`musicrec config set music_folders DIR` (or try the demo library: "
                         "`musicrec run`)")


class PlayerError(MusicrecError):
    """The running player cannot be reached or refused a request."""


class Cancelled(MusicrecError):
    """The person asked to stop; work done so far is kept."""

    exit_code = EXIT_CANCELLED

    def __init__(self, message: str = "cancelled") -> None:
        super().__init__(message)
