"""Endless radio in the running player: a first batch after the seed song, topped up as the person
listens, stopped when asked or when the person switches to other music.

The radio asks a ``SongFeed`` for songs, so tests can feed it real files directly; the app feeds
it from the recommender (``RecommenderFeed``). The companion never trains anything.
"""

from __future__ import annotations

import logging
import signal
import threading
from collections.abc import Callable, Iterable, Sequence
from pathlib import Path
from typing import Any, Protocol

from musicrec_companion.adapters import Playable, PlayerAdapter, RadioPlace, same_file
from musicrec_companion.mpris import NowPlaying
from musicrec_desktop.errors import NotReadyError, PlayerError
from musicrec_desktop.library.song import Song

log = logging.getLogger(__name__)

BATCH_SIZE = 5  # songs added at a time
KEEP_AHEAD = 3  # top up when fewer radio songs than this are left after the playing one


# Hears of each batch the radio adds: ("started" | "added", the radio, the songs added).
RadioListener = Callable[[str, "Radio", list[Song]], None]


class SongFeed(Protocol):
    def next_batch(self, n: int) -> list[Song]:
        """Up to ``n`` more songs for the radio (fewer or none when there are no more)."""
        ...


class ListFeed:
    """Songs from a list, in order, each once (tests, and "radio from these songs")."""

    def __init__(self, songs: Iterable[Song]) -> None:
        self._songs = list(songs)

    def next_batch(self, n: int) -> list[Song]:
        batch, self._songs = self._songs[:n], self._songs[n:]
        return batch


class RecommenderFeed:
    """The recommender's radio (``Recommender.radio``) from one song or several, continued without
    repeats."""

    def __init__(self, recommender: Any, seed: str | Sequence[str]) -> None:
        self.recommender = recommender
        self.seed = seed
        self.session: Any = None

    def next_batch(self, n: int) -> list[Song]:
        recommendations, self.session = self.recommender.radio(self.seed, n, self.session)
        return [r.song for r in recommendations]


def require_playing(now: NowPlaying) -> None:
    """``PlayerError`` unless a song plays or is paused: a stopped player may still show its last one."""
    if not now.url or now.status == "Stopped":
        raise PlayerError("nothing is playing: start a song, then ask for radio from it")


class Radio:
    """Keeps a few radio songs queued after the playing one.

    ``start`` queues the first batch after the seed (the song playing now), ``start_from`` plays any
    song now with the first batch after it; ``on_track`` is called with every new state of the
    player and tops up or stops. Where the songs go is the adapter's choice (``start_radio``). The
    queued songs play in the order they were added unless the person reorders them.
    """

    def __init__(self, adapter: PlayerAdapter, feed: SongFeed, batch_size: int = BATCH_SIZE,
                 keep_ahead: int = KEEP_AHEAD, on_batch: RadioListener | None = None) -> None:
        self.adapter = adapter
        self.feed = feed
        self.on_batch = on_batch
        self.batch_size = batch_size
        self.keep_ahead = keep_ahead
        self.seed: Playable | None = None
        self.seed_name = ""  # the seed as the person reads it
        self.queued: list[Song] = []
        self._place: RadioPlace | None = None
        self._position = -1  # index in queued of the playing song; -1: the seed
        self.stopped_because: str | None = None
        self.exhausted = False

    @property
    def running(self) -> bool:
        return self.stopped_because is None

    def start(self, seed: NowPlaying) -> list[Song]:
        """Starts from the song playing now; returns the first batch (empty when the feed had none)."""
        require_playing(seed)
        return self._begin(playable(seed), " – ".join(p for p in (seed.artist, seed.title) if p) or seed.url,
                           seed)

    def start_from(self, song: Song) -> list[Song]:
        """Starts from any song: plays it now, the first batch after it (empty when the feed had none)."""
        return self._begin(song, song.display_name, None)

    def stop(self, reason: str = "stopped") -> None:
        if self.stopped_because is None:
            self.stopped_because = reason
            log.info("radio stopped: %s", reason)

    def ahead(self) -> int:
        """Radio songs queued after the playing one."""
        return len(self.queued) - self._position - 1

    def on_track(self, now: NowPlaying) -> list[Song]:
        """Follows the player; returns the songs it added (a top-up), if any."""
        if not self.running or not now.url or now.status == "Stopped":
            return []
        index = self._index_of(now)
        if index is None:
            self.stop(f"you switched to other music ({now.title or now.url})")
            return []
        self._position = index
        if self.ahead() < self.keep_ahead:
            return self._top_up()
        return []

    # -- internals ----------------------------------------------------------------------------
    def _begin(self, seed: Playable, seed_name: str, playing: NowPlaying | None) -> list[Song]:
        self.seed, self.seed_name = seed, seed_name
        batch = self._next_batch()
        if batch:
            self._place = self.adapter.start_radio(seed, batch, playing)
            self._queue(batch, "started")
        return batch

    def _index_of(self, now: NowPlaying) -> int | None:
        """Where the playing song is in the radio: -1 for the seed, None for other music."""
        if self.seed is not None and same_file(now.url, self.seed):
            return -1
        # Prefer the first match at or after the current song: a song queued twice plays twice.
        matches = [i for i, song in enumerate(self.queued) if same_file(now.url, song)]
        later = [i for i in matches if i >= self._position]
        return (later or matches or [None])[0]

    def _top_up(self) -> list[Song]:
        batch = self._next_batch()
        if batch:
            assert self._place is not None  # on_track only finds radio songs after a start
            self._place = self.adapter.add_to_radio(self._place, batch)
            self._queue(batch, "added")
        return batch

    def _next_batch(self) -> list[Song]:
        if self.exhausted:
            return []
        batch = self.feed.next_batch(self.batch_size)
        if not batch:
            self.exhausted = True
            log.info("the radio has no more songs to add")
        return batch

    def _queue(self, batch: list[Song], kind: str) -> None:
        self.queued.extend(batch)
        log.info("radio: added %d songs (%d ahead)", len(batch), self.ahead())
        if self.on_batch is not None:
            self.on_batch(kind, self, batch)


def playable(now: NowPlaying) -> Playable:
    """The playing song as something the player can be given again: its file, or its stream."""
    if now.path is not None:
        return now.path
    return Song(key=now.url, url=now.url, path=None, title=now.title, artist=now.artist)


def seed_of(now: NowPlaying) -> str:
    """What the recommender takes as the seed: the local path when there is one, else the URL."""
    return str(now.path) if now.path is not None else now.url


def start_recommended_radio(adapter: PlayerAdapter, recommender: Any, seed: str | Sequence[str] | None = None,
                            batch_size: int = BATCH_SIZE, keep_ahead: int = KEEP_AHEAD,
                            on_batch: RadioListener | None = None, also: Sequence[str] = ()) -> Radio:
    """The recommender's radio, started in the player: from ``seed`` (a path, file URL or song key of
    the library, or several: the first plays now, all steer the radio), or without one from the
    song playing now, joined by the songs ``also`` names ("More like these").

    ``PlayerError`` when nothing plays; ``NotReadyError`` when a seed is not a song of the library
    or no song may follow it. Nothing reaches the player before the first batch is known.
    """
    if seed is None:
        now = adapter.mpris.now_playing()
        seeds = list(dict.fromkeys([seed_of(now), *also]))
        radio = Radio(adapter, RecommenderFeed(recommender, seeds if len(seeds) > 1 else seeds[0]),
                      batch_size, keep_ahead, on_batch)
        first = radio.start(now)
    else:
        seeds = [seed] if isinstance(seed, str) else list(seed)
        keys = [recommender.table.songs[recommender.find_song(s)].key for s in seeds]
        song = recommender.table.songs[recommender.table.row(keys[0])]
        radio = Radio(adapter, RecommenderFeed(recommender, keys if len(keys) > 1 else keys[0]),
                      batch_size, keep_ahead, on_batch)
        first = radio.start_from(song)
    if not first:
        raise NotReadyError(f"no songs for a radio from {radio.seed_name}: the recommender found none "
                            "that may be played")
    return radio


class stop_on_signals:  # noqa: N801 - used as a context manager like contextlib's helpers
    """Sets ``stop`` (a new event unless given) on SIGINT and SIGTERM while active; the previous
    handlers come back after."""

    def __init__(self, stop: threading.Event | None = None,
                 signals: Sequence[int] = (signal.SIGINT, signal.SIGTERM)) -> None:
        self.stop, self.signals = stop or threading.Event(), signals
        self._previous: dict[int, Callable | int | None] = {}

    def __enter__(self) -> threading.Event:
        if threading.current_thread() is threading.main_thread():
            for sig in self.signals:
                self._previous[sig] = signal.signal(sig, lambda *_: self.stop.set())
        return self.stop

    def __exit__(self, *exc: object) -> None:
        for sig, handler in self._previous.items():
            signal.signal(sig, handler)


def songs_from_files(paths: Iterable[Path]) -> list[Song]:
    """Songs for files that are not (yet) in the library: tests and "play these files"."""
    songs = []
    for path in paths:
        path = Path(path).absolute()
        url = path.as_uri()
        songs.append(Song(key=url, url=url, path=path, title=path.stem))
    return songs
