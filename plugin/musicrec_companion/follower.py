"""The long-running follower: listens to the player's ``PropertiesChanged`` signals, records the
listening history and keeps a radio going.

It needs no event loop: ``run(stop)`` blocks, waking at least every ``tick_s`` (so a stop request,
SIGINT or SIGTERM ends it within a second). In a Qt program, either run it on a worker thread or
drive ``process(0)`` from a ``QSocketNotifier`` on ``fileno()`` plus a one-second timer.
"""

from __future__ import annotations

import logging
import threading
import time
from collections import deque
from collections.abc import Callable, Mapping
from typing import Any

from jeepney import MatchRule

from musicrec_companion.adapters import PlayerAdapter, adapter_for, same_file
from musicrec_companion.bus import PROPERTIES, Bus, ObjectGone, member
from musicrec_companion.mpris import MPRIS_PATH, MprisPlayer, find_player
from musicrec_companion.radio import Radio
from musicrec_companion.tracker import ListeningTracker
from musicrec_desktop.errors import PlayerError
from musicrec_desktop.store.history import HistoryStore, ListeningEvent

log = logging.getLogger(__name__)

TICK_S = 1.0  # how often the position is read and a stop request is noticed
RECONNECT_S = 2.0  # how often a quit player is looked for again
QUIT_GRACE_S = 3.0  # a player that stopped answering but still holds its name may be quitting


class Follower:
    """Follows one player. ``history`` and ``radio`` are optional; ``on_event`` sees every event."""

    def __init__(self, mpris: MprisPlayer, history: HistoryStore | None = None, radio: Radio | None = None,
                 *, wait_for_player: bool = True, key_for_url: Callable[[str], str | None] | None = None,
                 on_event: Callable[[ListeningEvent], None] | None = None, tick_s: float = TICK_S) -> None:
        self.mpris = mpris
        self.bus = mpris.bus
        self.history = history
        self.radio = radio
        self.wait_for_player = wait_for_player
        self.on_event = on_event
        self.tick_s = tick_s
        keys = key_for_url or (lambda url: None)
        self.tracker = ListeningTracker(mpris.player, lambda url: self._radio_key(url) or keys(url))
        self._recent: deque[ListeningEvent] = deque(maxlen=1000)
        self._recent_lock = threading.Lock()  # the loop appends while other threads read
        self._owner: str | None = None
        self._subscribe()

    @property
    def events(self) -> list[ListeningEvent]:
        """The latest events (at most 1000), oldest first: a copy, safe to read from any thread."""
        with self._recent_lock:
            return list(self._recent)

    def fileno(self) -> int:
        return self.bus.fileno()

    # -- the loop -----------------------------------------------------------------------------
    def run(self, stop: threading.Event, timeout: float | None = None) -> str:
        """Follows until ``stop`` is set, the radio ends (when there is one) or ``timeout`` s pass.

        Returns why it ended. When the player quits: with ``wait_for_player`` the follower waits for
        it to come back; without, it raises ``PlayerError``.
        """
        deadline = None if timeout is None else time.monotonic() + timeout
        try:
            self.begin()
            while not stop.is_set():
                if self.radio is not None and not self.radio.running:
                    return f"radio: {self.radio.stopped_because}"
                if deadline is not None and time.monotonic() >= deadline:
                    return "time limit"
                self.process(self.tick_s)
            return "stopped"
        finally:
            self.end()

    def begin(self) -> None:
        """Reads the player's state once; call before ``process`` when an event loop drives it."""
        self._owner = self.bus.owner(self.mpris.service)
        if self._owner is None:
            self._player_gone()
        else:
            self._refresh()

    def end(self) -> None:
        """Ends the song being followed (its finish or skip is recorded)."""
        self._record(self.tracker.close())

    def process(self, timeout: float) -> None:
        """Handles what the bus has for us within ``timeout`` s, then reads the player once."""
        if self._owner is None:
            self._wait_for_return(timeout)
            return
        self.bus.wait(timeout)
        # A PropertiesChanged signal only wakes us: the state is read whole below, which also
        # covers what signals do not carry (Position) and players that signal sparingly.
        while self.bus.signals:
            message = self.bus.signals.popleft()
            if member(message) == "NameOwnerChanged":
                _name, _old, new = message.body
                self._owner = new or None
                if self._owner is None:
                    self._player_gone()
                    return
        self._refresh()

    # -- internals ----------------------------------------------------------------------------
    def _subscribe(self) -> None:
        self.bus.subscribe(MatchRule(type="signal", interface=PROPERTIES, member="PropertiesChanged",
                                     path=MPRIS_PATH))
        owner_rule = MatchRule(type="signal", sender="org.freedesktop.DBus", interface="org.freedesktop.DBus",
                               member="NameOwnerChanged", path="/org/freedesktop/DBus")
        owner_rule.add_arg_condition(0, self.mpris.service)
        self.bus.subscribe(owner_rule)

    def _refresh(self) -> None:
        try:
            now = self.mpris.now_playing()
            position = self.mpris.position_s() if now.status != "Stopped" else None
        except ObjectGone:
            # A quitting player drops its MPRIS object before its bus name, sometimes seconds before:
            # with no object there is nothing to follow, whether the name has gone yet or not.
            self._owner = None
            self._player_gone()
            return
        except PlayerError:
            # A player that stopped answering but still holds its name may be quitting.
            if self._owner_after(QUIT_GRACE_S) is not None:
                raise
            self._owner = None
            self._player_gone()
            return
        self._record(self.tracker.update(now, position))
        if self.radio is not None:
            try:
                self.radio.on_track(now)
            except PlayerError as exc:
                # The history goes on; the radio cannot.
                self.radio.stop(f"could not add songs: {exc}")

    def _player_gone(self) -> None:
        self._record(self.tracker.close())
        if self.radio is not None:
            self.radio.stop(f"{self.mpris.player} quit")
        if not self.wait_for_player:
            raise PlayerError(f"{self.mpris.player} quit")
        log.info("%s is not running; waiting for it", self.mpris.player)

    def _owner_after(self, grace_s: float) -> str | None:
        """Who owns the player's name once it has let go of it, or ``grace_s`` s have passed."""
        deadline = time.monotonic() + grace_s
        owner = self.bus.owner(self.mpris.service)
        while owner is not None and time.monotonic() < deadline:
            time.sleep(0.1)
            owner = self.bus.owner(self.mpris.service)
        return owner

    def _wait_for_return(self, timeout: float) -> None:
        self.bus.wait(min(timeout, RECONNECT_S))
        self.bus.signals.clear()
        self._owner = self.bus.owner(self.mpris.service)
        if self._owner is not None:
            self._refresh()  # one still quitting (or only starting) has no MPRIS object: gone again
            if self._owner is not None:
                log.info("%s is back", self.mpris.player)

    def _record(self, events: list[ListeningEvent]) -> None:
        for event in events:
            log.info("%s %s at %.1f s", event.kind, event.song_url, event.position_s)
            with self._recent_lock:
                self._recent.append(event)
            if self.history is not None:
                self.history.record(event)
            if self.on_event is not None:
                self.on_event(event)

    def _radio_key(self, url: str) -> str | None:
        if self.radio is None:
            return None
        for song in self.radio.queued:
            if same_file(url, song):
                return song.key
        return None


def open_player(ctx: Any, bus_address: str | None = None, player: str | None = None,
                env: Mapping[str, str] | None = None) -> tuple[Bus, MprisPlayer, PlayerAdapter]:
    """The bus, the chosen player (argument, else ``settings.companion_player``) and its adapter."""
    bus = Bus(bus_address)
    try:
        mpris = find_player(bus, player or ctx.settings.companion_player)
    except BaseException:
        bus.close()
        raise
    return bus, mpris, adapter_for(mpris, env)
