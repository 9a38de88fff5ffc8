"""Start, finish and skip from a sequence of player states (times given explicitly)."""

from __future__ import annotations

from musicrec_companion.mpris import NowPlaying
from musicrec_companion.tracker import ListeningTracker


def state(url: str, status: str = "Playing", length: float | None = 200.0, track: str = "") -> NowPlaying:
    return NowPlaying(url=url, track_id=track or f"/track/{url}", title="", artist="", length_s=length,
                      status=status)


def kinds(events) -> list[tuple[str, str, float]]:
    return [(e.kind, e.song_url, round(e.position_s, 1)) for e in events]


def test_moving_on_early_is_a_skip_and_listening_through_is_a_finish():
    tracker = ListeningTracker("strawberry", key_for_url=lambda url: url.upper())
    assert kinds(tracker.update(state("a"), 0.0, at=0.0)) == [("start", "a", 0.0)]
    assert tracker.update(state("a"), 10.0, at=10.0) == []
    events = tracker.update(state("b"), 0.0, at=20.0)  # 20 s into a 200 s song
    assert kinds(events) == [("skip", "a", 20.0), ("start", "b", 0.0)]
    assert events[0].song_key == "A" and events[0].at == 20.0 and events[0].player == "strawberry"
    # b: past half of it, then changed: a finish
    assert kinds(tracker.update(state("c", length=40.0), 0.0, at=130.0)) == [("finish", "b", 110.0),
                                                                             ("start", "c", 0.0)]
    # c (40 s): 25 s is past half but under 30 s: a skip
    assert kinds(tracker.update(state("d"), 0.0, at=155.0))[0] == ("skip", "c", 25.0)
    # d reaches its end and the player stops
    assert kinds(tracker.update(state("d", status="Stopped"), None, at=355.0)) == [("finish", "d", 200.0)]
    assert tracker.close(at=400.0) == []


def test_a_short_song_played_to_its_end_is_a_finish_not_a_skip():
    tracker = ListeningTracker()
    tracker.update(state("short", length=10.0), 0.0, at=0.0)
    tracker.update(state("short", length=10.0), 9.0, at=9.0)
    assert kinds(tracker.update(state("next"), 0.0, at=10.2))[0] == ("finish", "short", 10.0)


def test_paused_time_does_not_count_as_listening():
    tracker = ListeningTracker()
    tracker.update(state("a"), 0.0, at=0.0)
    tracker.update(state("a", status="Paused"), 10.0, at=10.0)
    tracker.update(state("a"), 10.0, at=500.0)  # an hour of pause would otherwise look like a finish
    assert kinds(tracker.update(state("b"), 0.0, at=505.0))[0] == ("skip", "a", 15.0)


def test_same_song_again_is_a_new_start_and_close_ends_the_current_one():
    tracker = ListeningTracker()
    tracker.update(state("a", track="/t/1"), 0.0, at=0.0)
    events = tracker.update(state("a", track="/t/2"), 0.0, at=5.0)  # queued twice: the second copy
    assert kinds(events) == [("skip", "a", 5.0), ("start", "a", 0.0)]
    assert kinds(tracker.close(at=7.0)) == [("skip", "a", 2.0)]
    assert tracker.current_url is None
    # Nothing loaded, stopped: nothing to record
    assert tracker.update(state("", status="Stopped"), None, at=8.0) == []
