"""Every encoder backend, by the name the ``encoder`` setting uses: one line per backend.

An entry is ``"module:Class"`` (imported only when that backend is opened, so reading the
settings never imports torch or a backend's weights) or the class itself. The settings import
this module for the setting's choices, so it imports nothing of the app.
"""

from __future__ import annotations

from typing import Any

AUTO = "auto"

BACKENDS: dict[str, Any] = {
    "moco": "musicrec_desktop.encoders.moco:MocoBackend",
    "musicnn": "musicrec_desktop.encoders.musicnn:MusicnnBackend",
    "dsp": "musicrec_desktop.encoders.dsp:DspBackend",
    "mfcc": "musicrec_desktop.encoders.mfcc:MfccBackend",
    "mert": "musicrec_desktop.encoders.mert:MertBackend",
}

# ``auto`` is decided by measurement on the person's library (``measure.best_backend``); before
# anything is measured it serves with the first available of these, which need no training.
FIRST_RUN = ("musicnn", "dsp", "mfcc")
# Backends only the person chooses, never ``auto`` (they may download, or are too slow on a CPU).
OPT_IN = ("mert",)


def encoder_choices() -> tuple[str, ...]:
    """The values the ``encoder`` setting allows, read when a value is checked."""
    return (AUTO, *BACKENDS)
