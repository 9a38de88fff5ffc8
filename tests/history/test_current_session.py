"""``current_session``: the listening session going on now, cut at the last gap over 30 minutes."""

from __future__ import annotations

from musicrec_desktop.history.summary import SESSION_GAP_S, current_session
from musicrec_desktop.recommend.taste import TimedEvent

NOW = 1_700_000_000.0
MIN = 60.0


def _at(*minutes_ago: float) -> list[TimedEvent]:
    return [TimedEvent(f"song {m}", NOW - m * MIN, "finish") for m in minutes_ago]


def test_the_session_starts_after_the_last_gap_over_thirty_minutes():
    events = _at(300, 296, 120, 85, 55, 25, 2)  # gaps: 4, 176, 35, 30, 30, 23 minutes
    assert [e.key for e in current_session(events, NOW)] == ["song 85", "song 55", "song 25", "song 2"]


def test_no_session_goes_on_thirty_minutes_after_the_last_listen():
    events = _at(120, 100, 31)
    assert current_session(events, NOW) == []
    assert [e.key for e in current_session(events, NOW - 2 * MIN)] == ["song 31"]  # as it was then
    assert current_session([], NOW) == []


def test_events_after_now_are_not_part_of_it():
    events = _at(10, 5) + [TimedEvent("later", NOW + 5 * MIN, "start")]
    assert [e.key for e in current_session(events, NOW)] == ["song 10", "song 5"]
    assert SESSION_GAP_S == 30 * MIN
