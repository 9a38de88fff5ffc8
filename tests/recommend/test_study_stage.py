"""The rating stage runs the study when there is a listening history: its choice is what it
trains under ``recommender = auto``; without enough listening it says why in one line."""

from __future__ import annotations

import time

from musicrec_desktop.pipeline.stages import RatingStage
from musicrec_desktop.pipeline.state import PipelineState, StageRecord
from musicrec_desktop.progress import CancelToken, ignore_progress
from musicrec_desktop.recommend.study_run import load_study
from musicrec_desktop.recommend.taste import load, model_path
from musicrec_desktop.store.history import IMPORTED, HistoryStore, ListeningEvent

from .conftest import NOW, build_library
from .test_study import _listened_library, _only_studied


def _run_stage(lib) -> dict:
    return RatingStage().run(lib.ctx, PipelineState(scan=lib.scan), ignore_progress, CancelToken())


def test_the_stage_studies_first_and_trains_the_choice(tmp_path, monkeypatch):
    lib = _listened_library(tmp_path)
    _only_studied(monkeypatch)
    figures = _run_stage(lib)
    chosen = figures["study"]["chosen"]
    assert chosen in ("session_knn", "shallow")
    assert figures["study"] == {"chosen": chosen, "n_validation": 15, "n_test": 15}
    model, _, _ = load(model_path(lib.ctx.dirs.models, chosen))
    assert model.name == chosen
    assert load_study(lib.ctx.dirs)["chosen"] == chosen


def test_without_a_listening_history_the_study_is_skipped_with_the_reason(tmp_path):
    lib = build_library(tmp_path)
    figures = _run_stage(lib)
    assert figures["study"] == {"skipped": "no listening history of library songs yet "
                                           "(import one: musicrec history import FILE)"}
    model, _, _ = load(model_path(lib.ctx.dirs.models, "rating"))  # the first-run choice, trained
    assert model.name == "rating"
    assert load_study(lib.ctx.dirs) is None


def test_an_imported_history_makes_the_stage_run_again(tmp_path):
    lib = build_library(tmp_path)
    stage, state = RatingStage(), PipelineState(scan=lib.scan)
    state.done["rating"] = StageRecord(stage.fingerprint(lib.ctx, state), time.time())
    assert stage.is_up_to_date(lib.ctx, state, stage.fingerprint(lib.ctx, state))
    with HistoryStore(lib.ctx.dirs.history_db) as history:
        history.record_imported([ListeningEvent(s.url, s.key, "finish", NOW - 600.0 * i, player=IMPORTED)
                                 for i, s in enumerate(lib.scan.songs[:40])])
    # at once, not after the implicit signals' 6 hours
    assert not stage.is_up_to_date(lib.ctx, state, stage.fingerprint(lib.ctx, state))
    state.done["rating"] = StageRecord(stage.fingerprint(lib.ctx, state), time.time())
    with HistoryStore(lib.ctx.dirs.history_db) as history:  # a few more plays: no retraining for them
        history.record(ListeningEvent(lib.scan.songs[50].url, None, "finish", NOW))
    assert stage.is_up_to_date(lib.ctx, state, stage.fingerprint(lib.ctx, state))
