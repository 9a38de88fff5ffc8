"""The simulated listener's listening history: a few months of listening sessions.

A session starts in a style the listener likes, mostly keeps to it and now and then drifts to a
neighbouring style (rock to pop or country, electronic to hip-hop, ...); within a style the
listener reaches for the songs it likes best. Songs it likes less are skipped more often, after
a few seconds (the companion's rule: before half the song and before 30 s). Sessions are hours
apart, so a gap of more than 30 minutes separates them as the app cuts them
(``history.summary.SESSION_GAP_S``).

Times are whole seconds, so that the player database's ``lastplayed`` is exactly the time of the
last finish.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Literal

import numpy as np

if TYPE_CHECKING:  # catalog.py imports this module to give its listener a history
    from musicrec_desktop.demo.catalog import DemoSong

HISTORY_DAYS = 120  # the companion has recorded the last four months
SESSIONS_PER_DAY = 1.3  # Poisson mean; some days none, some days three
MAX_SESSIONS_PER_DAY = 3
SESSION_SONGS = (4, 9)  # a session plays 4 + Poisson(9) songs
STAY = 0.85  # the next song keeps the session's style; otherwise it drifts to a neighbour
FIRST_HOUR = 8  # the first session of a day starts between 8:00 and 11:00 (UTC) ...
GAP_HOURS = (1.0, 5.0)  # ... and each later one this long after the previous one ends
# Styles a session drifts between: ones that share instruments, tempo or audience.
NEIGHBOURS = {
    "rock": ("pop", "country"),
    "pop": ("rock", "electronic", "latin_world"),
    "electronic": ("pop", "hiphop"),
    "hiphop": ("electronic", "pop"),
    "jazz_classical": ("latin_world", "country"),
    "country": ("rock", "jazz_classical"),
    "latin_world": ("pop", "jazz_classical"),
}


@dataclass(frozen=True)
class DemoPlay:
    """One play of the listening history: started at ``at``, ended (finished or skipped)
    ``heard_s`` seconds later."""

    relpath: str  # the song's path below the music folder
    at: int  # epoch seconds
    kind: Literal["finish", "skip"]
    heard_s: int

    @property
    def ended(self) -> int:
        return self.at + self.heard_s


def listening_history(catalog: list[DemoSong], liking: list[float], style_taste: dict[str, float],
                      seed: int, now: int) -> list[DemoPlay]:
    """The plays of the last ``HISTORY_DAYS`` days up to ``now``, oldest first.

    ``liking[i]`` (0..1) is how much the listener likes ``catalog[i]``; ``style_taste`` how much
    it likes each style (which style a session starts in). A song is played only once it is in
    the library (``DemoSong.added``).
    """
    rng = np.random.default_rng([seed, 13])
    liking_arr = np.asarray(liking, dtype=np.float64)
    plays: list[DemoPlay] = []
    day_start = (now // 86400 - HISTORY_DAYS + 1) * 86400  # midnight (UTC) of the first day
    for day in range(HISTORY_DAYS):
        at = day_start + day * 86400 + int(rng.uniform(FIRST_HOUR, FIRST_HOUR + 3) * 3600)
        for _ in range(min(int(rng.poisson(SESSIONS_PER_DAY)), MAX_SESSIONS_PER_DAY)):
            there: dict[str, list[int]] = {}  # style -> the songs in the library by now
            for i, song in enumerate(catalog):
                if song.added <= at:
                    there.setdefault(song.style, []).append(i)
            if not there:
                break
            styles = sorted(there)
            weights = np.array([style_taste[s] ** 2 for s in styles])
            style = styles[int(rng.choice(len(styles), p=weights / weights.sum()))]
            session = _session(catalog, there, liking_arr, style, at, rng)
            plays += [p for p in session if p.ended <= now]
            if session[-1].ended > now:
                break
            at = session[-1].ended + int(rng.uniform(*GAP_HOURS) * 3600)
    return plays


def _session(catalog: list[DemoSong], by_style: dict[str, list[int]], liking: np.ndarray, style: str,
             at: int, rng: np.random.Generator) -> list[DemoPlay]:
    plays: list[DemoPlay] = []
    heard: set[int] = set()
    for _ in range(SESSION_SONGS[0] + int(rng.poisson(SESSION_SONGS[1]))):
        if plays and rng.random() > STAY:
            style = str(rng.choice([s for s in NEIGHBOURS[style] if s in by_style] or [style]))
        fresh = [i for i in by_style[style] if i not in heard] or by_style[style]
        weights = liking[fresh] ** 2 + 0.05  # favourites come back; every song now and then
        i = fresh[int(rng.choice(len(fresh), p=weights / weights.sum()))]
        heard.add(i)
        song = catalog[i]
        length = int(np.ceil(song.seconds))
        if rng.random() < 0.03 + 0.7 * (1 - liking[i]) ** 2:
            # moved on early: before half the song and before 30 s, as the companion tells a skip
            heard_s = 1 + int(rng.uniform(0.1, 0.45) * min(length, 60))
            plays.append(DemoPlay(song.relpath, at, "skip", heard_s))
        else:
            plays.append(DemoPlay(song.relpath, at, "finish", length))
        at = plays[-1].ended + int(rng.integers(0, 3))  # the player's gap between songs
    return plays


def record_listening(history_db: Path, music: Path, plays: list[DemoPlay]) -> bool:
    """Makes ``plays`` (of songs under ``music``) the demo's part of the listening history at
    ``history_db``, as the companion records a play: a start, then a finish or a skip. Only the
    demo's own events (player ``store.history.DEMO``) are replaced; any other listening there is
    left as it is. False when the history already held exactly these."""
    from musicrec_desktop.library.song import song_key
    from musicrec_desktop.library.urls import file_url
    from musicrec_desktop.store.history import DEMO, HistoryStore, ListeningEvent

    events = []
    for play in plays:
        url = file_url(music / play.relpath)
        events.append(ListeningEvent(url, song_key(url), "start", play.at, 0.0, DEMO))
        events.append(ListeningEvent(url, song_key(url), play.kind, play.ended, play.heard_s, DEMO))
    with HistoryStore(history_db) as history:
        return history.replace_events_of(DEMO, events)
