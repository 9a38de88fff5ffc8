"""The running player as MPRIS2 shows it on the session bus: what plays, its playlists, its controls."""

from __future__ import annotations

import os
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from urllib.parse import unquote, urlsplit

from musicrec_companion.bus import Bus
from musicrec_desktop.errors import PlayerError

MPRIS_PATH = "/org/mpris/MediaPlayer2"
ROOT = "org.mpris.MediaPlayer2"
PLAYER = "org.mpris.MediaPlayer2.Player"
TRACKLIST = "org.mpris.MediaPlayer2.TrackList"
PLAYLISTS = "org.mpris.MediaPlayer2.Playlists"

# player name (as in settings.companion_player) -> MPRIS bus name
PLAYER_NAMES = {
    "strawberry": "org.mpris.MediaPlayer2.strawberry",
    "clementine": "org.mpris.MediaPlayer2.clementine",
}


def url_to_path(url: str) -> Path | None:
    """The local file of a ``file://`` URL, however the player encoded it; None for other schemes.

    Strawberry reports ``xesam:url`` half-encoded (spaces raw, quotes as ``%22``), Clementine fully
    percent-encoded; decoding both gives the same path, so paths are what we compare.
    """
    if not url:
        return None
    parts = urlsplit(url)
    if parts.scheme != "file":
        return None
    return Path(os.path.normpath(unquote(parts.path)))


@dataclass(frozen=True)
class NowPlaying:
    """What the player is on: one read of MPRIS ``Metadata`` and ``PlaybackStatus``."""

    url: str  # xesam:url as the player reports it ("" when nothing is loaded)
    track_id: str  # mpris:trackid
    title: str
    artist: str
    length_s: float | None  # mpris:length; None when the player does not know it
    status: str  # Playing | Paused | Stopped

    @property
    def path(self) -> Path | None:
        return url_to_path(self.url)

    @classmethod
    def from_metadata(cls, metadata: dict[str, Any], status: str) -> NowPlaying:
        artist = metadata.get("xesam:artist", "")
        if isinstance(artist, list):
            artist = ", ".join(artist)
        length = metadata.get("mpris:length")
        return cls(url=str(metadata.get("xesam:url", "")), track_id=str(metadata.get("mpris:trackid", "")),
                   title=str(metadata.get("xesam:title", "")), artist=str(artist),
                   length_s=length / 1e6 if isinstance(length, int) and length > 0 else None,
                   status=str(status))


@dataclass(frozen=True)
class PlayerPlaylist:
    id: str  # object path, e.g. /org/strawberrymusicplayer/strawberry/PlaylistId/3
    name: str


class MprisPlayer:
    """One player on the bus. Every call has the bus's time limit and raises ``PlayerError``."""

    def __init__(self, bus: Bus, player: str) -> None:
        if player not in PLAYER_NAMES:
            raise PlayerError(f"unknown player {player!r} (known: {', '.join(PLAYER_NAMES)})")
        self.bus = bus
        self.player = player
        self.service = PLAYER_NAMES[player]

    def __repr__(self) -> str:
        return f"MprisPlayer({self.player!r} on {self.bus.address})"

    def _call(self, interface: str, method: str, signature: str | None = None, args: tuple = ()) -> tuple:
        return self.bus.call(self.service, MPRIS_PATH, interface, method, signature, args)

    def _get(self, interface: str, name: str) -> Any:
        return self.bus.get(self.service, MPRIS_PATH, interface, name)

    # -- reading ------------------------------------------------------------------------------
    def is_running(self) -> bool:
        return self.bus.owner(self.service) is not None

    def identity(self) -> str:
        return str(self._get(ROOT, "Identity"))

    def now_playing(self) -> NowPlaying:
        props = self.bus.get_all(self.service, MPRIS_PATH, PLAYER)
        return NowPlaying.from_metadata(props.get("Metadata", {}), props.get("PlaybackStatus", "Stopped"))

    def position_s(self) -> float:
        return float(self._get(PLAYER, "Position")) / 1e6

    def can_go_next(self) -> bool:
        """Whether a song follows the playing one (songs given to the command line have loaded)."""
        return bool(self._get(PLAYER, "CanGoNext"))

    def can_edit_tracks(self) -> bool:
        """True only where ``TrackList.AddTrack`` really works (Strawberry 1.2.20 and later)."""
        try:
            return bool(self._get(TRACKLIST, "CanEditTracks"))
        except PlayerError:
            return False  # no TrackList interface at all

    def track_ids(self) -> list[str]:
        return [str(t) for t in self._get(TRACKLIST, "Tracks")]

    def playlists(self) -> list[PlayerPlaylist]:
        count = int(self._get(PLAYLISTS, "PlaylistCount"))
        (found,) = self._call(PLAYLISTS, "GetPlaylists", "uusb", (0, max(count, 1), "User", False))
        return [PlayerPlaylist(str(path), str(name)) for path, name, _icon in found]

    def find_playlist(self, name: str) -> PlayerPlaylist | None:
        for playlist in self.playlists():
            if playlist.name == name:
                return playlist
        return None

    def current_playlist(self) -> PlayerPlaylist | None:
        """The playlist shown in the player (where ``--load`` and ``--append`` go)."""
        valid, (path, name, _icon) = self._get(PLAYLISTS, "ActivePlaylist")
        return PlayerPlaylist(str(path), str(name)) if valid else None

    # -- controls -----------------------------------------------------------------------------
    def activate_playlist(self, playlist: PlayerPlaylist) -> None:
        self._call(PLAYLISTS, "ActivatePlaylist", "o", (playlist.id,))

    def open_uri(self, uri: str) -> None:
        """Adds one song to the active playlist and plays it at once."""
        self._call(PLAYER, "OpenUri", "s", (uri,))

    def add_track(self, uri: str, after_track: str, set_as_current: bool = False) -> None:
        self._call(TRACKLIST, "AddTrack", "sob", (uri, after_track, set_as_current))

    def set_position(self, track_id: str, position_s: float) -> None:
        """Seeks in the playing song; the player ignores it when ``track_id`` no longer plays."""
        self._call(PLAYER, "SetPosition", "ox", (track_id, round(position_s * 1e6)))

    def next(self) -> None:
        self._call(PLAYER, "Next")

    def stop(self) -> None:
        self._call(PLAYER, "Stop")

    def quit(self) -> None:
        self._call(ROOT, "Quit")

    def wait_for(self, condition: Callable[[], bool], timeout: float, what: str) -> None:
        """Polls ``condition`` until true; ``PlayerError`` naming ``what`` after ``timeout`` s.

        The command line forwards requests to the running player and returns before the player
        has acted, so results are confirmed over MPRIS.
        """
        deadline = time.monotonic() + timeout
        while True:
            if condition():
                return
            if time.monotonic() >= deadline:
                raise PlayerError(f"{self.player}: {what} did not happen within {timeout:g} s")
            time.sleep(0.1)


def running_players(bus: Bus) -> list[str]:
    """Names (``strawberry``, ``clementine``) of the players on the bus, in a stable order."""
    names = set(bus.names())
    return [player for player, service in PLAYER_NAMES.items() if service in names]


def find_player(bus: Bus, preferred: str = "auto") -> MprisPlayer:
    """The configured player (``settings.companion_player``) or the only one running."""
    running = running_players(bus)
    if preferred != "auto":
        if preferred not in PLAYER_NAMES:
            raise PlayerError(f"unknown player {preferred!r} (known: {', '.join(PLAYER_NAMES)})")
        if preferred not in running:
            raise PlayerError(f"{preferred} is not running (no {PLAYER_NAMES[preferred]} on the session "
                              "bus); start it first")
        return MprisPlayer(bus, preferred)
    if not running:
        raise PlayerError("no music player is running: start Strawberry or Clementine first")
    if len(running) > 1:
        raise PlayerError(f"both {' and '.join(running)} are running: choose one with "
                          "`musicrec config set companion_player NAME`")
    return MprisPlayer(bus, running[0])
