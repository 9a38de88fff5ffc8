"""The time split's training view holds only what was known at the cut-off: read from a real
Strawberry database (its own schema) and a real listening-history store."""

from __future__ import annotations

import contextlib
import sqlite3
from dataclasses import dataclass

import numpy as np
import pytest

from musicrec_desktop.library.players import read_player_database
from musicrec_desktop.library.urls import file_url
from musicrec_desktop.recommend.evaluate import evaluate, summary, time_split
from musicrec_desktop.recommend.table import SongTable
from musicrec_desktop.recommend.taste import history_events
from musicrec_desktop.settings import Settings
from musicrec_desktop.store.history import HistoryStore, ListeningEvent
from tests.library.helpers import insert_song, schema_database

from .conftest import DAY, NOW

CUTOFF = NOW - 30 * DAY
LONG_AGO = NOW - 400 * DAY
FAST = Settings(rating_epochs=3)


@dataclass
class Listening:
    table: SongTable
    events: list
    urls: dict[str, str]  # title -> song key


def _listening(tmp_path, copied_at: float = LONG_AGO - DAY) -> Listening:
    """Twelve songs heard long before the cut-off, and:
    - "offline": heard twice before the cut-off (recorded), skipped once before it (recorded), then
      played and skipped after it while the companion was off: the player says 5 plays, 4 skips,
      last played 5 days ago;
    - "offline only": never recorded, played after the cut-off with the companion off;
    - "added later": listed by the player 10 days ago (ctime), played after the cut-off (recorded);
    - "discovered": in the library since long ago, first played after the cut-off (recorded);
    - "skipped before": untouched after the cut-off, with 2 skips in the player's totals.
    Every other song was listed by the player at ``copied_at``."""
    music = tmp_path / "music"
    db_path = schema_database("strawberry", tmp_path / "strawberry.db")
    songs = {f"old {i}": dict(playcount=1, lastplayed=int(LONG_AGO + i * DAY)) for i in range(12)}
    songs |= {
        "offline": dict(playcount=5, skipcount=4, lastplayed=int(NOW - 5 * DAY)),
        "offline only": dict(playcount=1, lastplayed=int(NOW - 4 * DAY)),
        "added later": dict(playcount=1, lastplayed=int(NOW - 3 * DAY), ctime=int(NOW - 10 * DAY)),
        "discovered": dict(playcount=1, lastplayed=int(NOW - 2 * DAY)),
        "skipped before": dict(skipcount=2),
        **{f"never {i}": {} for i in range(6)},
    }
    urls = {title: file_url(music / f"{title}.flac") for title in songs}
    with contextlib.closing(sqlite3.connect(db_path)) as db:
        for title, values in songs.items():
            insert_song(db, "strawberry", urls[title], title=title, artist=title, rating=-1,
                        **{"ctime": int(copied_at), **values})
        db.commit()
    scan = read_player_database(db_path)
    recorded = [(f"old {i}", "finish", LONG_AGO + i * DAY) for i in range(12)]
    recorded += [("offline", "finish", CUTOFF - 20 * DAY), ("offline", "finish", CUTOFF - 10 * DAY),
                 ("offline", "skip", CUTOFF - 9 * DAY),
                 ("added later", "finish", NOW - 3 * DAY), ("discovered", "finish", NOW - 2 * DAY)]
    history_db = tmp_path / "history.sqlite"
    with HistoryStore(history_db) as history:
        for title, kind, at in recorded:
            history.record(ListeningEvent(urls[title], None, kind, at, player="strawberry"))
    vectors = np.random.default_rng(0).standard_normal((len(scan.songs), 8)).astype(np.float32)
    vectors /= np.linalg.norm(vectors, axis=1, keepdims=True)
    table = SongTable("m", scan.songs, vectors)
    return Listening(table, history_events(history_db, scan.songs), urls)


@pytest.fixture
def listening(tmp_path) -> Listening:
    return _listening(tmp_path)


def _train(listening: Listening) -> dict:
    split = time_split(listening.table, listening.events, cutoff=CUTOFF)
    return {s.title: s for s in split.train.songs}


def test_a_play_after_the_cut_off_with_the_companion_off_shows_the_count_at_the_cut_off(listening):
    train = _train(listening)
    offline = train["offline"]
    # the two plays recorded before the cut-off, the last of them; not the player's 5 and 5 days ago
    assert (offline.playcount, offline.lastplayed) == (2, int(CUTOFF - 10 * DAY))
    # nothing recorded before the cut-off: as never played, not the player's later play
    assert (train["offline only"].playcount, train["offline only"].lastplayed) == (0, None)
    assert train["old 3"].playcount == 1  # untouched after the cut-off: the player's own counts


def test_skips_after_the_cut_off_do_not_inflate_the_skip_count(listening):
    train = _train(listening)
    assert train["offline"].skipcount == 1  # the one skip recorded before the cut-off, not 4
    assert train["offline only"].skipcount == 0
    split = time_split(listening.table, listening.events, cutoff=CUTOFF)
    # undated skips of songs untouched after the cut-off cannot be told apart: the report says so
    assert split.caveats[0].startswith("1 songs with no event after the cut-off keep the player's skip")


def test_songs_added_after_the_cut_off_are_no_candidates(listening):
    split = time_split(listening.table, listening.events, cutoff=CUTOFF)
    candidates = {split.train.songs[i].title for i in split.candidates}
    assert candidates == {"offline only", "discovered", "skipped before", *(f"never {i}" for i in range(6))}
    assert split.test == [listening.urls["discovered"]]  # the play of the song added later is no test
    assert split.sessions == [{listening.urls["discovered"]}]
    assert split.caveats[1:] == []  # every candidate has a date added


def test_dates_added_of_a_copied_collection_are_not_used(tmp_path):
    """The collection was copied yesterday: every file's ctime is after the cut-off, although most
    songs were heard before it. Those dates say nothing; leaving every song out would test nothing."""
    listening = _listening(tmp_path, copied_at=NOW - DAY)
    split = time_split(listening.table, listening.events, cutoff=CUTOFF)
    assert {split.train.songs[i].title for i in split.candidates} == {
        "offline only", "added later", "discovered", "skipped before", *(f"never {i}" for i in range(6))}
    assert split.test == [listening.urls["added later"], listening.urls["discovered"]]
    assert split.caveats[0].startswith("the player dates 13 of the 13 songs heard before the cut-off")
    assert split.train.songs[0].playcount == 1  # "old 0": its player counts, as before


def test_evaluate_reports_per_session_metrics_and_caveats(listening):
    result = evaluate(listening.table, listening.events, cutoff=CUTOFF, ks=(10,), settings=FAST)
    assert (result["n_test_events"], result["n_candidates"], result["n_users"]) == (1, 9, 1)
    assert result["users"] == "listening sessions after the cut-off"
    for name, figures in result["per_user"].items():
        assert set(figures) == {f"{m}@10" for m in ("hit_rate", "mrr", "precision", "recall", "ndcg")}
        # one session: a mean, no interval; precision = hits / 9 (the top 10 of 9 candidates)
        assert figures["hit_rate@10"]["interval"] == "none: 1 user(s), an interval needs at least 2", name
        assert figures["precision@10"]["mean"] == pytest.approx(1 / 9), name
    assert len(result["caveats"]) == 1
    text = summary(result)
    assert "per user (1 listening sessions after the cut-off), mean [95 % interval]:" in text
    assert "hit_rate@10 1.000 (no interval)" in text or "hit_rate@10 0.000 (no interval)" in text
    assert text.splitlines()[-1] == f"note: {result['caveats'][0]}"
