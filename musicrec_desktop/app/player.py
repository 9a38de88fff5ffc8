"""What the tray asks of the player, through the companion (``musicrec_companion``).

Each method talks to D-Bus and may run the player's command line, so the tray calls them on a
worker thread. The companion and the recommender are imported on first use, not at start.
"""

from __future__ import annotations

import logging
import threading
import xml.etree.ElementTree as ET
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from urllib.parse import unquote, urlparse

from musicrec_desktop.commands.play_recommended import PLAYLIST_NAME as RECOMMENDED_PLAYLIST
from musicrec_desktop.context import AppContext
from musicrec_desktop.errors import NotReadyError, PlayerError

log = logging.getLogger(__name__)

RADIO_BATCH = 5  # songs added at a time (the companion's default)
RADIO_KEEP_AHEAD = 3  # top up when fewer radio songs than this are left after the playing one


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
        from musicrec_desktop.recommend.service import Recommender

        songs = [r.song for r in Recommender.open(ctx).recommended(ctx.settings.playlist_length)]
        if not songs:
            raise NotReadyError("no songs to recommend (everything was played recently or excluded)")
        with self._player(ctx) as adapter:
            adapter.play_playlist(RECOMMENDED_PLAYLIST, songs)
        return len(songs)

    def radio_from_current(self, ctx: AppContext, stop: threading.Event,
                           report: RadioReport = _ignore) -> str:
        """Endless radio from the song playing now; blocks until it ends and returns why.

        Adds a first batch after the playing song, then follows the player (the companion's
        ``Follower``), topping up as the person listens and recording the listening history, until
        ``stop`` is set, the person switches to other music or the player quits. ``report`` hears of
        the first batch and of every top-up (on this thread). Errors before the first batch is in
        (no player, nothing playing, no model) raise.
        """
        from musicrec_companion.follower import Follower
        from musicrec_companion.radio import RecommenderFeed, seed_of
        from musicrec_companion.tracker import library_keys
        from musicrec_desktop.recommend.service import Recommender
        from musicrec_desktop.store.history import HistoryStore

        recommender = Recommender.open(ctx)  # before the bus: no model means no radio at all
        if stop.is_set():  # asked to stop while the recommender loaded: add nothing
            return "stopped"
        with self._player(ctx) as adapter:
            mpris = adapter.mpris
            now = mpris.now_playing()
            if not now.url:
                raise PlayerError("nothing is playing: start a song, then ask for radio from it")
            seed = " – ".join(p for p in (now.artist, now.title) if p) or now.url
            radio = _reporting_radio(adapter, RecommenderFeed(recommender, seed_of(now)), seed, report,
                                     self.radio_batch, self.radio_keep_ahead)
            if not radio.start(now):
                raise NotReadyError(f"no songs for a radio from {seed}: the recommender found none "
                                    "that may be played")
            ctx.dirs.create()
            with HistoryStore(ctx.dirs.history_db) as history:
                follower = Follower(mpris, history, radio, wait_for_player=False,
                                    key_for_url=library_keys(recommender.table.songs))
                try:
                    follower.run(stop)
                except PlayerError:
                    if radio.stopped_because is None:  # not the player quitting: a real failure
                        raise
            return radio.stopped_because or "stopped"

    def push_playlist(self, ctx: AppContext, playlist: Path) -> str:
        """Adds a generated playlist file to the player's playlists under its own title (the name
        ``musicrec push-playlists`` gives it), without touching what plays.

        Returns "created", or "kept" when the player already has a playlist of that name:
        replacing one makes the player switch to it and play it.
        """
        files = playlist_files(playlist)
        if not files:
            raise PlayerError(f"{playlist}: the playlist has no songs on this machine")
        with self._player(ctx) as adapter:
            return adapter.push_playlist(playlist_title(playlist), files, replace=False)

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


def _reporting_radio(adapter: Any, feed: Any, seed: str, report: RadioReport,
                    batch_size: int, keep_ahead: int) -> Any:
    """The companion's ``Radio`` that also tells ``report`` of its first batch and each top-up."""
    from musicrec_companion.radio import Radio

    class ReportingRadio(Radio):
        def start(self, now: Any) -> list:
            first = super().start(now)
            if first:
                report(RadioNews("started", seed, len(first), len(self.queued), self.ahead()))
            return first

        def on_track(self, now: Any) -> list:
            added = super().on_track(now)
            if added:
                report(RadioNews("added", seed, len(added), len(self.queued), self.ahead()))
            return added

    return ReportingRadio(adapter, feed, batch_size=batch_size, keep_ahead=keep_ahead)


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
