"""Exception families. Each carries its context; the CLI and the dialogs turn them into messages.

Exit codes of the command line are here too so that every command uses the same ones.
"""

from __future__ import annotations

from pathlib import Path

EXIT_OK = 0
EXIT_ERROR = 1  # a MusicrecError: the message says what went wrong and what to do
EXIT_USAGE = 2  # bad command line (argparse)
EXIT_NOT_READY = 3  # an earlier stage has not run yet (no cache, no model, no embeddings)
EXIT_LOCKED = 4  # the player kept its database locked for longer than we wait: try again later
EXIT_CANCELLED = 130


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
