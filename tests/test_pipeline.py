"""The Qt-free pipeline: real library and cache stages on real FLAC files, small real stages after."""

from __future__ import annotations

import contextlib
import json
import math
import os
import sqlite3
import subprocess
import sys
import threading
from pathlib import Path

import numpy as np

from musicrec_desktop.errors import LibraryError
from musicrec_desktop.pipeline import (
    CacheStage,
    LibraryStage,
    Pipeline,
    PipelineBusyError,
    PipelineState,
    RatingStage,
    figures_of,
    full_pipeline,
    state_path,
    update_pipeline,
)
from musicrec_desktop.pipeline.runner import StageSkipped
from musicrec_desktop.progress import CancelToken
from tests.app.tiny import CountStage, make_ctx, make_library, write_song


def test_runs_real_stages_then_skips_what_is_up_to_date(tmp_path):
    music = tmp_path / "music"
    make_library(music)
    ctx = make_ctx(tmp_path, music, encoder="moco")  # an encoder trained on the cache: it is built
    count = CountStage("encoder", 3, after="cache")
    pipeline = Pipeline([LibraryStage(), CacheStage(), count])
    seen = []

    report = pipeline.run(ctx, progress=seen.append)

    assert report.ok and report.ran == ["library", "cache", "encoder"]
    assert {p.stage for p in seen} == {"library", "cache", "encoder"}
    cache = report.figures["cache"]
    assert cache["songs"] == 5 and cache["cached"] == 5
    assert report.figures["library"]["genres"] == {"Rock": 2, "Synthwave": 1, "Jazz": 1, "Hip-Hop": 1}
    assert (ctx.dirs.state / "encoder.txt").read_text() == "3"

    again = pipeline.run(ctx)
    assert [s.status for s in again.stages] == ["ran", "up to date", "up to date"]
    assert count.runs == 1
    assert again.summary() == "Everything is up to date."

    write_song(music / "new.flac", 300.0, "Jazz")
    third = pipeline.run(ctx)
    assert third.ran == ["library", "cache", "encoder"]  # the new song reruns what depends on it
    assert third.figures["cache"]["cached"] == 1 and third.figures["cache"]["songs"] == 6


def test_no_cache_is_built_until_an_encoder_trains_on_it(tmp_path):
    music = tmp_path / "music"
    make_library(music)
    ctx = make_ctx(tmp_path, music, device="cpu")  # encoder auto on a CPU: a pretrained one serves
    pipeline = Pipeline([LibraryStage(), CacheStage(before_training=True)])  # as the full pipeline

    first = pipeline.run(ctx)
    assert first.figures["cache"] == {"needed": False}
    assert [s.status for s in first.stages] == ["ran", "not needed"]
    assert first.summary() == "Everything is up to date."  # reading the library is not work done
    assert not (ctx.dirs.cache / "index.sqlite").exists() and not any(ctx.dirs.cache.rglob("*.ogg"))
    assert pipeline.run(ctx).ran == ["library"]  # the cache stage: nothing changed, nothing to do
    rebuild = pipeline.run(ctx, PipelineState(force={"encoder"}))  # "Rebuild model" trains the encoder
    assert rebuild.ran == ["library", "cache"] and rebuild.figures["cache"]["songs"] == 5


def test_state_survives_restarts_and_force_reruns_downstream(tmp_path):
    ctx = make_ctx(tmp_path)
    first, second = CountStage("encoder", 2), CountStage("rating", 2, after="encoder")
    Pipeline([first, second]).run(ctx)
    saved = json.loads(state_path(ctx).read_text())
    assert set(saved["done"]) == {"encoder", "rating"}
    assert saved["figures"]["rating"] == {"counted": 2}

    # A new process: fresh stage objects, state from the file.
    first, second = CountStage("encoder", 2), CountStage("rating", 2, after="encoder")
    assert Pipeline([first, second]).run(ctx).ran == []
    report = Pipeline([first, second]).run(ctx, PipelineState(force={"encoder"}))
    assert report.ran == ["encoder", "rating"]


def test_cancel_stops_between_steps_and_keeps_the_stage_to_do(tmp_path):
    ctx = make_ctx(tmp_path)
    slow = CountStage("encoder", 50, step_s=0.01)
    after = CountStage("rating", 2, after="encoder")
    cancel = CancelToken()
    steps = []

    def progress(p):
        steps.append(p.done)
        if p.stage == "encoder" and p.done == 3:
            cancel.cancel()

    report = Pipeline([slow, after]).run(ctx, progress=progress, cancel=cancel)
    assert report.cancelled and not report.ok
    assert [s.status for s in report.stages] == ["cancelled"]
    assert max(steps) == 3 and after.runs == 0
    assert not (ctx.dirs.state / "encoder.txt").exists()
    assert "encoder" not in PipelineState.load(state_path(ctx)).done
    # The next run does it.
    assert Pipeline([slow, after]).run(ctx).ran == ["encoder", "rating"]


def test_a_failing_stage_ends_the_run_with_its_error(tmp_path):
    ctx = make_ctx(tmp_path)
    after = CountStage("rating", 2)
    report = Pipeline([CountStage("library", 1, fail=True), after]).run(ctx)
    assert isinstance(report.error, LibraryError)
    assert report.stages[0].status == "failed" and "cannot be read" in report.stages[0].message
    assert after.runs == 0
    assert report.summary().startswith("Failed: ")
    assert json.loads(json.dumps(report.to_dict()))["error"].endswith("cannot be read")


class LackingStage(CountStage):
    """Skips itself until ``ready`` (an optional part not installed, then installed)."""

    ready = False

    def run(self, ctx, state, progress, cancel):
        if not self.ready:
            raise StageSkipped("the extra is not installed")
        return super().run(ctx, state, progress, cancel)


def test_a_skipped_stage_lets_the_run_go_on_says_why_and_runs_once_it_can(tmp_path):
    ctx = make_ctx(tmp_path)
    lacking, after = LackingStage("textsearch", 2), CountStage("rating", 2)
    seen = []
    report = Pipeline([lacking, after]).run(ctx, progress=seen.append)
    assert report.ok and report.ran == ["rating"]
    assert [(s.status, s.message) for s in report.stages] == [
        ("skipped", "the extra is not installed"), ("ran", "")]
    assert report.figures["textsearch"] == {"skipped": "the extra is not installed"}
    assert [p.message for p in seen if p.stage == "textsearch"][-1] == "skipped"
    assert report.summary() == f"Done in {report.seconds:.0f} s: Counting rating."
    saved = PipelineState.load(state_path(ctx))
    assert "textsearch" not in saved.done and saved.figures["textsearch"]["skipped"]

    again = Pipeline([lacking, after]).run(ctx)  # tried again: still lacking, still said
    assert [s.status for s in again.stages] == ["skipped", "up to date"]
    lacking.ready = True
    third = Pipeline([lacking, after]).run(ctx)
    assert [s.status for s in third.stages] == ["ran", "up to date"]
    assert third.figures["textsearch"] == {"counted": 2}


def test_figures_are_json_safe():
    from dataclasses import dataclass

    @dataclass
    class Report:
        genre_map: float
        path: Path
        count: np.int64
        nan: float
        matrix: np.ndarray
        baselines: dict

    figures = figures_of(Report(np.float32(0.5).item(), Path("/x"), np.int64(3), math.nan,
                                np.zeros((3, 3)), {"knn": {"pearson": np.float64(0.25)}}))
    assert figures == {"genre_map": 0.5, "path": "/x", "count": 3, "baselines": {"knn": {"pearson": 0.25}}}


def test_the_full_and_update_pipelines_name_the_agreed_stages():
    assert full_pipeline().names == ["library", "cache", "encoder", "embed", "rating", "recommend",
                                     "textsearch"]
    assert update_pipeline().names == ["library", "cache", "embed", "rating", "recommend", "textsearch"]


def test_musicrec_run_reports_each_stage_and_exits_with_the_error_code(tmp_path, capsys):
    from musicrec_desktop.cli import main
    from musicrec_desktop.errors import EXIT_NOT_READY

    music = tmp_path / "music"
    make_library(music)
    ctx = make_ctx(tmp_path, music, encoder="moco")
    code = main(["--data-dir", str(ctx.dirs.config.parent), "run", "--update", "--json"])
    out = json.loads(capsys.readouterr().out)
    assert code == EXIT_NOT_READY  # no trained encoder yet: "Rebuild model" comes first
    assert [(s["name"], s["status"]) for s in out["stages"]] == [
        ("library", "ran"), ("cache", "ran"), ("embed", "failed")]
    assert "no trained encoder" in out["error"]
    assert out["figures"]["cache"]["songs"] == 5


def test_with_encoder_auto_an_update_serves_before_any_training(tmp_path, capsys):
    from musicrec_desktop.cli import main

    music = tmp_path / "music"
    make_library(music)
    ctx = make_ctx(tmp_path, music)  # encoder = auto, the default
    code = main(["--data-dir", str(ctx.dirs.config.parent), "run", "--update", "--json"])
    out = json.loads(capsys.readouterr().out)
    assert code == 0, out.get("error")
    assert [(s["name"], s["status"]) for s in out["stages"]] == [
        ("library", "ran"), ("cache", "not needed"), ("embed", "ran"), ("rating", "ran"),
        ("recommend", "ran"),
        ("textsearch", "skipped")]  # 5 songs: too few to learn text search from, said, not a failure
    assert out["stages"][1]["message"] == "the encoder reads the song files"
    assert out["figures"]["embed"]["backend"] in ("musicnn", "dsp")  # pretrained or DSP: no training
    assert out["figures"]["embed"]["embedded"] == 5
    assert not (ctx.dirs.models / "encoder").exists()


def test_an_interrupted_stage_runs_again_even_with_the_same_inputs(tmp_path):
    ctx = make_ctx(tmp_path)
    stage = CountStage("encoder", 2)
    Pipeline([stage]).run(ctx)
    state = PipelineState.load(state_path(ctx))
    state.started["encoder"] = state.done["encoder"].fingerprint  # as a quit mid-training leaves it
    state.save(state_path(ctx))
    report = Pipeline([stage]).run(ctx)
    assert report.ran == ["encoder"]
    assert PipelineState.load(state_path(ctx)).started == {}


class WaitingStage(CountStage):
    """Holds its run open until ``release`` is set, so a second run can try to start meanwhile."""

    def __init__(self, name: str) -> None:
        super().__init__(name, 1)
        self.running, self.release = threading.Event(), threading.Event()

    def run(self, ctx, state, progress, cancel):
        self.running.set()
        assert self.release.wait(30), "the test never released the first run"
        return super().run(ctx, state, progress, cancel)


def test_a_second_run_on_the_same_data_folder_is_refused_while_one_works(tmp_path):
    music = tmp_path / "music"
    make_library(music)
    ctx = make_ctx(tmp_path, music)
    first_stage = WaitingStage("encoder")
    reports = []
    first = threading.Thread(target=lambda: reports.append(Pipeline([first_stage]).run(ctx)))
    first.start()
    try:
        assert first_stage.running.wait(30)
        second_stage = CountStage("rating", 1)
        second = Pipeline([second_stage]).run(ctx)
        assert isinstance(second.error, PipelineBusyError) and second.stages == []
        assert str(second.error).startswith(f"another musicrec run is working: pid {os.getpid()}, ")
        assert second_stage.runs == 0 and "rating" not in PipelineState.load(state_path(ctx)).done

        # `musicrec run` in another process is refused the same way, and changes nothing.
        before = state_path(ctx).read_bytes() if state_path(ctx).exists() else b""
        out = subprocess.run([sys.executable, "-m", "musicrec_desktop", "--data-dir",
                              str(ctx.dirs.config.parent), "run", "--update"],
                             capture_output=True, text=True, timeout=120, cwd=Path(__file__).parents[1])
        assert out.returncode == 1, out.stderr
        assert f"musicrec: another musicrec run is working: pid {os.getpid()}, " in out.stderr
        assert (state_path(ctx).read_bytes() if state_path(ctx).exists() else b"") == before
    finally:
        first_stage.release.set()
        first.join(30)
    assert reports[0].ok and reports[0].ran == ["encoder"]
    # Once the first has finished, the next run works.
    assert Pipeline([CountStage("rating", 1)]).run(ctx).ran == ["rating"]


class CountingRatingStage(RatingStage):
    """The real rating stage's up-to-date decision; its run only counts (no training here)."""

    runs = 0

    def run(self, ctx, state, progress, cancel):
        self.runs += 1
        return {}


def strawberry_library(tmp_path: Path, plays: list[int]) -> Path:
    """A real Strawberry-schema database for real FLAC files, one per entry of ``plays``."""
    from musicrec_desktop.demo.catalog import DemoSong
    from musicrec_desktop.demo.strawberry import write_strawberry_db

    music = tmp_path / "music"
    music.mkdir()
    songs = []
    for i, count in enumerate(plays):
        write_song(music / f"song{i}.flac", 220.0 + 40 * i, "Jazz", seconds=1.0)
        songs.append(DemoSong("jazz_classical", "bebop", i, 1.0, "Band", "Album", f"song{i}", i + 1, 2001,
                              "Jazz", "flac", f"song{i}.flac", rating=0.6 if i % 2 else -1.0,
                              playcount=count, skipcount=0, lastplayed=1_700_000_000))
    return write_strawberry_db(tmp_path / "strawberry.db", music, songs, 1_700_000_000)


def play(database: Path, title: str, times: int = 1) -> None:
    """What the player writes when a song is played to its end."""
    with contextlib.closing(sqlite3.connect(database)) as db, db:
        db.execute("UPDATE songs SET playcount = playcount + ?, lastplayed = lastplayed + 60 "
                   "WHERE title = ?", (times, title))


def test_plays_retrain_the_rating_model_rarely_and_ratings_at_once(tmp_path):
    database = strawberry_library(tmp_path, plays=[5, 7, 0, 2])
    ctx = make_ctx(tmp_path, player="strawberry", database_path=str(database))
    rating = CountingRatingStage()
    pipeline = Pipeline([LibraryStage(), rating])
    assert pipeline.run(ctx).ran == ["library", "rating"]

    play(database, "song0")  # 5 -> 6 plays, and a new lastplayed: nothing the model learns changed
    assert pipeline.run(ctx).ran == ["library"]
    play(database, "song1")  # 7 -> 8 plays: a new bucket, but the model was trained moments ago
    assert pipeline.run(ctx).ran == ["library"] and rating.runs == 1

    # Hours later that change counts.
    state = PipelineState.load(state_path(ctx))
    state.done["rating"].finished -= RatingStage.IMPLICIT_REFRESH_S + 60
    state.save(state_path(ctx))
    assert pipeline.run(ctx).ran == ["library", "rating"]

    with contextlib.closing(sqlite3.connect(database)) as db, db:
        db.execute("UPDATE songs SET rating = 1.0 WHERE title = 'song2'")  # a new rating
    assert pipeline.run(ctx).ran == ["library", "rating"] and rating.runs == 3
