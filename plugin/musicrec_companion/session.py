"""What the companion does for the person, each wired once: an endless radio, "Play recommended",
playing what a text search found and pushing playlists. The command line (``musicrec radio``,
``companion --radio``, ``play-recommended``, ``search --play``, ``push-playlists``) and the tray
call these, each with its own callbacks.

Each opens the player first (without one, it says so before the recommender loads its model) and
closes its D-Bus connection afterwards.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable, Mapping, Sequence
from pathlib import Path
from typing import Any

from musicrec_companion.adapters import Playable, PushResult
from musicrec_companion.follower import Follower, open_player
from musicrec_companion.mpris import PlayerPlaylist
from musicrec_companion.radio import BATCH_SIZE, KEEP_AHEAD, Radio, RadioListener, require_playing, seed_of
from musicrec_companion.radio import start_recommended_radio as start_radio
from musicrec_companion.tracker import library_keys
from musicrec_desktop.errors import NotReadyError, PlayerError
from musicrec_desktop.library.song import Song
from musicrec_desktop.recommend.playlists import RECOMMENDED

log = logging.getLogger(__name__)

RECENT_S = 3600.0  # "More like these": the songs played in the last hour ...
MORE_LIKE_THESE = 5  # ... at most this many, besides the playing one
SEARCH_NAME_CHARS = 48  # a search's playlist is named by its words, at most this many characters


def run_radio(ctx: Any, *, seed: str | Sequence[str] | None = None, stop: threading.Event,
              bus_address: str | None = None, player: str | None = None,
              env: Mapping[str, str] | None = None, batch_size: int = BATCH_SIZE,
              keep_ahead: int = KEEP_AHEAD, on_batch: RadioListener | None = None,
              on_start: Callable[[Radio], None] | None = None,
              more_like_these: bool = False) -> tuple[Radio | None, str]:
    """An endless radio in the running player, from ``seed`` (a path, file URL or song key, which
    then plays now; or several, the first playing now) or from the song playing now; blocks until
    it ends and returns (the radio, why it ended). ``more_like_these`` (without ``seed``): the
    songs played in the last hour join the playing one as seeds (``recent_songs``).

    Follows the player, topping up as the person listens and recording the listening history,
    until ``stop`` is set, the person switches to other music or the player quits (the reason is
    then the radio's ``stopped_because``). ``on_batch``
    hears of the first batch and of every top-up, ``on_start`` of the radio once it plays (both on
    this thread). Errors before the first batch is in (no player, nothing playing, no model) raise.
    """
    from musicrec_desktop.recommend.service import Recommender
    from musicrec_desktop.store.history import HistoryStore

    bus, mpris, adapter = open_player(ctx, bus_address, player, env)
    with bus:
        if seed is None:
            require_playing(mpris.now_playing())  # before the recommender loads its model
        recommender = Recommender.latest(ctx)
        if stop.is_set():  # asked to stop while the recommender loaded: add nothing
            return None, "stopped"
        also = recent_songs(ctx.dirs.history_db) if more_like_these and seed is None else []
        radio = start_radio(adapter, recommender, seed, batch_size, keep_ahead, on_batch,
                            also=[key for key in also if recommender.table.row(key) is not None])
        if on_start is not None:
            on_start(radio)
        ctx.dirs.create()
        with HistoryStore(ctx.dirs.history_db) as history:
            follower = Follower(mpris, history, radio, wait_for_player=False,
                                key_for_url=library_keys(recommender.table.songs))
            try:
                reason = follower.run(stop)
            except PlayerError:
                if radio.stopped_because is None:  # not the player quitting: a real failure
                    raise
                reason = radio.stopped_because
    log.info("radio ended: %s", reason)
    return radio, reason


def recent_songs(history_db: Path, within_s: float = RECENT_S, most: int = MORE_LIKE_THESE,
                 now: float | None = None) -> list[str]:
    """The library songs (keys) played in the last ``within_s`` seconds, latest first, at most
    ``most``: the tray's "More like these" seeds. The players expose neither the selection nor
    (Strawberry 1.0, Clementine) the playing playlist's songs over D-Bus, so what the person has
    just listened to (the history the companion records) stands for "these songs"."""
    from musicrec_desktop.store.history import HistoryStore

    if not history_db.exists():
        return []
    since = (time.time() if now is None else now) - within_s
    with HistoryStore(history_db) as history:
        events = history.events(since=since)
    skipped = {e.song_key for e in events if e.kind == "skip"}  # not what the person wants more of
    keys = [e.song_key for e in reversed(events) if e.song_key and e.song_key not in skipped]
    return list(dict.fromkeys(keys))[:most]


def play_recommended(ctx: Any, *, count: int | None = None, seed: int | None = None,
                     name: str = RECOMMENDED, bus_address: str | None = None,
                     player: str | None = None, env: Mapping[str, str] | None = None
                     ) -> tuple[str, PlayerPlaylist, list[Song]]:
    """Fills the playlist ``name`` with ``count`` recommended songs (default: the playlist_length
    setting) in the running player and plays it; returns (the player, the playlist, its songs)."""
    from musicrec_desktop.recommend.service import Recommender

    bus, mpris, adapter = open_player(ctx, bus_address, player, env)
    with bus:
        recommendations = Recommender.latest(ctx).recommended(count or ctx.settings.playlist_length, seed)
        songs = [r.song for r in recommendations if r.song.path is not None]
        if not songs:
            raise NotReadyError("no songs to recommend (none with a file on this machine that was not "
                                "played recently or excluded)")
        return mpris.player, adapter.play_playlist(name, songs), songs


def play_path(ctx: Any, start: str | None, target: str, steps: int, *, bus_address: str | None = None,
              player: str | None = None, env: Mapping[str, str] | None = None) -> tuple[str, Any]:
    """The song path from ``start`` (None: the song playing now) to ``target``
    (``Recommender.path``) as a playlist named by its ends in the running player, playing from
    ``start``; returns (the player, the path)."""
    from musicrec_desktop.recommend.service import Recommender

    bus, mpris, adapter = open_player(ctx, bus_address, player, env)
    with bus:
        if start is None:
            now = mpris.now_playing()
            require_playing(now)  # before the recommender loads its model
            start = seed_of(now)
        path = Recommender.latest(ctx).path(start, target, steps)
        songs = [r.song for r in [path.start, *path.steps] if r.song.path is not None]
        adapter.play_playlist(path.name, songs)
        return mpris.player, path


def play_found(ctx: Any, query: str, found: Sequence[Any], *, bus_address: str | None = None,
               player: str | None = None, env: Mapping[str, str] | None = None
               ) -> tuple[str, PlayerPlaylist, list[Path]]:
    """Plays what a text search found (``textsearch.service.Found``, best first) as the playlist
    ``search_playlist_name(query)`` in the running player; returns (the player, the playlist,
    its files). Songs with no file on this machine are left out."""
    files = [Path(f.path) for f in found if f.path is not None]
    if not files:
        raise NotReadyError(f"no songs found for {query!r} with a file on this machine")
    bus, mpris, adapter = open_player(ctx, bus_address, player, env)
    with bus:
        return mpris.player, adapter.play_playlist(search_playlist_name(query), files), files


def search_playlist_name(query: str) -> str:
    """The player's playlist for a search: the words, shortened, so that searching the same
    words again replaces its songs instead of adding a playlist."""
    words = " ".join(query.split())
    if len(words) > SEARCH_NAME_CHARS:
        words = words[:SEARCH_NAME_CHARS - 1].rstrip() + "…"
    return f"Songs like “{words}”"


def generated_playlists(ctx: Any, only: Sequence[str] | None = None) -> dict[str, list[Song]]:
    """The generated playlists (those named in ``only``, if given), each with its local songs."""
    from musicrec_desktop.recommend.service import Recommender

    playlists = {}
    for name, recommendations in Recommender.latest(ctx).generated_playlists().items():
        songs = [r.song for r in recommendations if r.song.path is not None]
        if songs and (not only or name in only):
            playlists[name] = songs
    if not playlists:
        raise NotReadyError("no generated playlists with local songs to push")
    return playlists


def push_playlists(ctx: Any, playlists: Callable[[], Mapping[str, Sequence[Playable]]], *,
                   replace: bool = False, bus_address: str | None = None, player: str | None = None,
                   env: Mapping[str, str] | None = None) -> tuple[str, dict[str, tuple[PushResult, int]]]:
    """Adds each playlist (``playlists()``: name -> songs, asked once the player is found) to the
    running player's playlists without touching what plays; one already there is kept unless
    ``replace``. Returns (the player, name -> (what happened, how many songs))."""
    bus, mpris, adapter = open_player(ctx, bus_address, player, env)
    with bus:
        return mpris.player, {name: (adapter.push_playlist(name, songs, replace=replace), len(songs))
                              for name, songs in playlists().items()}
