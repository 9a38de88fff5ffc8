"""The tray's endless radio: started from the song playing now and stopped from the menu; its news
reach the tray's tooltip and notifications.

The radio follows the player for minutes to hours, and each top-up runs the player's command line,
so it runs on a thread of its own (``app.tasks.Task``); its news (``RadioNews``) come as the
task's progress.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

from PySide6.QtCore import QObject, Signal
from PySide6.QtGui import QAction

from musicrec_desktop.app.messages import describe
from musicrec_desktop.app.player import PlayerCommands, RadioNews
from musicrec_desktop.app.signals import emit
from musicrec_desktop.app.tasks import Task
from musicrec_desktop.context import AppContext
from musicrec_desktop.progress import CancelToken, ProgressCallback

RADIO_START, RADIO_STOP = "Radio from current song", "Stop radio"
MORE_LIKE_THESE = "More like these"  # a radio from the playing song and those played in the last hour
Notify = Callable[..., None]  # (title, text, error=False)


class TrayRadio(QObject):
    """At most one radio; ``action`` is the menu entry that starts and stops it."""

    changed = Signal(str)  # the radio's status line; "" once it ended

    def __init__(self, player: PlayerCommands, action: QAction, notify: Notify, logs: Path,
                 parent: QObject | None = None, more_action: QAction | None = None) -> None:
        super().__init__(parent)
        self.player, self.action, self.notify, self.logs = player, action, notify, logs
        self.more_action = more_action  # "More like these": off while a radio plays
        self.task: Task | None = None  # the radio running now
        self.text = ""

    def start(self, ctx: AppContext, more_like_these: bool = False) -> bool:
        """Starts an endless radio from the song playing now (with ``more_like_these``, also from
        the songs played in the last hour); False when one is already on."""
        if self.task is not None:
            return False

        def job(news: ProgressCallback, cancel: CancelToken) -> str:
            return self.player.radio_from_current(ctx, cancel.cancel_event, news, more_like_these)

        task = Task(job, "radio", self)
        task.progressed.connect(self._news)
        task.done.connect(lambda reason, error, t=task: self._ended(t, reason or "", error))
        self.task = task
        self.action.setText(RADIO_STOP)
        if self.more_action is not None:
            self.more_action.setEnabled(False)
        self._set_text("Radio: starting…")
        task.start()
        return True

    def stop(self) -> None:
        """Asks the radio to stop; it ends within about a second (``changed`` says so)."""
        if self.task is not None and not self.task.cancel_token.cancelled:
            self.task.cancel_token.cancel()
            self._set_text("Radio: stopping…")

    def shutdown(self, timeout_ms: int) -> None:
        """Stops the radio and waits for it (on quit): its end still goes into the history."""
        if self.task is not None:
            self.task.stop(timeout_ms)
            self.task = None

    def _news(self, news: RadioNews) -> None:
        if self.task is None or self.task.cancel_token.cancelled:
            return
        self._set_text(news.text)
        if news.kind == "started":
            self.notify("Radio", f"{news.text}; more follow as you listen.")

    def _ended(self, task: Task, reason: str, error: BaseException | None) -> None:
        task.wait()
        task.deleteLater()
        asked = task.cancel_token.cancelled
        if self.task is not None and self.task is not task:
            return  # the late end of an earlier radio: the one running now owns the entry
        self.task = None
        self.action.setText(RADIO_START)
        if self.more_action is not None:
            self.more_action.setEnabled(True)
        self._set_text("")
        if error is not None:
            self.notify("Radio failed", describe(error, self.logs), error=True)
        elif not asked:  # the person switched to other music or the player quit
            self.notify("Radio ended", reason[:1].upper() + reason[1:] + ".")

    def _set_text(self, text: str) -> None:
        self.text = text
        emit(self.changed, text)
