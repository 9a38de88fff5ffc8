"""The listening history store: a real SQLite file in the app's state folder."""

from __future__ import annotations

import sqlite3

import pytest

from musicrec_desktop.paths import DataDirs
from musicrec_desktop.store.history import HistoryStore, ListeningEvent


def test_events_round_trip_in_time_order_and_survive_reopening(tmp_path):
    path = DataDirs.under(tmp_path).history_db
    with HistoryStore(path) as history:
        history.record(ListeningEvent("file:///m/b%20song.flac", None, "start", 200.0, 0.0, "clementine"))
        history.record(ListeningEvent("file:///m/a.flac", "file:///m/a.flac", "start", 100.0))
        history.record(ListeningEvent("file:///m/a.flac", "file:///m/a.flac", "skip", 112.5, 12.25))
    with HistoryStore(path) as history:
        events = history.events()
        assert [(e.song_url, e.kind, e.at) for e in events] == [
            ("file:///m/a.flac", "start", 100.0), ("file:///m/a.flac", "skip", 112.5),
            ("file:///m/b%20song.flac", "start", 200.0)]
        assert events[1] == ListeningEvent("file:///m/a.flac", "file:///m/a.flac", "skip", 112.5, 12.25, "")
        assert events[2].song_key is None and events[2].player == "clementine"
        assert [e.at for e in history.events(since=112.5)] == [112.5, 200.0]
        assert history.events(since=201) == []


def test_unknown_event_kinds_are_refused(tmp_path):
    with pytest.raises(ValueError, match="kind 'pause'"):
        ListeningEvent("file:///a.flac", None, "pause", 1.0)  # type: ignore[arg-type]
    with HistoryStore(tmp_path / "h.sqlite") as history, pytest.raises(sqlite3.IntegrityError):
        # The table refuses them too, whoever writes it.
        history._db.execute("INSERT INTO listening (song_url, kind, at) VALUES ('x', 'pause', 1)")
