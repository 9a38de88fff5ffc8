"""The model report shows the encoder backends as measured on the library, the one in use marked:
from a real embed stage's figures (dsp and mfcc need no weights and no training)."""

from __future__ import annotations

from musicrec_desktop.app.report_window import ReportWindow
from musicrec_desktop.pipeline import (
    CacheStage,
    EmbedStage,
    LibraryStage,
    Pipeline,
    PipelineState,
    state_path,
)


def cell(window: ReportWindow, row: int, column: int) -> str:
    return window.encoders.item(row, column).text()


def test_the_report_lists_each_embedded_backend_with_its_figures(qtbot, ctx):
    ctx.save_settings(ctx.settings.replace(encoder="mfcc"))
    report = Pipeline([LibraryStage(), CacheStage(), EmbedStage()]).run(ctx)
    assert report.ok, report.error
    figures = PipelineState.load(state_path(ctx)).figures["embed"]
    assert figures["serving"] == "mfcc"
    rows = {r["name"]: r for r in figures["backends"]}
    assert set(rows) >= {"moco", "musicnn", "dsp", "mfcc"} and rows["mfcc"]["songs"] > 0
    window = ReportWindow(ctx)
    qtbot.addWidget(window)
    window.show_figures(PipelineState.load(state_path(ctx)).figures)
    assert window.encoders.rowCount() == 1  # only what has vectors here
    assert cell(window, 0, 0) == "mfcc (in use)"
    assert cell(window, 0, 5) == f"{rows['mfcc']['songs_per_s']:.2f}"
    folder = rows["mfcc"]["same_folder"]
    assert cell(window, 0, 4) == ("–" if folder is None else f"{folder:.3f}")
    window.show_figures({})  # a data folder before any run
    assert window.encoders.rowCount() == 0
