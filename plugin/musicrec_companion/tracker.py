"""Turns what the player reports over time into listening events: start, finish, skip.

A song is *skipped* when the person moves on before half of it or before 30 s of listening, and
*finished* when it reaches its end or is left after that. Listening time is wall-clock time spent
in ``Playing``, so pauses do not count and seeking forward does not make a skip a finish.
"""

from __future__ import annotations

import os
import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass

from musicrec_companion.mpris import NowPlaying, url_to_path
from musicrec_desktop.library.song import Song
from musicrec_desktop.store.history import ListeningEvent

SKIP_BEFORE_S = 30.0  # moving on before this much listening is a skip, even past half a short song
END_TOLERANCE_S = 2.5  # players report the last position a little before the end


def library_keys(songs: Iterable[Song]) -> Callable[[str], str | None]:
    """``key_for_url`` for the library's songs: a player's URL to the song's key, by its file.

    Players encode URLs their own way and resolve symlinks, so files are compared, not URLs.
    """
    by_file = {os.path.realpath(s.path): s.key for s in songs if s.path is not None}

    def key_for_url(url: str) -> str | None:
        path = url_to_path(url)
        return by_file.get(os.path.realpath(path)) if path is not None else None

    return key_for_url


@dataclass
class _Current:
    url: str
    track_id: str
    length_s: float | None
    listened_s: float = 0.0
    position_s: float = 0.0  # last known position
    position_at: float = 0.0  # when it was known
    playing: bool = True


class ListeningTracker:
    """Feed it each state of the player; it returns the events that state implies.

    ``key_for_url`` maps a player URL to the library's song key (None when unknown).
    """

    def __init__(self, player: str = "", key_for_url: Callable[[str], str | None] | None = None,
                 clock: Callable[[], float] = time.time) -> None:
        self.player = player
        self.key_for_url = key_for_url or (lambda url: None)
        self.clock = clock
        self._current: _Current | None = None
        self._last_at = 0.0

    @property
    def current_url(self) -> str | None:
        return self._current.url if self._current else None

    def update(self, now: NowPlaying, position_s: float | None = None,
               at: float | None = None) -> list[ListeningEvent]:
        at = self.clock() if at is None else at
        self._advance(at)
        events: list[ListeningEvent] = []
        current = self._current
        same = current is not None and now.url == current.url and now.track_id == current.track_id
        if current is not None and (not same or now.status == "Stopped"):
            events.append(self._end(at))
            current = None
        if current is None and now.url and now.status == "Playing":
            current = self._current = _Current(now.url, now.track_id, now.length_s, position_at=at)
            events.append(self._event(current, "start", at, position_s or 0.0))
        if current is not None:
            current.playing = now.status == "Playing"
            if now.length_s:
                current.length_s = now.length_s
            if position_s is not None:
                current.position_s, current.position_at = position_s, at
        return events

    def close(self, at: float | None = None) -> list[ListeningEvent]:
        """Ends the current song (the player quit or the companion stops)."""
        at = self.clock() if at is None else at
        self._advance(at)
        return [self._end(at)] if self._current is not None else []

    # -- internals ----------------------------------------------------------------------------
    def _advance(self, at: float) -> None:
        if self._current is not None and self._current.playing:
            self._current.listened_s += max(0.0, at - self._last_at)
        self._last_at = at

    def _end(self, at: float) -> ListeningEvent:
        current = self._current
        assert current is not None
        self._current = None
        position = current.position_s + (max(0.0, at - current.position_at) if current.playing else 0.0)
        length = current.length_s
        if length:
            position = min(position, length)
        reached_end = length is not None and max(position, current.listened_s) >= length - END_TOLERANCE_S
        early = current.listened_s < SKIP_BEFORE_S or (length is not None and current.listened_s < length / 2)
        kind = "skip" if early and not reached_end else "finish"
        return self._event(current, kind, at, position)

    def _event(self, current: _Current, kind: str, at: float, position_s: float) -> ListeningEvent:
        return ListeningEvent(current.url, self.key_for_url(current.url), kind, at,  # type: ignore[arg-type]
                              round(position_s, 3), self.player)
