"""The listening sessions a recommender learns from: the plays of the history, cut where more than
``history.summary.SESSION_GAP_S`` passes between two (the design study's "users")."""

from __future__ import annotations

from musicrec_desktop.history.summary import sessions
from musicrec_desktop.recommend.table import SongTable
from musicrec_desktop.recommend.taste import TimedEvent

PLAY = "finish"  # a listen heard to the end; a skip says nothing for the taste


def listening_sessions(history: list[TimedEvent], table: SongTable) -> list[list[str]]:
    """The song keys (one per play, in order) of each listening session of ``history``, oldest
    session first; plays of songs not in ``table`` are left out."""
    plays = sorted((e for e in history if e.kind == PLAY and table.row(e.key) is not None),
                   key=lambda e: e.at)
    # sessions() reads only .at, which a TimedEvent has as a stored listening event does
    return [[e.key for e in session] for session in sessions(plays)]  # type: ignore[arg-type]
