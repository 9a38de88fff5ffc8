"""The tray's endless radio: ``PlayerCommands.radio_from_current`` on its own thread.

The radio follows the player for as long as it runs (minutes to hours) and each top-up runs the
player's command line, so it gets a thread of its own rather than the GUI thread's event loop.
Its news and its end reach the GUI thread through queued signals.
"""

from __future__ import annotations

import logging
import threading

from PySide6.QtCore import QObject, QThread, Signal

from musicrec_desktop.app.player import PlayerCommands
from musicrec_desktop.app.signals import emit, emitter
from musicrec_desktop.context import AppContext

log = logging.getLogger(__name__)


class RadioThread(QThread):
    """One radio from start to end. Connect the signals, then ``start()``; ``stop()`` ends it."""

    news = Signal(object)  # RadioNews: the first batch, then each top-up
    ended = Signal(str, object)  # (why it ended, error): the error is None unless it failed

    def __init__(self, ctx: AppContext, player: PlayerCommands, parent: QObject | None = None) -> None:
        super().__init__(parent)
        self.ctx = ctx
        self.player = player
        self.stop_requested = threading.Event()
        self.setObjectName("radio")

    def run(self) -> None:  # on the radio's thread
        try:
            reason = self.player.radio_from_current(self.ctx, self.stop_requested, emitter(self.news))
        except Exception as exc:  # handed to the GUI thread, which tells the person
            log.exception("the radio failed")
            emit(self.ended, "", exc)
        else:
            log.info("radio ended: %s", reason)
            emit(self.ended, reason, None)

    def stop(self, timeout_ms: int = 30_000) -> bool:
        """Asks the radio to stop (within about a second) and waits; False if it did not end in time."""
        self.stop_requested.set()
        return self.wait(timeout_ms)
