"""The rating stage runs the study when there is a listening history: its choice is what it
trains under ``recommender = auto``; without enough listening it says why in one line."""

from __future__ import annotations

from musicrec_desktop.pipeline.stages import RatingStage
from musicrec_desktop.pipeline.state import PipelineState
from musicrec_desktop.progress import CancelToken, ignore_progress
from musicrec_desktop.recommend.study_run import load_study
from musicrec_desktop.recommend.taste import load, model_path

from .conftest import build_library
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
