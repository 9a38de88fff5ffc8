"""Player adapters: play a named playlist, push one, run a radio, play one song now.

Neither player has a plugin API, so an adapter uses what the player exposes: MPRIS for reading and
for what MPRIS does well (``OpenUri``, ``ActivatePlaylist``, ``AddTrack`` where ``CanEditTracks``),
and the player's own command line (a second process that forwards to the running one) for named
playlists. A radio goes right after the playing song where the player can insert tracks, and into a
playlist of its own where it cannot (the command line only adds at the end of a playlist).

Every call passes its arguments as a list, never through a shell, and has a time limit, so file
names with spaces, quotes, semicolons, newlines or any unicode reach the player unchanged.
"""

from __future__ import annotations

import logging
import os
import subprocess
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Literal

from musicrec_companion.mpris import MprisPlayer, NowPlaying, PlayerPlaylist, url_to_path
from musicrec_desktop.errors import PlayerError
from musicrec_desktop.library.song import Song

log = logging.getLogger(__name__)

CLI_TIMEOUT_S = 20.0  # the forwarding process normally exits within a second
CONFIRM_TIMEOUT_S = 15.0  # the player loads files asynchronously after the command line returns
RADIO_PLAYLIST = "Radio"
RESUME_FROM_S = 1.0  # a seed played for less than this starts again from its beginning

Playable = Song | Path
PushResult = Literal["created", "replaced", "kept"]


def location(item: Playable) -> str:
    """What the command line gets: an absolute file path, or the URL of a stream."""
    if isinstance(item, Song):
        if item.path is not None:
            return str(Path(item.path).absolute())
        return item.url
    return str(Path(item).absolute())


def uri(item: Playable) -> str:
    """What MPRIS gets: a fully encoded URL (``Path.as_uri`` percent-encodes newlines, quotes, unicode)."""
    if isinstance(item, Song) and item.path is None:
        return item.url
    return Path(location(item)).as_uri()


def same_file(url: str, item: Playable) -> bool:
    """Whether the player's URL is this song: its file (players resolve symlinks, so we do too), or
    the same stream URL."""
    path = url_to_path(url)
    if path is None:
        return bool(url) and url == location(item)
    return os.path.realpath(path) == os.path.realpath(location(item))


@dataclass(frozen=True)
class RadioPlace:
    """Where a radio's next songs go: right after its last song in the person's own playlist
    (``after_track``, the ``AddTrack`` path), or at the end of the radio's own ``playlist``."""

    after_track: str | None = None  # MPRIS track id of the radio's last song
    playlist: PlayerPlaylist | None = None


class PlayerAdapter:
    """The narrow interface every player offers the companion. Subclasses name the player."""

    player = ""  # "strawberry" | "clementine"
    binary = ""

    def __init__(self, mpris: MprisPlayer, env: Mapping[str, str] | None = None,
                 cli_timeout: float = CLI_TIMEOUT_S, confirm_timeout: float = CONFIRM_TIMEOUT_S) -> None:
        if mpris.player != self.player:
            raise PlayerError(f"{type(self).__name__} cannot drive {mpris.player}")
        self.mpris = mpris
        self.env = dict(os.environ if env is None else env)
        if not self.env.get("DISPLAY") and not self.env.get("WAYLAND_DISPLAY"):
            # The forwarding process is a Qt application too; without a screen it needs no window.
            self.env["QT_QPA_PLATFORM"] = "offscreen"
        self.cli_timeout = cli_timeout
        self.confirm_timeout = confirm_timeout

    # -- the interface ------------------------------------------------------------------------
    def play_playlist(self, name: str, songs: Sequence[Playable]) -> PlayerPlaylist:
        """Creates (or replaces the songs of) the playlist ``name`` and plays it from its first song."""
        files = _locations(songs, name)
        existing = self.mpris.find_playlist(name)
        if existing is None:
            self.run_cli("--create", name, "--play", *files)
        else:
            self._make_current(existing)
            self.run_cli("--load", "--play", *files)
        self.mpris.wait_for(lambda: same_file(self.mpris.now_playing().url, songs[0]),
                            self.confirm_timeout, f"playing the first song of {name!r}")
        return self._wait_for_playlist(name)

    def push_playlist(self, name: str, songs: Sequence[Playable], replace: bool = False) -> PushResult:
        """Adds ``name`` to the player's playlists without touching what plays.

        A playlist of that name that is already there is kept unless ``replace``: replacing means
        making it the shown playlist, and both players start playing a playlist they switch to.
        """
        files = _locations(songs, name)
        existing = self.mpris.find_playlist(name)
        if existing is None:
            self.run_cli("--create", name, *files)
            self._wait_for_playlist(name)
            return "created"
        if not replace:
            return "kept"
        self._make_current(existing)
        self.run_cli("--load", *files)
        return "replaced"

    def start_radio(self, seed: Playable, songs: Sequence[Playable],
                    playing: NowPlaying | None = None) -> RadioPlace:
        """Queues ``songs`` to play right after ``seed``; ``playing`` when the seed is what plays now.

        Where the player can insert tracks (``CanEditTracks``) they go right after the playing
        seed, in the person's own playlist. The command line can only add at the end of a playlist,
        which would play the rest of the person's playlist first, so the radio then gets a playlist
        of its own, the seed followed by the songs, played from the seed (where it had got to).
        """
        if playing is not None and playing.track_id and self.mpris.can_edit_tracks():
            return RadioPlace(after_track=self._add_tracks(songs, playing.track_id))
        position = self.mpris.position_s() if playing is not None else 0.0
        playlist = self.play_playlist(RADIO_PLAYLIST, [seed, *songs])
        if position >= RESUME_FROM_S:
            self.mpris.set_position(self.mpris.now_playing().track_id, position)
        return RadioPlace(playlist=playlist)

    def add_to_radio(self, place: RadioPlace, songs: Sequence[Playable]) -> RadioPlace:
        """Adds ``songs`` after the radio's last song; returns where the next ones go."""
        if place.after_track is not None:
            if place.after_track not in self.mpris.track_ids():
                raise PlayerError("the radio's last song is no longer in the playlist")
            return RadioPlace(after_track=self._add_tracks(songs, place.after_track))
        current = self.mpris.current_playlist()
        if place.playlist is None or current is None or current.id != place.playlist.id:
            # --append goes to the shown playlist: never into one of the person's own.
            raise PlayerError(f"the {RADIO_PLAYLIST!r} playlist is no longer the one shown in {self.player}")
        self.run_cli("--append", *_locations(songs, RADIO_PLAYLIST))
        return place

    def play_now(self, song: Playable) -> None:
        """Adds one song to the playing playlist and plays it (MPRIS ``OpenUri``)."""
        self.mpris.open_uri(uri(song))

    # -- the command line ---------------------------------------------------------------------
    def run_cli(self, *args: str) -> None:
        # With no running instance the command line would start a new player instead of forwarding.
        if not self.mpris.is_running():
            raise PlayerError(f"{self.player} is not running (it quit?)")
        command = [self.binary, *args]
        log.debug("%s", command)
        try:
            result = subprocess.run(command, env=self.env, stdin=subprocess.DEVNULL, capture_output=True,
                                    timeout=self.cli_timeout, check=False)
        except FileNotFoundError as exc:
            raise PlayerError(f"{self.binary} is not installed here (needed for playlists)") from exc
        except subprocess.TimeoutExpired as exc:
            raise PlayerError(f"{self.binary} {args[0]} did not return within "
                              f"{self.cli_timeout:g} s") from exc
        if result.returncode != 0:
            tail = result.stderr.decode(errors="replace").strip()[-500:]
            raise PlayerError(f"{self.binary} {args[0]} failed ({result.returncode}): {tail}")

    # -- internals ----------------------------------------------------------------------------
    def _make_current(self, playlist: PlayerPlaylist) -> None:
        """Shows ``playlist`` in the player, so that ``--load`` replaces it and nothing else."""
        self.run_cli("--play-playlist", playlist.name)

        def shown() -> bool:
            current = self.mpris.current_playlist()
            return current is not None and current.id == playlist.id

        # Never --load before our playlist is the shown one: it would replace the person's own.
        self.mpris.wait_for(shown, self.confirm_timeout, f"showing the playlist {playlist.name!r}")

    def _add_tracks(self, songs: Sequence[Playable], after: str) -> str:
        """``AddTrack`` each song after the one before it (the first after ``after``), in order;
        returns the track id of the last one."""
        for item in songs:
            after = self._add_track(item, after)
        return after

    def _add_track(self, item: Playable, after: str) -> str:
        # The player inserts asynchronously, so each song is confirmed in place (and its new
        # track id learnt) before the next goes after it.
        known = set(self.mpris.track_ids())
        self.mpris.add_track(uri(item), after)
        added: list[str] = []

        def in_place() -> bool:
            tracks = self.mpris.track_ids()
            follows = tracks.index(after) + 1 if after in tracks else len(tracks)
            if follows < len(tracks) and tracks[follows] not in known:
                added.append(tracks[follows])
            return bool(added)

        self.mpris.wait_for(in_place, self.confirm_timeout, f"adding {location(item)!r} after {after}")
        return added[-1]

    def _wait_for_playlist(self, name: str) -> PlayerPlaylist:
        found: list[PlayerPlaylist] = []

        def listed() -> bool:
            playlist = self.mpris.find_playlist(name)
            if playlist is not None:
                found.append(playlist)
            return playlist is not None

        self.mpris.wait_for(listed, self.confirm_timeout, f"the playlist {name!r} appearing")
        return found[-1]


class StrawberryAdapter(PlayerAdapter):
    player = "strawberry"
    binary = "strawberry"


class ClementineAdapter(PlayerAdapter):
    player = "clementine"
    binary = "clementine"


ADAPTERS: dict[str, type[PlayerAdapter]] = {"strawberry": StrawberryAdapter, "clementine": ClementineAdapter}


def adapter_for(mpris: MprisPlayer, env: Mapping[str, str] | None = None) -> PlayerAdapter:
    return ADAPTERS[mpris.player](mpris, env)


def _locations(songs: Sequence[Playable], what: str) -> list[str]:
    if not songs:
        raise PlayerError(f"no songs for {what!r}")
    return [location(s) for s in songs]
