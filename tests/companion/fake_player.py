"""A stand-in MPRIS player on a private session bus, for what the real players here cannot show.

Debian's Strawberry is 1.0.14 and Clementine 1.4: both report ``CanEditTracks`` false, so the
``TrackList.AddTrack`` path (Strawberry 1.2.20 and later) cannot run against a real player here,
and neither keeps a song in its ``Metadata`` once stopped. This service answers the few MPRIS
calls the companion makes, as Strawberry 1.2.20+ does (``AddTrack`` inserts right after the given
track), and records every ``AddTrack`` call. It is a real D-Bus service (jeepney, on its own
thread), so the companion's own bus code runs unchanged against it.
"""

from __future__ import annotations

import threading
from dataclasses import dataclass, field
from typing import Any

from jeepney import MessageType, message_bus, new_error, new_method_return
from jeepney.io.blocking import open_dbus_connection
from jeepney.low_level import HeaderFields, Message

SERVICE = "org.mpris.MediaPlayer2.strawberry"
TRACK_PREFIX = "/org/strawberrymusicplayer/strawberry/Track/"
NO_TRACK = "/org/mpris/MediaPlayer2/TrackList/NoTrack"


@dataclass
class Track:
    id: str
    url: str


@dataclass
class AddTrackCall:
    url: str
    after: str
    set_as_current: bool


@dataclass
class PlayerState:
    tracks: list[Track] = field(default_factory=list)
    playing: str = ""  # track id; "" when nothing is loaded
    status: str = "Playing"
    can_edit_tracks: bool = True
    added: list[AddTrackCall] = field(default_factory=list)
    object_gone: bool = False  # quitting: the MPRIS object unregistered, the bus name still held


class FakeStrawberry:
    """``with FakeStrawberry(bus_address, urls) as player:`` the first url plays."""

    def __init__(self, bus_address: str, urls: list[str], can_edit_tracks: bool = True) -> None:
        self.bus_address = bus_address
        self._lock = threading.Lock()
        self._next_id = 0
        self.state = PlayerState(can_edit_tracks=can_edit_tracks)
        self.state.tracks = [self._new_track(url) for url in urls]
        self.state.playing = self.state.tracks[0].id if urls else ""
        self._stop = threading.Event()
        self._ready = threading.Event()
        self._thread = threading.Thread(target=self._serve, daemon=True)
        self._error: BaseException | None = None

    def __enter__(self) -> FakeStrawberry:
        self._thread.start()
        if not self._ready.wait(10):
            raise RuntimeError(f"the fake player did not start: {self._error}")
        return self

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        self._thread.join(10)

    # -- what the test does to it ---------------------------------------------------------------
    def play(self, track_id: str, status: str = "Playing") -> None:
        with self._lock:
            self.state.playing, self.state.status = track_id, status

    def remove(self, track_id: str) -> None:
        with self._lock:
            self.state.tracks = [t for t in self.state.tracks if t.id != track_id]

    def start_quitting(self) -> None:
        """What a quitting Strawberry does first: its MPRIS object goes, its bus name stays (until
        the ``with`` block ends here)."""
        with self._lock:
            self.state.object_gone = True

    def object_back(self) -> None:
        """Its MPRIS object answers again (a player that was only starting: the name comes first)."""
        with self._lock:
            self.state.object_gone = False

    def urls(self) -> list[str]:
        with self._lock:
            return [t.url for t in self.state.tracks]

    def calls(self) -> list[AddTrackCall]:
        with self._lock:
            return list(self.state.added)

    def track_id(self, url: str) -> str:
        with self._lock:
            return next(t.id for t in self.state.tracks if t.url == url)

    # -- the service ------------------------------------------------------------------------------
    def _new_track(self, url: str) -> Track:
        self._next_id += 1
        return Track(f"{TRACK_PREFIX}{self._next_id}", url)

    def _serve(self) -> None:
        try:
            with open_dbus_connection(self.bus_address) as conn:
                conn.send_and_get_reply(message_bus.RequestName(SERVICE))
                self._ready.set()
                while not self._stop.is_set():
                    try:
                        message = conn.receive(timeout=0.1)
                    except TimeoutError:
                        continue
                    if message.header.message_type == MessageType.method_call:
                        conn.send(self._answer(message))
        except BaseException as exc:  # reported by __enter__, or seen by the client as a dead service
            self._error = exc
            raise

    def _answer(self, message: Message) -> Message:
        fields = message.header.fields
        interface, member = fields.get(HeaderFields.interface, ""), fields.get(HeaderFields.member, "")
        with self._lock:
            if self.state.object_gone:
                return new_error(message, "org.freedesktop.DBus.Error.UnknownObject", "s",
                                 (f"No such object path '{fields.get(HeaderFields.path, '')}'",))
            if interface == "org.freedesktop.DBus.Properties" and member == "Get":
                props = self._properties(message.body[0])
                if message.body[1] in props:
                    return new_method_return(message, "v", (props[message.body[1]],))
            elif interface == "org.freedesktop.DBus.Properties" and member == "GetAll":
                return new_method_return(message, "a{sv}", (self._properties(message.body[0]),))
            elif interface == "org.mpris.MediaPlayer2.TrackList" and member == "AddTrack":
                if self._add_track(*message.body):
                    return new_method_return(message)
                return new_error(message, "org.freedesktop.DBus.Error.InvalidArgs", "s",
                                 (f"no track {message.body[1]}",))
        return new_error(message, "org.freedesktop.DBus.Error.UnknownMethod", "s",
                         (f"the fake player has no {interface}.{member}",))

    def _properties(self, interface: str) -> dict[str, tuple[str, Any]]:
        state = self.state
        if interface == "org.mpris.MediaPlayer2":
            return {"Identity": ("s", "Strawberry")}
        if interface == "org.mpris.MediaPlayer2.Player":
            metadata: dict[str, tuple[str, Any]] = {}
            playing = next((t for t in state.tracks if t.id == state.playing), None)
            if playing is not None:
                metadata = {"mpris:trackid": ("o", playing.id), "xesam:url": ("s", playing.url),
                            "xesam:title": ("s", playing.url.rsplit("/", 1)[-1])}
            return {"PlaybackStatus": ("s", state.status), "Metadata": ("a{sv}", metadata),
                    "Position": ("x", 0)}
        if interface == "org.mpris.MediaPlayer2.TrackList":
            return {"CanEditTracks": ("b", state.can_edit_tracks),
                    "Tracks": ("ao", [t.id for t in state.tracks])}
        return {}

    def _add_track(self, url: str, after: str, set_as_current: bool) -> bool:
        state = self.state
        state.added.append(AddTrackCall(url, after, set_as_current))
        if not state.can_edit_tracks:
            return True  # what Strawberry before 1.2.20 and Clementine do: nothing
        ids = [t.id for t in state.tracks]
        if after != NO_TRACK and after not in ids:
            return False
        state.tracks.insert(0 if after == NO_TRACK else ids.index(after) + 1, self._new_track(url))
        return True
