"""The tray's "Play songs like…" box and the model report's text search table (issue 16), with
real widgets (offscreen) on a real library that the real text search stage has learnt."""

from __future__ import annotations

import re
import threading

import pytest
from PySide6.QtCore import Qt

from musicrec_desktop.app.report_window import ReportWindow
from musicrec_desktop.app.search_box import SearchBox
from musicrec_desktop.app.tray import TrayApp
from musicrec_desktop.pipeline import LibraryStage, Pipeline, PipelineState, TextSearchStage, state_path
from musicrec_desktop.textsearch.service import evaluation
from tests.app.test_tray import RecordingPlayer
from tests.app.tiny import tiny_pipeline
from tests.support.text_search import aligned_library


@pytest.fixture(scope="module")
def learnt(tmp_path_factory):
    """The library as the text search stage leaves it: the alignment and its figures saved."""
    ctx = aligned_library(tmp_path_factory.mktemp("search box"), align=False)
    report = Pipeline([LibraryStage(), TextSearchStage()]).run(ctx)
    assert report.ok and report.ran == ["library", "textsearch"], report.error
    return ctx


def search_for(qtbot, box: SearchBox, words: str) -> None:
    box.words.setText(words)
    with qtbot.waitSignal(box.searched, timeout=30_000):
        box.words.returnPressed.emit()  # Enter in the line edit
        # The search runs on its worker thread (it may have ended already: the task is let go
        # only when its result reaches the box); the button waits for it.
        assert box.task is not None and not box.search_button.isEnabled()
    assert box.task is None and box.search_button.isEnabled()


def cells(box: SearchBox) -> list[list[str]]:
    return [[box.results.item(r, c).text() for c in range(box.results.columnCount())]
            for r in range(box.results.rowCount())]


def test_the_box_lists_the_songs_found_with_scores_and_why(qtbot, learnt):
    box = SearchBox(learnt)
    qtbot.addWidget(box)
    box.show()
    search_for(qtbot, box, "  orchestral   music ")
    rows = cells(box)
    assert len(rows) == 20  # the search's default count
    headers = [box.results.horizontalHeaderItem(c).text() for c in range(4)]
    assert headers == ["Song", "Artist", "Score", "Why"]
    # No tag says orchestral: the songs tagged Classical come first, best first.
    assert [r[0].split("-")[0] for r in rows[:5]] == ["classical"] * 5
    assert all(r[1] == "The Court Quartet" for r in rows[:5])
    scores = [float(r[2]) for r in rows]
    assert scores == sorted(scores, reverse=True) and all(re.fullmatch(r"-?\d\.\d{3}", r[2]) for r in rows)
    assert "classical" in rows[0][3]
    assert box.results.item(0, 3).toolTip() == box.found[0].why  # whole, where the cell cuts it
    assert box.query == "orchestral music" and box.play_button.isEnabled()
    assert box.message.text().startswith("20 songs for “orchestral music”")


def test_an_empty_box_searches_nothing_and_says_so(qtbot, learnt):
    box = SearchBox(learnt)
    qtbot.addWidget(box)
    box.words.setText("   ")
    box.search()
    assert box.task is None and box.message.text() == "Type some words first."


def test_nothing_learnt_yet_is_said_in_the_box(qtbot, tmp_path):
    ctx = aligned_library(tmp_path, songs=8, align=False)
    box = SearchBox(ctx)
    qtbot.addWidget(box)
    search_for(qtbot, box, "calm piano")
    assert box.results.rowCount() == 0 and not box.play_button.isEnabled()
    assert box.message.text() == ("no text search yet: nothing aligned; run `musicrec run`\n"
                                  "Choose Rebuild model first.")


def test_words_typed_during_a_search_are_searched_next(qtbot, learnt):
    box = SearchBox(learnt)
    qtbot.addWidget(box)
    box.words.setText("orchestral")
    box.search()
    box.words.setText("rap")
    box.search()  # while the first runs: waits for it
    with qtbot.waitSignal(box.searched, timeout=30_000, check_params_cb=lambda w: w == "rap"):
        pass
    assert box.query == "rap" and cells(box)[0][1] == "MC Concrete"


def test_play_songs_like_in_the_tray_plays_the_results_off_the_gui_thread(qtbot, learnt):
    player = RecordingPlayer()
    tray = TrayApp(learnt, player=player, pipelines=lambda kind: tiny_pipeline())
    try:
        tray.actions["search"].trigger()
        box = tray.search_box()
        assert box.isVisible() and tray.actions["search"].text() == "Play songs like…"
        search_for(qtbot, box, "rap")
        with qtbot.waitSignal(tray.notified, timeout=5000) as note:
            qtbot.mouseClick(box.play_button, Qt.MouseButton.LeftButton)
        assert player.calls == [("play_found", "rap", [f.key for f in box.found])]
        assert len(box.found) == 20 and player.threads[0] != threading.get_ident()
        assert note.args == ["Playing", "Playing 'Songs like “rap”'."]
        assert "search" in tray.status_line()
    finally:
        tray.shutdown(10_000)


def test_the_model_report_shows_text_search_against_the_lexical_baseline(qtbot, learnt):
    window = ReportWindow(learnt)
    qtbot.addWidget(window)
    window.show()
    window.reload()
    window.wait_for_map()
    qtbot.waitUntil(lambda: len(window.map.keys) > 0, timeout=20_000)  # laid out with the map in
    table = window.text_search
    headers = [table.horizontalHeaderItem(c).text() for c in range(table.columnCount())]
    assert headers == ["Measure", "Recall@1", "Recall@5", "Recall@10", "MRR"]
    rows = {table.item(r, 0).text(): [table.item(r, c).text() for c in range(1, 5)]
            for r in range(table.rowCount())}
    assert any("lexical" in name for name in rows) and any("search" in name for name in rows)
    figures = evaluation(learnt.dirs)
    for name, shown in rows.items():  # the saved figures, as measured
        assert shown == [f"{figures[name][k]:.3f}" for k in ("recall@1", "recall@5", "recall@10", "mrr")]
    assert table.isVisible() and not table.verticalScrollBar().isVisible()
    assert window.text_search_note.text().startswith(f"{figures['songs']} songs held out")


def test_the_model_report_says_why_text_search_was_skipped(qtbot, tmp_path):
    ctx = aligned_library(tmp_path, songs=5, align=False)
    Pipeline([LibraryStage(), TextSearchStage()]).run(ctx)
    window = ReportWindow(ctx)
    qtbot.addWidget(window)
    window.show_figures(PipelineState.load(state_path(ctx)).figures)
    assert window.text_search.rowCount() == 0 and not window.text_search.isVisible()
    assert window.text_search_note.text().startswith("Not learnt: text search needs at least 8 songs")
