import dataclasses
import json
import math

import numpy as np
import pytest

from musicrec_desktop.cli import main
from musicrec_desktop.commands._output import print_json
from musicrec_desktop.library.song import Song
from musicrec_desktop.recommend.evaluate import (
    TimedEvent,
    evaluate,
    method_scores,
    time_split,
)
from musicrec_desktop.recommend.table import SongTable
from musicrec_desktop.recommend.taste import history_events
from musicrec_desktop.settings import Settings
from musicrec_desktop.store.embeddings import EmbeddingStore
from musicrec_desktop.store.history import HistoryStore, ListeningEvent

from .conftest import DAY, NOW, build_library, replace_songs

FAST = Settings(rating_epochs=3)


def library_table(lib) -> SongTable:
    with EmbeddingStore(lib.ctx.dirs.embeddings_db) as store:
        return SongTable.from_store(lib.scan.songs, store)


def test_time_split_evaluation_leaks_nothing_and_ranks_by_taste(tmp_path):
    lib = build_library(tmp_path)
    # later listening: unrated songs of the loved styles 0-2, played in the last days
    later = [s for s in lib.scan.songs if s.rating is None and int(s.artist.split()[-1]) < 3]
    replace_songs(lib, {s.key: {"lastplayed": int(NOW - 5 * DAY), "playcount": 3, "rating": 1.0}
                        for s in later})
    result = evaluate(library_table(lib), test_fraction=0.15)
    assert result["source"] == "library lastplayed" and result["n_test_events"] == len(later)
    # the later ratings never reach training: the 40 older ratings only
    assert result["n_training_rated"] == 40
    names = {"popularity (artist plays)", "k-NN (mean of liked songs)", "rating model",
             "favourites (most played)", "KNN (mean of the history's songs)", "Shallow net (sessions)",
             "BERT4Rec (sessions)"}
    assert set(result["methods"]) == names
    assert result["methods"]["k-NN (mean of liked songs)"]["hit_rate@10"]["mean"] > 0.6
    assert result["methods"]["rating model"]["ndcg@10"]["mean"] > 0.2


def _unit(degrees: float) -> np.ndarray:
    return np.array([math.cos(math.radians(degrees)), math.sin(math.radians(degrees)), 0, 0])


def test_metrics_of_a_constructed_split_match_hand_computed_values():
    """Liked songs point along one axis; six unknown songs lie at 10, 20, ... 60 degrees from it.
    The songs at 10 and 30 degrees are played after the cut-off: ranks 1 and 3 of the candidates."""
    old, later = NOW - 300 * DAY, NOW - DAY
    songs, vectors = [], []
    for i in range(4):  # rated five stars, played before the cut-off
        songs.append(Song(key=f"liked{i}", url=f"liked{i}", path=None, artist=f"L{i}", title="t",
                          rating=1.0, playcount=3, lastplayed=int(old)))
        vectors.append(_unit(0))
    for i in range(8):  # played before the cut-off, unrated, off in another direction
        songs.append(Song(key=f"played{i}", url=f"played{i}", path=None, artist=f"P{i}", title="t",
                          playcount=1, lastplayed=int(old + i * DAY)))
        vectors.append(np.array([0, 0, 1.0, 0]))
    for i, degrees in enumerate(range(10, 70, 10)):  # the candidates, best first
        played_later = degrees in (10, 30)
        songs.append(Song(key=f"new{degrees}", url=f"new{degrees}", path=None, artist=f"N{i}", title="t",
                          playcount=1 if played_later else 0,
                          lastplayed=int(later) if played_later else None))
        vectors.append(_unit(degrees))
    table = SongTable("m", songs, np.stack(vectors).astype(np.float32))
    result = evaluate(table, cutoff=NOW - 10 * DAY, ks=(10,), settings=FAST)
    assert (result["n_test_events"], result["n_candidates"], result["n_training_rated"]) == (2, 6, 4)
    knn = result["methods"]["k-NN (mean of liked songs)"]
    # per test play at ranks 1 and 3: hit 1, 1; MRR 1, 1/3; NDCG 1, 1/log2(4); precision 1/6, 1/6
    # (rs_metrics: hits / len(top 10), and the top 10 of 6 candidates is 6 long)
    assert knn["hit_rate@10"] == {"mean": 1.0, "low": 1.0, "high": 1.0}
    assert knn["precision@10"]["mean"] == pytest.approx(1 / 6)
    assert knn["recall@10"]["mean"] == 1.0
    # MRR values 1 and 1/3: sd 0.471405, sem 1/3, t(0.975, df=1) = 12.706205 -> half width 4.235402
    assert knn["mrr@10"]["mean"] == pytest.approx(2 / 3)
    assert knn["mrr@10"]["low"] == pytest.approx(2 / 3 - 4.235402, abs=1e-5)
    assert knn["mrr@10"]["high"] == pytest.approx(2 / 3 + 4.235402, abs=1e-5)
    # NDCG values 1 and 0.5: sem 0.25 -> half width 3.176551
    assert knn["ndcg@10"]["mean"] == pytest.approx(0.75)
    assert knn["ndcg@10"]["low"] == pytest.approx(0.75 - 3.176551, abs=1e-5)
    # per user: both plays fall in one listening session, relevant = {new10, new30}: HR 1, MRR 1,
    # precision 2/6, recall 1, NDCG (1 + 1/log2 4) / (1 + 1/log2 3) = 0.919721; one user, no interval
    session = result["per_user"]["k-NN (mean of liked songs)"]
    assert result["n_users"] == 1
    assert [session[f"{m}@10"]["mean"] for m in ("hit_rate", "mrr", "precision", "recall")] == pytest.approx(
        [1.0, 1.0, 2 / 6, 1.0])
    assert session["ndcg@10"]["mean"] == pytest.approx(0.919721, abs=1e-6)
    assert math.isnan(session["ndcg@10"]["low"]) and session["ndcg@10"]["n"] == 1


def _history(path, events: list[tuple[str, str, float]]) -> None:
    with HistoryStore(path) as history:
        for key, kind, at in events:
            history.record(ListeningEvent(key, key, kind, at))


def test_history_counts_finished_plays_once_and_strips_everything_touched_after(tmp_path):
    lib = build_library(tmp_path)
    table = library_table(lib)
    songs = table.songs
    unrated = [s for s in songs if s.rating is None]
    rated_skipped = next(s for s in songs if s.rating is not None and s.rating > 0.5)
    cutoff = NOW - 30 * DAY
    before = [(s.key, "finish", NOW - (200 - i) * DAY) for i, s in enumerate(unrated[:12])]
    after = []
    for i, s in enumerate(unrated[12:15]):  # played to the end: a start and a finish each
        after += [(s.key, "start", NOW - (10 - i) * DAY), (s.key, "finish", NOW - (10 - i) * DAY + 200)]
    after += [(unrated[15].key, "start", NOW - 5 * DAY), (unrated[15].key, "skip", NOW - 5 * DAY + 20)]
    after += [(rated_skipped.key, "skip", NOW - 4 * DAY)]  # only skipped after the cut-off
    history = tmp_path / "history.sqlite"
    _history(history, before + after)
    events = history_events(history, [])
    assert len(events) == len(before) + len(after)
    split = time_split(table, events, cutoff=cutoff)
    assert split.source == "listening history"
    assert split.test == [s.key for s in unrated[12:15]]  # finishes only: each play once, no skip
    train = {s.key: s for s in split.train.songs}
    for s in [*unrated[12:16], rated_skipped]:  # every song with an event after the cut-off
        assert (train[s.key].rating, train[s.key].playcount, train[s.key].lastplayed) == (None, 0, None)
    assert train[unrated[0].key] == next(s for s in songs if s.key == unrated[0].key)  # untouched


def test_nothing_after_the_cut_off_reaches_training(tmp_path):
    lib = build_library(tmp_path)
    table = library_table(lib)
    unrated = [s for s in table.songs if s.rating is None]
    rated = [s for s in table.songs if s.rating is not None]
    cutoff = NOW - 30 * DAY
    before = [TimedEvent(s.key, NOW - (200 - i) * DAY, "finish") for i, s in enumerate(unrated[:12])]
    after = [TimedEvent(s.key, NOW - 10 * DAY, "finish") for s in unrated[12:16]]
    after += [TimedEvent(s.key, NOW - 5 * DAY, "skip") for s in rated[:5]]
    split = time_split(table, before + after, cutoff=cutoff)
    scores = method_scores(split, FAST)
    # the later listening changes: other ratings, counters and scores for the songs touched after
    # the cut-off, and more events after it for them
    touched = {e.key for e in after}
    flipped = [dataclasses.replace(s, rating=None if s.rating else 1.0, playcount=s.playcount + 30,
                                   skipcount=7, score=95.0, lastplayed=int(NOW))
               if s.key in touched else s for s in table.songs]
    more = after + [TimedEvent(k, NOW - DAY, kind) for k in sorted(touched) for kind in ("start", "skip")]
    perturbed = time_split(SongTable(table.model_id, flipped, table.vectors), before + more, cutoff=cutoff)
    assert perturbed.train.songs == split.train.songs and perturbed.candidates == split.candidates
    for name, score in method_scores(perturbed, FAST).items():
        np.testing.assert_array_equal(score, scores[name], err_msg=name)


def test_no_test_plays_is_a_clear_error_not_nan(tmp_path, capsys):
    table = library_table(build_library(tmp_path))  # every song last played 400 days ago
    result = evaluate(table, cutoff=NOW - 10 * DAY)
    assert result == {"source": "library lastplayed",
                      "error": "none of the 80 timed plays is a play after the cut-off of a song new to "
                               "the training view: nothing to test"}
    few = evaluate(table, [TimedEvent(table.songs[0].key, NOW, "finish")])
    assert few["error"] == "only 1 timed plays: too few to evaluate (at least 10)"
    print_json({"mean": float("nan"), "bounds": [float("inf"), 0.5], "n": 3})
    assert json.loads(capsys.readouterr().out) == {"mean": None, "bounds": [None, 0.5], "n": 3}


def test_commands_say_which_command_to_run_first(tmp_path, capsys):
    from musicrec_desktop.settings import Settings

    data = tmp_path / "data"
    (tmp_path / "music").mkdir()
    settings = Settings(player="folders", music_folders=[str(tmp_path / "music")])
    settings.save(data / "config" / "settings.toml")
    assert main(["--data-dir", str(data), "recommend", "--n", "5"]) == 3
    assert "musicrec embed" in capsys.readouterr().err


def test_generated_playlists_are_written_to_the_output_folder(tmp_path):
    from musicrec_desktop.recommend.service import Recommender, write_playlists

    lib = build_library(tmp_path)
    rec = Recommender.open(lib.ctx, lib.scan)
    files = write_playlists(lib.ctx.settings, rec.generated_playlists(5))
    assert "Discover.xspf" in {f.name for f in files} and all(f.parent == tmp_path / "out" for f in files)
    assert json.dumps([r.reason for r in rec.recommended(3, seed=1)], ensure_ascii=False).count("★") >= 3
