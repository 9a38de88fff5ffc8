"""Turns errors into what the person reads: what went wrong and what to do about it."""

from __future__ import annotations

from pathlib import Path

from musicrec_desktop.errors import (
    AudioError,
    CacheError,
    DatabaseLockedError,
    LibraryError,
    ModelError,
    MusicrecError,
    NotReadyError,
    PlayerError,
    SettingsError,
)
from musicrec_desktop.pipeline import PipelineBusyError
from musicrec_desktop.textsearch.text_encoder import TextEncoderMissing

# Most specific first: DatabaseLockedError is a LibraryError.
ADVICE: list[tuple[type[MusicrecError], str]] = [
    (DatabaseLockedError, "The player is busy writing its database; it is tried again on the next change."),
    (LibraryError, "Check the player database and music folders in Settings."),
    (NotReadyError, "Choose Rebuild model first."),
    (PipelineBusyError, "Let that run finish (or stop it with Ctrl+C in its terminal), then try again."),
    (SettingsError, "Fix the value in Settings."),
    (AudioError, "The song is skipped; check the file plays in your player."),
    (CacheError, "Check the cache folder and its size budget in Settings, and free disk space."),
    (ModelError, "Try a smaller batch size or the CPU device in Settings; the log has details."),
    (PlayerError, "Start your player and try again."),
    (TextEncoderMissing, "Install it, then choose Update library: text search is learnt then."),
]


def what_to_do(error: BaseException, logs: Path | None = None) -> str:
    for kind, advice in ADVICE:
        if isinstance(error, kind):
            return advice
    where = f" in {logs}" if logs else ""
    return f"This is a bug; the log{where} has the details. Please report it."


def describe(error: BaseException, logs: Path | None = None) -> str:
    """Two sentences: the error and the advice."""
    text = str(error) or type(error).__name__
    return f"{text}\n{what_to_do(error, logs)}"
