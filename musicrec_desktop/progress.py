"""Progress reports and cooperative cancel/pause, free of Qt.

Long work takes a ``ProgressCallback`` and a ``CancelToken``. It checks the token before each step
and before storing that step's result, so a cancel never leaves half a result behind.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field

from musicrec_desktop.errors import Cancelled


@dataclass(frozen=True)
class Progress:
    stage: str  # "cache", "encoder", "embed", "rating", "recommend", ...
    done: int
    total: int
    rate: float | None = None  # items per second
    eta_s: float | None = None
    message: str = ""
    metrics: dict[str, float] = field(default_factory=dict)  # loss parts, learning rate, ...

    @property
    def fraction(self) -> float:
        return self.done / self.total if self.total else 0.0


ProgressCallback = Callable[[Progress], None]


def ignore_progress(_: Progress) -> None:
    """The default callback: reports go nowhere."""


class RateMeter:
    """Turns (done, total) into a rate and an ETA from the time since start."""

    def __init__(self, total: int, done: int = 0) -> None:
        self.total = total
        self._start_done = done
        self._start = time.monotonic()

    def report(self, stage: str, done: int, message: str = "", **metrics: float) -> Progress:
        elapsed = time.monotonic() - self._start
        moved = done - self._start_done
        rate = moved / elapsed if elapsed > 0 and moved > 0 else None
        eta = (self.total - done) / rate if rate else None
        return Progress(stage, done, self.total, rate, eta, message, dict(metrics))


class CancelToken:
    """Shared between the thread that asks to stop or pause and the one doing the work."""

    def __init__(self) -> None:
        self._cancelled = threading.Event()
        self._running = threading.Event()
        self._running.set()

    def cancel(self) -> None:
        self._cancelled.set()
        self._running.set()  # a paused worker wakes up to notice the cancel

    def pause(self) -> None:
        self._running.clear()

    def resume(self) -> None:
        self._running.set()

    @property
    def cancelled(self) -> bool:
        return self._cancelled.is_set()

    @property
    def cancel_event(self) -> threading.Event:
        """Set once a cancel is asked for: for loops that wait on an event (the radio's follower)."""
        return self._cancelled

    @property
    def paused(self) -> bool:
        return not self._running.is_set()

    def check(self) -> None:
        """Block while paused; raise ``Cancelled`` once a cancel was asked for."""
        self._running.wait()
        if self._cancelled.is_set():
            raise Cancelled()
