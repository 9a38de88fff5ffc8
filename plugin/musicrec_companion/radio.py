"""Endless radio in the running player: a first batch after the seed song, topped up as the person
listens, stopped when asked or when the person switches to other music.

The radio asks a ``SongFeed`` for songs, so tests can feed it real files directly; the app feeds
it from the recommender (``RecommenderFeed``). The companion never trains anything.
"""

from __future__ import annotations

import argparse
import logging
import signal
import threading
from collections.abc import Callable, Iterable, Sequence
from pathlib import Path
from typing import Any, Protocol

from musicrec_companion.adapters import PlayerAdapter, same_file
from musicrec_companion.mpris import NowPlaying
from musicrec_desktop.errors import MusicrecError, PlayerError
from musicrec_desktop.library.song import Song

log = logging.getLogger(__name__)

BATCH_SIZE = 5  # songs added at a time
KEEP_AHEAD = 3  # top up when fewer radio songs than this are left after the playing one


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
    """The recommender's radio (``Recommender.radio``), continued without repeats."""

    def __init__(self, recommender: Any, seed: str) -> None:
        self.recommender = recommender
        self.seed = seed
        self.session: Any = None

    def next_batch(self, n: int) -> list[Song]:
        recommendations, self.session = self.recommender.radio(self.seed, n, self.session)
        return [r.song for r in recommendations]


class Radio:
    """Keeps a few radio songs queued after the playing one.

    ``start`` appends the first batch after the seed (the song playing now); ``on_track`` is called
    with every new state of the player and tops up or stops. Order of the queued songs is the order
    they were added, which is the order the player plays them unless the person reorders them.
    """

    def __init__(self, adapter: PlayerAdapter, feed: SongFeed, batch_size: int = BATCH_SIZE,
                 keep_ahead: int = KEEP_AHEAD) -> None:
        self.adapter = adapter
        self.feed = feed
        self.batch_size = batch_size
        self.keep_ahead = keep_ahead
        self.seed_url = ""
        self.queued: list[Song] = []
        self._position = -1  # index in queued of the playing song; -1: the seed
        self.stopped_because: str | None = None
        self.exhausted = False

    @property
    def running(self) -> bool:
        return self.stopped_because is None

    def start(self, seed: NowPlaying) -> list[Song]:
        """Starts from the song playing now; returns the first batch (empty when the feed had none)."""
        if not seed.url:
            raise PlayerError("nothing is playing: start a song, then ask for radio from it")
        self.seed_url = seed.url
        return self._top_up()

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
    def _index_of(self, now: NowPlaying) -> int | None:
        if now.url == self.seed_url:
            return -1
        # Prefer the first match at or after the current song: a song queued twice plays twice.
        matches = [i for i, song in enumerate(self.queued) if same_file(now.url, song)]
        later = [i for i in matches if i >= self._position]
        return (later or matches or [None])[0]

    def _top_up(self) -> list[Song]:
        if self.exhausted:
            return []
        batch = self.feed.next_batch(self.batch_size)
        if not batch:
            self.exhausted = True
            log.info("the radio has no more songs to add")
            return []
        self.adapter.append(batch)
        self.queued.extend(batch)
        log.info("radio: added %d songs (%d ahead)", len(batch), self.ahead())
        return batch


def seed_of(now: NowPlaying) -> str:
    """What the recommender takes as the seed: the local path when there is one, else the URL."""
    return str(now.path) if now.path is not None else now.url


def radio_from_current(ctx: Any, args: argparse.Namespace) -> int:
    """``musicrec radio --from-current``: radio from the song playing now, followed until stopped.

    Reads optional ``args.count`` (first batch size), ``args.once`` (add one batch and return),
    ``args.bus`` (a D-Bus address) and ``args.player``. Ctrl+C or SIGTERM ends it cleanly.
    """
    from musicrec_companion.follower import Follower, open_player
    from musicrec_desktop.recommend.service import Recommender
    from musicrec_desktop.store.history import HistoryStore

    bus, mpris, adapter = open_player(ctx, getattr(args, "bus", None), getattr(args, "player", None))
    with bus:
        now = mpris.now_playing()
        if not now.url:
            raise PlayerError("nothing is playing: start a song, then ask for radio from it")
        feed = RecommenderFeed(Recommender.open(ctx), seed_of(now))
        radio = Radio(adapter, feed, batch_size=int(getattr(args, "count", None) or BATCH_SIZE))
        first = radio.start(now)
        if not first:
            raise MusicrecError(f"no songs for a radio from {now.title or now.url}: the recommender found "
                                "none that may be played")
        print(f"radio from {now.title or now.url}: {len(first)} songs added")
        if getattr(args, "once", False):
            return 0
        ctx.dirs.create()
        with HistoryStore(ctx.dirs.history_db) as history:
            follower = Follower(mpris, history, radio, wait_for_player=False)
            stop = threading.Event()
            with stop_on_signals(stop):
                reason = follower.run(stop)
        print(f"radio ended: {reason}")
    return 0


class stop_on_signals:  # noqa: N801 - used as a context manager like contextlib's helpers
    """Sets ``stop`` on SIGINT and SIGTERM while active; the previous handlers come back after."""

    def __init__(self, stop: threading.Event,
                 signals: Sequence[int] = (signal.SIGINT, signal.SIGTERM)) -> None:
        self.stop, self.signals = stop, signals
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
