"""The study's session protocol: sessions after a cut-off, asked from their first songs, must find
the new songs they went on to play; on a history whose sessions keep to one artist's style the
session recommenders beat popularity, and the best on the validation half drives ``auto``."""

from __future__ import annotations

import csv
import dataclasses
import json
from collections import Counter

import numpy as np
import pytest

from musicrec_desktop.cli import main
from musicrec_desktop.errors import Cancelled
from musicrec_desktop.library.song import Song
from musicrec_desktop.library.stored import store_library
from musicrec_desktop.plugpoints import AUTO, RECOMMENDERS
from musicrec_desktop.progress import CancelToken
from musicrec_desktop.recommend.evaluate import TooLittleListening
from musicrec_desktop.recommend.liked_songs import LikedSongsCentre
from musicrec_desktop.recommend.popularity import ArtistPopularity
from musicrec_desktop.recommend.service import Recommender, decided_recommender, train_recommender
from musicrec_desktop.recommend.session_knn import SessionKnn
from musicrec_desktop.recommend.shallow_net import ShallowConfig, ShallowNet
from musicrec_desktop.recommend.study import session_split
from musicrec_desktop.recommend.study_run import load_study, run_study, study_path
from musicrec_desktop.recommend.table import SongTable
from musicrec_desktop.recommend.taste import TimedEvent, history_events, taste_class
from musicrec_desktop.settings import Settings
from musicrec_desktop.store.embeddings import EmbeddingStore
from musicrec_desktop.store.history import HistoryStore, ListeningEvent

from .conftest import DAY, NOW, Library, build_library, replace_songs

T0 = 1_700_000_000.0
HOUR = 3600.0


# -- the protocol on constructed events ------------------------------------------------------------
def _table(keys: list[str]) -> SongTable:
    vectors = np.eye(len(keys), dtype=np.float32)
    return SongTable("m", [Song(key=k, url=k, path=None, title=k) for k in keys], vectors)


def _session(start: float, played: list[str], skipped: tuple[str, ...] = ()) -> list[TimedEvent]:
    events = [TimedEvent(k, start + 60 * i, "skip") for i, k in enumerate(skipped)]
    return events + [TimedEvent(k, start + 60 * (len(skipped) + i), "finish") for i, k in enumerate(played)]


def test_a_session_is_asked_from_its_first_half_and_must_find_its_new_songs():
    keys = [f"s{i}" for i in range(20)]
    past = [e for day in range(12) for e in _session(T0 + day * DAY, ["s0", "s1", "s2"])]
    # after the cut-off: s0 s1 (known) given; s3 s4 new, s2 known, s5 skipped in the given part
    asked = _session(T0 + 20 * DAY, ["s0", "s1", "s5", "s3", "s2", "s4"], skipped=("s5",))
    others = [e for n in range(4) for e in _session(T0 + (21 + n) * DAY, [f"s{6 + 2 * n}", f"s{7 + 2 * n}"])]
    split = session_split(_table(keys), past + asked + others, cutoff=T0 + 15 * DAY)
    first = split.validation[0]
    # distinct songs heard to the end: s0 s1 s5 s3 s2 s4, the first three given with the skip before them
    assert [(e.key, e.kind) for e in first.given] == [("s5", "skip"), ("s0", "finish"), ("s1", "finish"),
                                                      ("s5", "finish")]
    assert first.relevant == {"s3", "s4"}  # s2 was heard before the cut-off: no discovery
    # the two-song sessions: one given, the other to find
    assert [s.relevant for s in split.test] == [{"s7"}, {"s11"}]
    assert [s.relevant for s in split.validation[1:]] == [{"s9"}, {"s13"}]
    assert len(split.ranked) == 17  # s0, s1, s2 were known at the cut-off
    # the variant counting songs heard before: s2 is to be found too, and every song is ranked
    heard = session_split(_table(keys), past + asked + others, cutoff=T0 + 15 * DAY, with_heard=True)
    assert heard.validation[0].relevant == {"s2", "s3", "s4"} and len(heard.ranked) == 20


def test_validation_and_test_alternate_by_start_and_never_share_a_session():
    keys = [f"s{i}" for i in range(40)]
    past = [e for day in range(12) for e in _session(T0 + day * DAY, ["s0", "s1"])]
    later = [e for n in range(9)
             for e in _session(T0 + 20 * DAY + n * 2 * HOUR, [f"s{2 + 3 * n + i}" for i in range(3)])]
    # one play only: no question can be asked of it
    single = _session(T0 + 40 * DAY, ["s39"])
    split = session_split(_table(keys), past + later + single, cutoff=T0 + 15 * DAY)
    starts_v, starts_t = [s.start for s in split.validation], [s.start for s in split.test]
    assert starts_v == [T0 + 20 * DAY + n * 2 * HOUR for n in (0, 2, 4, 6, 8)]
    assert starts_t == [T0 + 20 * DAY + n * 2 * HOUR for n in (1, 3, 5, 7)]
    assert not set(starts_v) & set(starts_t)
    assert split.unusable == 1


def test_the_companion_s_starts_stay_in_their_session():
    keys = [f"s{i}" for i in range(20)]
    past = [e for day in range(12) for e in _session(T0 + day * DAY, ["s0", "s1"])]
    later = []
    for n in range(4):  # as the companion records them: a start, the finish three minutes on
        for i, key in enumerate(("s0", f"s{2 + 2 * n}", f"s{3 + 2 * n}")):
            at = T0 + (20 + n) * DAY + 200 * i
            later += [TimedEvent(key, at, "start"), TimedEvent(key, at + 180, "finish")]
    split = session_split(_table(keys), past + later, cutoff=T0 + 15 * DAY)
    assert split.unusable == 0 and len(split.validation) == len(split.test) == 2
    first = split.validation[0]
    assert [(e.key, e.kind) for e in first.given] == [("s0", "start"), ("s0", "finish")]
    assert first.relevant == {"s2", "s3"}


def test_nothing_of_the_study_period_reaches_training():
    keys = [f"s{i}" for i in range(30)]
    past = [e for day in range(12) for e in _session(T0 + day * DAY, ["s0", "s1", "s2"])]
    later = [e for n in range(6) for e in _session(T0 + (20 + n) * DAY, ["s0", f"s{3 + n}", f"s{10 + n}"])]
    table = _table(keys)
    # the player counts every play, including those after the cut-off
    counts = {k: sum(e.key == k for e in past + later) for k in keys}
    table = SongTable("m", [dataclasses.replace(s, playcount=counts[s.key],
                                                lastplayed=int(T0 + 30 * DAY) if counts[s.key] else None)
                            for s in table.songs], table.vectors)
    split = session_split(table, past + later, cutoff=T0 + 15 * DAY)
    assert max(e.at for e in split.split.history) <= split.split.cutoff
    assert len(split.split.history) == len(past)
    train = {s.key: s for s in split.split.train.songs}
    assert train["s0"].playcount == 12 and train["s3"].playcount == 0 and train["s10"].playcount == 0
    assert all(train[k].playcount == 0 for s in split.validation + split.test for k in s.relevant)


def test_without_a_listening_history_there_is_no_study():
    table = _table([f"s{i}" for i in range(12)])
    dated = [dataclasses.replace(s, lastplayed=int(T0 + i * DAY)) for i, s in enumerate(table.songs)]
    table = SongTable("m", dated, table.vectors)
    with pytest.raises(TooLittleListening, match="no listening history: the study's users are listening"):
        session_split(table, [])


# -- the study on a library with a listening history -------------------------------------------------
def _listened_library(root) -> Library:
    """10 artists of 12 songs, each artist a style; songs 0-3 rated, 4-8 heard in 70 sessions before
    the cut-off (each keeping to one artist, artist 0 in a third of them), 9-11 new: 30 later
    sessions play three known songs of their artist and two of its new ones. The cut-off (70 %
    of the plays) falls between the two periods."""
    lib = build_library(root, per_artist=12, settings=Settings(output_dir=str(root / "out"), rating_epochs=3))
    rng = np.random.default_rng(1)
    song = {(a, j): lib.scan.songs[a * 12 + j] for a in range(10) for j in range(12)}
    start = NOW - 100 * DAY
    plays: list[tuple[Song, float]] = []
    for n in range(100):
        artist = 0 if rng.random() < 0.33 else int(rng.integers(10))
        known = [int(j) for j in rng.permutation(range(4, 9))]  # 5 plays a session, as later
        songs = known if n < 70 else known[:3] + [int(j) for j in rng.choice(range(9, 12), 2, replace=False)]
        plays += [(song[artist, j], start + n * DAY + i * 200.0) for i, j in enumerate(songs)]
    with HistoryStore(lib.ctx.dirs.history_db) as history:
        for s, at in plays:
            history.record(ListeningEvent(s.url, None, "finish", at))
    # the player counts every play, those after the cut-off too
    counts = Counter(s.key for s, _ in plays)
    last = {s.key: int(at) for s, at in plays}
    replace_songs(lib, {s.key: {"playcount": counts[s.key], "lastplayed": last.get(s.key)}
                        for s in lib.scan.songs})
    return lib


class QuickShallow(ShallowNet):
    """The Shallow net with an early stop that comes sooner: the real net, a fast test."""

    @classmethod
    def learn(cls, view, settings=None, *, progress=None, cancel=None, measure=True, config=None):
        return ShallowNet.learn(view, settings, progress=progress, cancel=cancel, measure=measure,
                                config=ShallowConfig(max_epochs=40, patience=6))


STUDIED = {"popularity": ArtistPopularity, "knn": LikedSongsCentre, "session_knn": SessionKnn,
           "shallow": QuickShallow}


def _only_studied(patch: pytest.MonkeyPatch) -> None:
    """The registry holds the studied recommenders only (the rating model and BERT4Rec have tests
    of their own and take long to learn)."""
    for name in list(RECOMMENDERS):
        if name in STUDIED:
            patch.setitem(RECOMMENDERS, name, STUDIED[name])
        else:
            patch.delitem(RECOMMENDERS, name)


@pytest.fixture(scope="module")
def studied(tmp_path_factory):
    lib = _listened_library(tmp_path_factory.mktemp("study"))
    with pytest.MonkeyPatch.context() as patch:
        _only_studied(patch)
        result = run_study(lib.ctx.settings, lib.ctx.dirs, lib.scan)
    return lib, result


@pytest.fixture
def studied_only(monkeypatch):
    _only_studied(monkeypatch)


def _row(result: dict, recommender: str) -> dict:
    return next(r for r in result["rows"] if r["recommender"] == recommender)


def test_session_recommenders_beat_popularity_on_sessions_that_keep_to_a_style(studied):
    _, result = studied
    assert (result["n_validation"], result["n_test"]) == (15, 15)
    popularity = _row(result, "popularity")["test"]
    for name in ("session_knn", "shallow"):
        figures = _row(result, name)["test"]
        # given three songs of the session's artist, its two new songs are among the top 10
        assert figures["hit_rate@10"]["mean"] == 1.0, name
        assert figures["ndcg@10"]["mean"] > popularity["ndcg@10"]["mean"] + 0.2, name
    # popularity finds them for the sessions of the most played artists only
    assert popularity["hit_rate@10"]["mean"] < 0.8
    # what each learnt, as its report says: the net learnt from the 70 sessions before the cut-off
    assert _row(result, "shallow")["learnt"].startswith("70 listening sessions, ")


def test_the_best_on_validation_drives_auto_and_is_kept(studied, studied_only):
    lib, result = studied
    best = max(result["rows"], key=lambda r: r["validation"]["ndcg@10"]["mean"])
    assert result["chosen"] == best["recommender"] and result["chosen"] in ("session_knn", "shallow")
    assert decided_recommender(lib.ctx.dirs) == result["chosen"]
    assert load_study(lib.ctx.dirs)["chosen"] == result["chosen"]
    assert lib.ctx.settings.recommender == AUTO
    train_recommender(lib.ctx.settings, lib.ctx.dirs, lib.scan)
    recommender = Recommender.open(lib.ctx, lib.scan)
    assert type(recommender.ranker.taste) is taste_class(result["chosen"])


def test_musicrec_study_prints_the_table_and_writes_the_csv(studied, studied_only, capsys):
    lib, _ = studied
    data = lib.ctx.dirs.config.parent
    # the command reads the settings and the library as the pipeline left them
    lib.ctx.settings.save(lib.ctx.dirs.settings_file)
    store_library(lib.ctx.settings, lib.ctx.dirs, lib.scan)
    assert main(["--data-dir", str(data), "study", "--json", "--csv", str(data / "t.csv")]) == 0
    printed = json.loads(capsys.readouterr().out)
    assert printed["csv"] == str(data / "t.csv")
    with open(data / "t.csv", newline="") as f:
        lines = list(csv.DictReader(f))
    n_recommenders = len({r["recommender"] for r in printed["rows"]})
    assert len(lines) == 2 * len(printed["rows"]) == 2 * n_recommenders == 2 * len(STUDIED)
    knn = next(r for r in lines if r["recommender"] == "session_knn" and r["half"] == "test")
    assert float(knn["hit_rate@10 mean"]) == 1.0 and knn["sessions"] == "15"


def test_too_little_listening_is_one_clear_line(tmp_path, capsys):
    lib = build_library(tmp_path)
    with pytest.raises(TooLittleListening, match="no listening history of library songs yet"):
        run_study(lib.ctx.settings, lib.ctx.dirs, lib.scan)
    with EmbeddingStore(lib.ctx.dirs.embeddings_db) as store:
        assert store.auto_recommender() is None
    assert history_events(lib.ctx.dirs.history_db, lib.scan.songs) == []


def test_the_with_heard_variant_measures_and_changes_nothing(studied, studied_only, capsys):
    lib, result = studied
    data = lib.ctx.dirs.config.parent
    lib.ctx.settings.save(lib.ctx.dirs.settings_file)
    store_library(lib.ctx.settings, lib.ctx.dirs, lib.scan)
    kept = load_study(lib.ctx.dirs)
    assert main(["--data-dir", str(data), "study", "--with-heard", "--json"]) == 0
    printed = json.loads(capsys.readouterr().out)
    assert printed["songs_to_find"] == "new and heard before" and printed["n_ranked"] == 120
    assert printed["csv"] == str(lib.ctx.dirs.reports / "study-with-heard.csv")
    assert load_study(lib.ctx.dirs) == kept and decided_recommender(lib.ctx.dirs) == result["chosen"]


def test_a_cancelled_study_keeps_the_choice_and_the_table(studied, studied_only):
    lib, result = studied
    kept = study_path(lib.ctx.dirs).read_bytes()
    cancel = CancelToken()
    last = result["rows"][-1]["backend"]

    def cancel_at_the_end(p) -> None:  # every recommender measured: only the choice is left to make
        if p.stage == "study" and p.message == f"{last}: done":
            cancel.cancel()

    with pytest.raises(Cancelled):
        run_study(lib.ctx.settings, lib.ctx.dirs, lib.scan, progress=cancel_at_the_end, cancel=cancel)
    assert cancel.cancelled
    assert study_path(lib.ctx.dirs).read_bytes() == kept
    assert decided_recommender(lib.ctx.dirs) == result["chosen"]
