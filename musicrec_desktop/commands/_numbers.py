"""Number arguments of the command line, checked by argparse so that a bad one is a usage error."""

from __future__ import annotations

import argparse

from musicrec_desktop.settings import options

# The num_workers setting's own ceiling: --workers may not go past what the setting allows.
MAX_WORKERS = int(next(f.metadata["maximum"] for f in options() if f.name == "num_workers"))


def positive(text: str) -> int:
    value = int(text)
    if value < 1:
        raise argparse.ArgumentTypeError("must be 1 or more")
    return value


def not_negative(text: str) -> int:
    value = int(text)
    if value < 0:
        raise argparse.ArgumentTypeError("must be 0 or more")
    return value


def worker_count(text: str) -> int:
    value = int(text)
    if not 0 <= value <= MAX_WORKERS:
        raise argparse.ArgumentTypeError(f"must be from 0 to {MAX_WORKERS}")
    return value
