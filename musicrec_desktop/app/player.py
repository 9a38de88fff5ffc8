"""What the tray asks of the player, through the companion (``musicrec_companion``).

Each method talks to D-Bus and may run the player's command line, so the tray calls them on a
worker thread. The companion and the recommender are imported on first use, not at start.
"""

from __future__ import annotations

import argparse
import logging
import xml.etree.ElementTree as ET
from pathlib import Path
from typing import Any
from urllib.parse import unquote, urlparse

from musicrec_desktop.context import AppContext
from musicrec_desktop.errors import NotReadyError, PlayerError

log = logging.getLogger(__name__)

RECOMMENDED_PLAYLIST = "musicrec: Recommended"


class PlayerCommands:
    """The tray's one narrow door to the player."""

    def play_recommended(self, ctx: AppContext) -> int:
        """Fills the "Recommended" playlist in the player and plays it; returns how many songs."""
        from musicrec_desktop.recommend.service import Recommender

        songs = [r.song for r in Recommender.open(ctx).recommended(ctx.settings.playlist_length)]
        if not songs:
            raise NotReadyError("no songs to recommend (everything was played recently or excluded)")
        with _player(ctx) as adapter:
            adapter.play_playlist(RECOMMENDED_PLAYLIST, songs)
        return len(songs)

    def radio_from_current(self, ctx: AppContext) -> Any:
        """Adds a batch of songs like the one playing now after it (the companion's radio)."""
        from musicrec_companion import radio_from_current

        return radio_from_current(ctx, argparse.Namespace(once=True, bus=None, player=None, count=None))

    def push_playlist(self, ctx: AppContext, playlist: Path) -> Any:
        """Adds a generated playlist file to the player's playlists (named after the file)."""
        files = playlist_files(playlist)
        if not files:
            raise PlayerError(f"{playlist}: the playlist has no songs on this machine")
        with _player(ctx) as adapter:
            return adapter.push_playlist(f"musicrec: {playlist.stem}", files, replace=True)

    def play_song(self, ctx: AppContext, key: str) -> None:
        """Plays one song of the library now (a click on the report's map)."""
        from musicrec_desktop.library import load_library

        song = load_library(ctx.settings, ctx.dirs).by_key().get(key)
        if song is None:
            raise NotReadyError(f"{key}: no longer in the library")
        with _player(ctx) as adapter:
            adapter.play_now(song)


class _player:  # noqa: N801 - a context manager read like a function
    """The running player's adapter, with its D-Bus connection closed afterwards."""

    def __init__(self, ctx: AppContext) -> None:
        self.ctx = ctx
        self.bus: Any = None

    def __enter__(self) -> Any:
        from musicrec_companion import open_player

        self.bus, _mpris, adapter = open_player(self.ctx)
        return adapter

    def __exit__(self, *exc: object) -> None:
        if self.bus is not None:
            self.bus.close()


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
