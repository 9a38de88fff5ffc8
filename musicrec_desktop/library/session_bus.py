"""Is a player running? Asked on the D-Bus session bus (MPRIS names), with a short timeout."""

from __future__ import annotations

import logging

from musicrec_desktop.library.players import MPRIS_NAMES

log = logging.getLogger(__name__)


def running_players(timeout_ms: int = 2000) -> dict[str, bool] | None:
    """player -> whether its MPRIS name is on the session bus; None when there is no bus.

    Uses QtDBus (PySide6), imported here so that nothing else pays for Qt.
    """
    from PySide6.QtDBus import QDBus, QDBusConnection, QDBusMessage

    bus = QDBusConnection.sessionBus()
    if not bus.isConnected():
        log.info("no D-Bus session bus: %s", bus.lastError().message())
        return None
    found = {}
    for player, name in MPRIS_NAMES.items():
        call = QDBusMessage.createMethodCall("org.freedesktop.DBus", "/org/freedesktop/DBus",
                                             "org.freedesktop.DBus", "NameHasOwner")
        call.setArguments([name])
        reply = bus.call(call, QDBus.CallMode.Block, timeout_ms)
        if reply.type() != QDBusMessage.MessageType.ReplyMessage:
            log.info("session bus did not answer for %s: %s", name, reply.errorMessage())
            return None
        found[player] = bool(reply.arguments()[0])
    return found
