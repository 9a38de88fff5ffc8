"""One tray per person and data folder: a second ``musicrec tray`` asks the first to show itself.

The first instance listens on a local socket named after the user and the data folder; a later
launch connects, sends one line ("show") and exits. The reply tells the caller the tray is up,
which ``bench/tray.py`` uses to time the start.
"""

from __future__ import annotations

import getpass
import hashlib
import logging
from collections.abc import Callable
from pathlib import Path

from PySide6.QtCore import QObject, Signal
from PySide6.QtNetwork import QLocalServer, QLocalSocket

from musicrec_desktop.app.signals import emit

log = logging.getLogger(__name__)


def server_name(config_dir: Path) -> str:
    digest = hashlib.sha1(str(Path(config_dir).resolve()).encode()).hexdigest()[:10]
    return f"musicrec-{getpass.getuser()}-{digest}"


def send(name: str, message: str, timeout_ms: int = 1000) -> str | None:
    """Sends one line to the running instance; its reply, or None when none is running."""
    socket = QLocalSocket()
    socket.connectToServer(name)
    if not socket.waitForConnected(timeout_ms):
        return None
    socket.write((message + "\n").encode())
    socket.flush()
    reply = b""
    while b"\n" not in reply and socket.waitForReadyRead(timeout_ms):
        reply += bytes(socket.readAll().data())
    socket.disconnectFromServer()
    return reply.decode(errors="replace").strip()


class SingleInstance(QObject):
    """Listens for later launches; ``message`` carries what they sent ("show", "status")."""

    message = Signal(str)

    def __init__(self, name: str, answer: Callable[[str], str] | None = None,
                 parent: QObject | None = None) -> None:
        super().__init__(parent)
        self.name = name
        self.answer = answer or (lambda _message: "ok")
        self.server = QLocalServer(self)
        self.server.newConnection.connect(self._accept)

    def listen(self) -> bool:
        """True when this is the first instance and now listens."""
        if self.server.listen(self.name):
            return True
        # A crashed instance leaves its socket file behind: take it over if nobody answers.
        if send(self.name, "ping", 300) is None:
            QLocalServer.removeServer(self.name)
            return self.server.listen(self.name)
        return False

    def close(self) -> None:
        self.server.close()

    def _accept(self) -> None:
        while self.server.hasPendingConnections():
            socket = self.server.nextPendingConnection()
            socket.readyRead.connect(lambda s=socket: self._read(s))
            socket.disconnected.connect(socket.deleteLater)

    def _read(self, socket: QLocalSocket) -> None:
        if not socket.canReadLine():
            return
        message = bytes(socket.readLine().data()).decode(errors="replace").strip()
        log.debug("another launch says %r", message)
        if message != "ping":
            emit(self.message, message)
        socket.write((self.answer(message) + "\n").encode())
        socket.flush()
