"""Log records from any thread, as lines for the progress window's log tail."""

from __future__ import annotations

import contextlib
import logging

from PySide6.QtCore import QObject, Signal

from musicrec_desktop.app import signals


class LogTail(QObject):
    """A logging handler whose ``line`` signal carries formatted records to the GUI thread."""

    line = Signal(str)

    def __init__(self, level: int = logging.INFO) -> None:
        super().__init__()
        self.handler = _Handler(self, level)
        self.handler.setFormatter(logging.Formatter("%(asctime)s %(levelname)s %(message)s",
                                                    "%H:%M:%S"))

    def attach(self, logger: logging.Logger | None = None) -> None:
        (logger or logging.getLogger()).addHandler(self.handler)

    def detach(self, logger: logging.Logger | None = None) -> None:
        (logger or logging.getLogger()).removeHandler(self.handler)


class _Handler(logging.Handler):
    def __init__(self, tail: LogTail, level: int) -> None:
        super().__init__(level)
        self.tail = tail

    def emit(self, record: logging.LogRecord) -> None:
        # The Qt object may be gone while the app shuts down.
        with contextlib.suppress(RuntimeError):
            signals.emit(self.tail.line, self.format(record))
