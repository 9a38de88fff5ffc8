"""``musicrec tray``: the application's life cycle around the tray icon (after aw-qt)."""

from __future__ import annotations

import logging
import signal
import socket
import sys
from collections.abc import Callable

from PySide6.QtCore import QObject, QSocketNotifier, QTimer
from PySide6.QtWidgets import QApplication, QSystemTrayIcon

from musicrec_desktop.app.single_instance import SingleInstance, send, server_name
from musicrec_desktop.app.tray import TrayApp
from musicrec_desktop.context import AppContext

log = logging.getLogger(__name__)

TRAY_WAIT_S = 10  # the desktop's tray may appear after us at login


def route_signals(parent: QObject, on_signal: Callable[[], None]) -> QSocketNotifier:
    """SIGINT/SIGTERM end up as a call of ``on_signal`` on the GUI thread.

    Qt's event loop does not run Python signal handlers by itself; the C handler writes to a
    socket that Qt watches, so a signal wakes the loop at once and no timer polls while idle.
    """
    reader, writer = socket.socketpair()
    reader.setblocking(False)
    writer.setblocking(False)
    signal.set_wakeup_fd(writer.fileno())
    for number in (signal.SIGINT, signal.SIGTERM):
        signal.signal(number, lambda *_: None)  # the wakeup byte does the work
    notifier = QSocketNotifier(reader.fileno(), QSocketNotifier.Type.Read, parent)

    def woke() -> None:
        try:
            reader.recv(64)
        except BlockingIOError:
            return
        log.info("signal received: quitting")
        on_signal()

    notifier.activated.connect(woke)
    notifier._sockets = (reader, writer)  # kept alive as long as the notifier
    return notifier


def run_tray(ctx: AppContext, update_on_start: bool = True, request: str = "show") -> int:
    """Starts the tray, or hands ``request`` to the one already running (see
    ``TrayApp.handle_request``); a request other than "show" is done once the new tray is up."""
    app = QApplication.instance() or QApplication(sys.argv[:1])
    app.setApplicationName("musicrec")
    app.setApplicationDisplayName("musicrec")
    app.setQuitOnLastWindowClosed(False)  # closing a window must not end the tray
    name = server_name(ctx.dirs.config)
    if send(name, request) is not None:
        log.info("musicrec is already running; it was asked for %r", request)
        return 0

    ctx.dirs.create()
    tray = TrayApp(ctx)
    tray.show()
    instance = SingleInstance(name, lambda _message: tray.status_line(), tray)
    if not instance.listen():  # another launch won the race
        tray.shutdown()
        return 0 if send(name, request) is not None else 1
    instance.message.connect(tray.handle_request)
    route_signals(tray, tray.quit)
    app.aboutToQuit.connect(tray.shutdown)
    _wait_for_system_tray(tray, TRAY_WAIT_S)
    # A rebuild asked for now brings the library in anyway.
    log.info("tray started: %s", tray.start_up(update_on_start and request != "rebuild"))
    if request != "show":
        tray.handle_request(request)
    code = app.exec()
    instance.close()
    return code


def _wait_for_system_tray(tray: TrayApp, seconds: int) -> None:
    """aw-qt waits for the tray; we check again with a timer (never sleep on the GUI thread) and
    open the progress window if none appears, so the app is never invisible."""
    if QSystemTrayIcon.isSystemTrayAvailable():
        return
    log.warning("no system tray yet; waiting up to %d s", seconds)
    tries = {"left": seconds}

    def check() -> None:
        if QSystemTrayIcon.isSystemTrayAvailable():
            tray.icon.show()
            return
        tries["left"] -= 1
        if tries["left"] > 0:
            QTimer.singleShot(1000, check)
        else:
            log.warning("no system tray on this desktop: showing the progress window instead")
            tray.show_progress()

    QTimer.singleShot(1000, check)
