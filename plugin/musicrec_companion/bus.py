"""A small blocking D-Bus client over jeepney, with a time limit on every call.

Why jeepney and not QtDBus: PySide6's QtDBus hands ``a{sv}`` values (MPRIS ``Metadata``) back as
opaque ``QDBusArgument`` objects, and it sends Python ints as signed (``i``), so the players refuse
``Playlists.GetPlaylists`` (signature ``uusb``); both seen with PySide6 6.12 and Strawberry 1.0.14.
jeepney is pure Python and well kept (``keyring`` and ``secretstorage`` use it), takes explicit
signatures, gives plain Python values, and needs no event loop: one-shot commands just call, and
the long-running follower reads signals from the socket (``fileno()`` lets a Qt
``QSocketNotifier`` drive it as well).
"""

from __future__ import annotations

import logging
import os
from collections import deque
from typing import Any

from jeepney import DBusAddress, MatchRule, MessageType, message_bus, new_method_call
from jeepney.auth import AuthenticationError
from jeepney.io.blocking import DBusConnection, open_dbus_connection
from jeepney.low_level import Array, DictEntry, HeaderFields, Message, Struct, Variant, parse_signature

from musicrec_desktop.errors import PlayerError

log = logging.getLogger(__name__)

CALL_TIMEOUT_S = 5.0  # a player that does not answer in 5 s is stuck or busy scanning
PROPERTIES = "org.freedesktop.DBus.Properties"
# The errors of a call to a service or object that is not there (any more).
GONE_ERRORS = frozenset({"org.freedesktop.DBus.Error.UnknownObject",
                         "org.freedesktop.DBus.Error.ServiceUnknown",
                         "org.freedesktop.DBus.Error.NameHasNoOwner"})


class ObjectGone(PlayerError):
    """The service or its object is not there: a player that quit, or one that is quitting (its MPRIS
    object goes first; Strawberry on a busy machine holds its bus name seconds after)."""


def plain(message: Message) -> tuple:
    """The body of a message as plain Python: variants (``(signature, value)`` in jeepney) unwrapped."""
    signature = message.header.fields.get(HeaderFields.signature, "")
    types = []
    chars = list(signature)
    while chars:
        types.append(parse_signature(chars))
    return tuple(_plain(kind, value) for kind, value in zip(types, message.body, strict=True))


def _plain(kind: Any, value: Any) -> Any:
    if isinstance(kind, Variant):
        signature, inner = value
        return _plain(parse_signature(list(signature)), inner)
    if isinstance(kind, Array):
        if isinstance(kind.elt_type, DictEntry):
            value_kind = kind.elt_type.fields[1]
            return {k: _plain(value_kind, v) for k, v in value.items()}
        return [_plain(kind.elt_type, v) for v in value]
    if isinstance(kind, Struct):
        return tuple(_plain(k, v) for k, v in zip(kind.fields, value, strict=True))
    return value


class Bus:
    """One connection to a session bus: the person's own (default) or one at an explicit address.

    Use a connection from one thread at a time; a follower on a worker thread opens its own.
    """

    def __init__(self, address: str | None = None, timeout: float = CALL_TIMEOUT_S) -> None:
        address = address or os.environ.get("DBUS_SESSION_BUS_ADDRESS", "")
        if not address:
            raise PlayerError("no D-Bus session bus: DBUS_SESSION_BUS_ADDRESS is not set "
                              "(start the companion inside your desktop session)")
        self.address = address
        self.timeout = timeout
        self.signals: deque[Message] = deque(maxlen=1000)
        try:
            self._conn: DBusConnection = open_dbus_connection(address, auth_timeout=timeout)
        except AuthenticationError as exc:
            raise PlayerError(f"the D-Bus session bus at {address} refused us: {exc}") from exc
        except (OSError, ValueError, TimeoutError) as exc:  # ValueError: an address jeepney cannot read
            raise PlayerError(f"cannot connect to the D-Bus session bus at {address}: {exc}") from exc
        self.unique_name: str = self._conn.unique_name

    def close(self) -> None:
        self._conn.close()

    def __enter__(self) -> Bus:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def fileno(self) -> int:
        """The socket, for a ``QSocketNotifier`` or ``select`` in an event loop."""
        return self._conn.sock.fileno()

    # -- calls --------------------------------------------------------------------------------
    def call(self, service: str, path: str, interface: str, method: str,
             signature: str | None = None, args: tuple = (), timeout: float | None = None) -> tuple:
        """Calls a method and returns its reply body (unwrapped); ``PlayerError`` on error or timeout."""
        address = DBusAddress(path, bus_name=service, interface=interface)
        message = new_method_call(address, method, signature, args)
        try:
            reply = self._conn.send_and_get_reply(message, timeout=timeout or self.timeout)
        except TimeoutError as exc:
            raise PlayerError(f"{service} did not answer {interface}.{method} within "
                              f"{timeout or self.timeout:g} s") from exc
        except (OSError, ConnectionError) as exc:
            raise PlayerError(f"lost the D-Bus connection calling {service} {method}: {exc}") from exc
        if reply.header.message_type == MessageType.error:
            text = reply.body[0] if reply.body else ""
            name = reply.header.fields.get(HeaderFields.error_name, "error")
            error = ObjectGone if name in GONE_ERRORS else PlayerError
            raise error(f"{service} refused {interface}.{method}: {name} {text}".strip())
        return plain(reply)

    def get(self, service: str, path: str, interface: str, name: str) -> Any:
        return self.call(service, path, PROPERTIES, "Get", "ss", (interface, name))[0]

    def get_all(self, service: str, path: str, interface: str) -> dict[str, Any]:
        return self.call(service, path, PROPERTIES, "GetAll", "s", (interface,))[0]

    def names(self) -> list[str]:
        return list(self._bus_call("ListNames")[0])

    def owner(self, name: str) -> str | None:
        """The unique name (``:1.42``) that owns a well-known name, or None."""
        try:
            return self._bus_call("GetNameOwner", "s", (name,))[0]
        except PlayerError:
            return None

    def _bus_call(self, method: str, signature: str | None = None, args: tuple = ()) -> tuple:
        return self.call(message_bus.bus_name, message_bus.object_path, message_bus.interface,
                         method, signature, args)

    # -- signals ------------------------------------------------------------------------------
    def subscribe(self, rule: MatchRule) -> None:
        """Asks the bus for signals matching ``rule`` and collects them in ``self.signals``.

        Signals that arrive while a call waits for its reply are kept there too (jeepney routes
        every message through the filters), so none is lost between calls.
        """
        self._bus_call("AddMatch", "s", (rule.serialise(),))
        self._conn.filter(rule, queue=self.signals)  # stays registered while the connection lives

    def wait(self, timeout: float) -> bool:
        """Reads from the bus for up to ``timeout`` s; True when a subscribed signal is waiting."""
        if self.signals:
            return True
        try:
            self._conn.recv_messages(timeout=max(timeout, 0.0))
        except TimeoutError:
            return False
        except (OSError, ConnectionError, EOFError) as exc:
            raise PlayerError(f"lost the D-Bus connection: {exc}") from exc
        return bool(self.signals)


def member(message: Message) -> str:
    return message.header.fields.get(HeaderFields.member, "")
