"""Work off the GUI thread: ``Task`` runs ``job(progress, cancel)`` on a QThread (the pipeline's
driver, the player's requests, the radio, the report's map: one helper for all of them).

The job never touches widgets. Its progress reports and its ``(result, error)`` reach the GUI
thread through queued signals (the receivers live there), like Picard's ``run_task``/``to_main``.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from typing import Any

from PySide6.QtCore import QObject, QThread, Signal

from musicrec_desktop.app.signals import emit, emitter
from musicrec_desktop.progress import CancelToken, ProgressCallback

log = logging.getLogger(__name__)

Job = Callable[[ProgressCallback, CancelToken], Any]


class Task(QThread):
    """One job on its own thread. Connect the signals, then ``start()``."""

    progressed = Signal(object)  # Progress
    done = Signal(object, object)  # (result, error): exactly one of them is None

    def __init__(self, job: Job, name: str = "task", parent: QObject | None = None) -> None:
        super().__init__(parent)
        self.job = job
        self.name = name
        self.cancel_token = CancelToken()
        self.setObjectName(name)

    def run(self) -> None:  # on the worker thread
        try:
            result = self.job(emitter(self.progressed), self.cancel_token)
        except Exception as exc:  # handed to the GUI thread, which tells the person
            log.exception("%s failed", self.name)
            emit(self.done, None, exc)
        else:
            emit(self.done, result, None)

    def stop(self, timeout_ms: int = 60_000) -> bool:
        """Asks the job to stop and waits for its thread; False if it did not end in time."""
        self.cancel_token.cancel()
        return self.wait(timeout_ms)
