"""What the tray asks of the player, through the companion's sessions (``musicrec_companion.session``,
the same functions the command line uses).

Each method talks to D-Bus and may run the player's command line, so the tray calls them on a
worker thread. The companion and the recommender are imported on first use, not at start.
"""

from __future__ import annotations

import logging
import threading
import xml.etree.ElementTree as ET
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from urllib.parse import unquote, urlparse

from musicrec_desktop.context import AppContext
from musicrec_desktop.errors import NotReadyError, PlayerError

log = logging.getLogger(__name__)

RADIO_BATCH = 5  # songs added at a time (the companion's default)
RADIO_KEEP_AHEAD = 3  # top up when fewer radio songs than this are left after the playing one
PATH_STEPS = 8  # "Path to…": songs after the playing one, the chosen song last


@dataclass(frozen=True)
class RadioNews:
    """What the radio did, for the tray's status: it started, or it added songs."""

    kind: str  # "started" | "added"
    seed: str  # the song the radio started from, as the person reads it
    added: int  # songs added this time
    total: int  # songs the radio added since it started
    ahead: int  # radio songs queued after the playing one

    @property
    def text(self) -> str:
        return f"Radio from {self.seed}: {self.total} songs added"


RadioReport = Callable[[RadioNews], None]


def _ignore(_news: RadioNews) -> None:
    pass


class PlayerCommands:
    """The tray's one narrow door to the player.

    ``bus_address`` and ``env`` name a player other than the desktop's own (tests run one headless
    on a private bus); ``env`` is also what the player's command line runs with.
    """

    def __init__(self, bus_address: str | None = None, env: Mapping[str, str] | None = None,
                 radio_batch: int = RADIO_BATCH, radio_keep_ahead: int = RADIO_KEEP_AHEAD) -> None:
        self.bus_address = bus_address
        self.env = env
        self.radio_batch = radio_batch
        self.radio_keep_ahead = radio_keep_ahead

    def play_recommended(self, ctx: AppContext) -> int:
        """Fills the "Recommended" playlist in the player and plays it; returns how many songs."""
        from musicrec_companion.session import play_recommended

        _player, _playlist, songs = play_recommended(ctx, bus_address=self.bus_address, env=self.env)
        return len(songs)

    def radio_from_current(self, ctx: AppContext, stop: threading.Event,
                           report: RadioReport = _ignore, more_like_these: bool = False) -> str:
        """Endless radio from the song playing now (``more_like_these``: and from the songs played
        in the last hour); blocks until it ends and returns why
        (``musicrec_companion.session.run_radio``). ``report`` hears of the first batch and of
        every top-up (on this thread)."""
        from musicrec_companion.session import run_radio

        def batch(kind: str, radio: Any, added: list) -> None:
            report(RadioNews(kind, radio.seed_name, len(added), len(radio.queued), radio.ahead()))

        radio, reason = run_radio(ctx, stop=stop, bus_address=self.bus_address, env=self.env,
                                  batch_size=self.radio_batch, keep_ahead=self.radio_keep_ahead,
                                  on_batch=batch, more_like_these=more_like_these)
        return (radio.stopped_because if radio else None) or "stopped"

    def path_to(self, ctx: AppContext, target: Path, steps: int = PATH_STEPS) -> str:
        """Plays a song path from the song playing now to ``target`` as a playlist named by its
        ends (``musicrec path --play``); returns that name."""
        from musicrec_companion.session import play_path

        _player, path = play_path(ctx, None, str(target), steps, bus_address=self.bus_address, env=self.env)
        return path.name

    def play_found(self, ctx: AppContext, query: str, found: Sequence[Any]) -> str:
        """Plays the songs a text search found (best first) as a playlist named by the words
        (``musicrec search --play``); returns that name."""
        from musicrec_companion.session import play_found

        _player, playlist, _files = play_found(ctx, query, found, bus_address=self.bus_address,
                                               env=self.env)
        return playlist.name

    def push_playlist(self, ctx: AppContext, playlist: Path) -> str:
        """Adds a generated playlist file to the player's playlists under its own title (the name
        ``musicrec push-playlists`` gives it), without touching what plays.

        Returns "created", or "kept" when the player already has a playlist of that name:
        replacing one makes the player switch to it and play it.
        """
        from musicrec_companion.session import push_playlists

        files = playlist_files(playlist)
        if not files:
            raise PlayerError(f"{playlist}: the playlist has no songs on this machine")
        title = playlist_title(playlist)
        _player, pushed = push_playlists(ctx, lambda: {title: files}, bus_address=self.bus_address,
                                         env=self.env)
        return pushed[title][0]

    def play_song(self, ctx: AppContext, key: str) -> None:
        """Plays one song of the library now (a click on the report's map)."""
        from musicrec_desktop.library import current_library

        song = current_library(ctx.settings, ctx.dirs).by_key().get(key)
        if song is None:
            raise NotReadyError(f"{key}: no longer in the library")
        with self._player(ctx) as adapter:
            adapter.play_now(song)

    def _player(self, ctx: AppContext) -> _Player:
        return _Player(ctx, self.bus_address, self.env)


class _Player:
    """The running player's adapter, with its D-Bus connection closed afterwards."""

    def __init__(self, ctx: AppContext, bus_address: str | None, env: Mapping[str, str] | None) -> None:
        self.ctx, self.bus_address, self.env = ctx, bus_address, env
        self.bus: Any = None

    def __enter__(self) -> Any:
        from musicrec_companion.follower import open_player

        self.bus, _mpris, adapter = open_player(self.ctx, self.bus_address, env=self.env)
        return adapter

    def __exit__(self, *exc: object) -> None:
        if self.bus is not None:
            self.bus.close()


def playlist_title(path: Path) -> str:
    """The name a playlist file gives itself (XSPF ``title``, M3U8 ``#PLAYLIST:``), else its
    file name: the writers turn "/" and the like into " - " in file names, not in titles."""
    try:
        if path.suffix.lower() == ".xspf":
            title = next((e.text for e in ET.parse(path).getroot() if e.tag.endswith("title")), None)
        else:
            title = next((line[len("#PLAYLIST:"):] for line in path.read_text(encoding="utf-8").splitlines()
                          if line.startswith("#PLAYLIST:")), None)
    except (OSError, UnicodeError, ET.ParseError) as exc:
        log.warning("%s: cannot read the playlist's title (%s); using its file name", path, exc)
        title = None
    return (title or "").strip() or path.stem


def playlist_files(path: Path) -> list[Path]:
    """The local files an XSPF or M3U8 playlist lists, in order (missing ones left out)."""
    if path.suffix.lower() == ".xspf":
        root = ET.parse(path).getroot()
        locations = [e.text or "" for e in root.iter() if e.tag.endswith("location")]
    else:
        locations = [line.strip() for line in path.read_text(encoding="utf-8").splitlines()
                     if line.strip() and not line.startswith("#")]
    files = []
    for location in locations:
        parsed = urlparse(location)
        if parsed.scheme == "file":
            candidate = Path(unquote(parsed.path))
        elif not parsed.scheme:
            candidate = (path.parent / location).resolve()
        else:
            continue
        if candidate.is_file():
            files.append(candidate)
    return files
