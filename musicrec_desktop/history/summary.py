"""What the listening history holds: listens, how many are library songs, sessions and span."""

from __future__ import annotations

from collections.abc import Collection, Sequence
from datetime import UTC, datetime
from typing import Protocol, TypeVar

from musicrec_desktop.store.history import IMPORTED, ListeningEvent

SESSION_GAP_S = 30 * 60  # more than this between two listens starts a new listening session
PLAY = "finish"  # a listen heard to the end (an imported listen is one); a skip says nothing for the taste
LISTEN_KINDS = (PLAY, "skip")  # every play ends one of these ways


class _Timed(Protocol):
    @property
    def at(self) -> float: ...


T = TypeVar("T", bound=_Timed)  # a stored ListeningEvent or a recommender's TimedEvent


def listens(events: list[ListeningEvent]) -> list[ListeningEvent]:
    """One event per play, oldest first (``events`` as the store gives them)."""
    return [e for e in events if e.kind in LISTEN_KINDS]


def sessions(plays: list[ListeningEvent]) -> list[list[ListeningEvent]]:
    """``plays`` (oldest first) cut wherever more than SESSION_GAP_S passes between two."""
    out: list[list[ListeningEvent]] = []
    for play in plays:
        if out and play.at - out[-1][-1].at <= SESSION_GAP_S:
            out[-1].append(play)
        else:
            out.append([play])
    return out


def current_session(events: Sequence[T], now: float) -> list[T]:
    """The events (oldest first, anything with ``.at``) of the listening session going on at
    ``now``: those after the last gap of more than SESSION_GAP_S; [] when more than that has
    passed since the last one (the next listen starts a new session)."""
    events = [e for e in events if e.at <= now]
    if not events or now - events[-1].at > SESSION_GAP_S:
        return []
    start = len(events) - 1
    while start > 0 and events[start].at - events[start - 1].at <= SESSION_GAP_S:
        start -= 1
    return events[start:]


def history_summary(events: list[ListeningEvent], library_keys: Collection[str],
                    library_urls: Collection[str]) -> dict:
    """Listens, those of library songs (by key, else URL), sessions and the span, as a dict."""
    plays = listens(events)
    matched = sum(1 for e in plays if e.song_key in library_keys or e.song_url in library_urls)
    first, last = (plays[0].at, plays[-1].at) if plays else (None, None)
    return {
        "listens": len(plays),
        "matched": matched,
        "imported": sum(1 for e in plays if e.player == IMPORTED),
        "skips": sum(1 for e in plays if e.kind == "skip"),
        "sessions": len(sessions(plays)),
        "session_gap_minutes": SESSION_GAP_S // 60,
        "first": _iso(first),
        "last": _iso(last),
        "span_days": round((last - first) / 86400, 1) if plays else 0.0,
    }


def _iso(at: float | None) -> str | None:
    return None if at is None else datetime.fromtimestamp(at, UTC).isoformat(timespec="seconds")
