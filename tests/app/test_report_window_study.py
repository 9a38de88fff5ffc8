"""The model report shows the study's table on the vectors in use, the chosen recommender marked,
from a real study on a library with a listening history; without one it says why."""

from __future__ import annotations

from musicrec_desktop.app.report_window import ReportWindow
from musicrec_desktop.recommend.popularity import ArtistPopularity
from musicrec_desktop.recommend.session_knn import SessionKnn
from musicrec_desktop.recommend.study_run import load_study, run_study

from ..recommend.test_study import _listened_library


def test_the_report_shows_the_study_with_the_choice_marked(qtbot, tmp_path):
    lib = _listened_library(tmp_path)
    result = run_study(lib.ctx.settings, lib.ctx.dirs, lib.scan, recommenders=[ArtistPopularity, SessionKnn])
    window = ReportWindow(lib.ctx)
    qtbot.addWidget(window)
    window.show_study(load_study(lib.ctx.dirs), {})
    assert window.study.rowCount() == 2
    assert window.study.item(0, 0).text() == "popularity (artist plays)"
    assert window.study.item(1, 0).text() == "KNN (mean of the history's songs) (chosen)"
    knn = result["rows"][1]["test"]["hit_rate@10"]
    assert window.study.item(1, 1).text() == f"{knn['mean']:.3f} ±{(knn['high'] - knn['low']) / 2:.3f}"
    assert window.study_note.text().startswith("15 test and 15 validation listening sessions")
    window.show_study(None, {"skipped": "only 3 timed plays: too few to evaluate (at least 10)"})
    assert window.study.rowCount() == 0
    assert window.study_note.text() == "No study: only 3 timed plays: too few to evaluate (at least 10)."
