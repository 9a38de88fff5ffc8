"""Renders the settings dialog, the progress window and the model report to PNG files.

They go to $MUSICREC_SCREENSHOTS when set (to be looked at), else to the test's tmp folder. The
tests also check what is drawn: the map's points, a click on one, the loss curve's data.
"""

from __future__ import annotations

import logging
import os
from pathlib import Path

import numpy as np
import pytest
from PySide6.QtCore import QPoint, Qt
from PySide6.QtGui import QImage
from PySide6.QtTest import QTest

from musicrec_desktop.app.report_window import ReportWindow
from musicrec_desktop.app.settings_dialog import SettingsDialog
from musicrec_desktop.app.tray import TrayApp
from musicrec_desktop.library import load_library
from musicrec_desktop.pipeline import CacheStage, LibraryStage, Pipeline, PipelineState, state_path
from musicrec_desktop.store.embeddings import EmbeddingStore
from tests.app.test_tray import RecordingPlayer
from tests.app.tiny import CountStage, make_ctx, write_song

GENRES = ["Rock", "Synthwave", "Jazz", "Hip-Hop", "Country", "Reggae"]


@pytest.fixture
def shots(tmp_path) -> Path:
    folder = Path(os.environ.get("MUSICREC_SCREENSHOTS") or tmp_path / "screenshots")
    folder.mkdir(parents=True, exist_ok=True)
    return folder


@pytest.fixture
def library_ctx(tmp_path, monkeypatch):
    """24 real songs in 6 genres, every fourth one a favourite, cached by the real cache stage."""
    monkeypatch.setenv("XDG_CONFIG_HOME", str(tmp_path / "xdg"))
    music = tmp_path / "music"
    music.mkdir()
    for i in range(24):
        write_song(music / f"{GENRES[i % 6].lower()}-{i:02d}.flac", 200.0 + 25 * i, GENRES[i % 6],
                   seconds=6.0, rating=1.0 if i % 4 == 0 else 0.4)
    ctx = make_ctx(tmp_path, music)
    Pipeline([LibraryStage(), CacheStage()]).run(ctx)
    return ctx


def save(widget, path: Path) -> QImage:
    widget.resize(widget.sizeHint().expandedTo(widget.size()))
    image = widget.grab().toImage()
    assert image.save(str(path)), path
    return image


def distinct_colours(image: QImage, step: int = 7) -> int:
    return len({image.pixel(x, y) for x in range(0, image.width(), step)
                for y in range(0, image.height(), step)})


def test_settings_dialog(qtbot, library_ctx, shots):
    dialog = SettingsDialog(library_ctx)
    qtbot.addWidget(dialog)
    dialog.show()
    for title in ("Training", "Genres", "Library"):
        dialog.tabs.setCurrentIndex([dialog.tabs.tabText(i) for i in range(dialog.tabs.count())].index(title))
        image = save(dialog, shots / f"settings-{title.lower()}.png")
        assert distinct_colours(image) > 5
    assert dialog.editors["genre_mapping"].widget.table.rowCount() == 6


def test_progress_window(qtbot, library_ctx, shots, caplog):
    caplog.set_level(logging.INFO)  # as `musicrec tray` sets it up
    pipeline = Pipeline([LibraryStage(), CacheStage(), CountStage("encoder", 60, after="cache"),
                         CountStage("embed", 10, after="encoder"), CountStage("rating", 8, after="embed"),
                         CountStage("recommend", 1, fail=True)])
    tray = TrayApp(library_ctx, player=RecordingPlayer(), pipelines=lambda kind: pipeline)
    try:
        window = tray.progress_window()
        window.show()
        with qtbot.waitSignal(tray.worker.finished, timeout=20_000):
            tray.start_work("rebuild")
        qtbot.wait(50)  # the log lines queued from the worker thread
        assert len(window.loss.series["loss"]) == 60
        assert set(window.loss.series) == {"loss", "moco", "genre"}
        assert window.rows["encoder"].detail.text() == "done"
        assert window.rows["cache"].detail.text() == "up to date"
        assert window.error.isVisible() and "Check the player database" in window.error.text()
        assert "INFO Counting encoder…" in window.log.toPlainText()
        image = save(window, shots / "progress.png")
        assert distinct_colours(image) > 10
    finally:
        tray.shutdown()


def test_model_report(qtbot, library_ctx, shots):
    ctx = library_ctx
    songs = load_library(ctx.settings, ctx.dirs).songs
    rng = np.random.default_rng(7)
    centres = {g: rng.normal(0, 4, 64) for g in GENRES}
    with EmbeddingStore(ctx.dirs.embeddings_db) as store:
        store.register_model("encoder-test", 64)
        store.set_current("encoder-test")
        store.put("encoder-test", [(s.key, centres[s.genre] + rng.normal(0, 1, 64)) for s in songs])
    state = PipelineState.load(state_path(ctx))
    state.figures["encoder"] = {"genre_map": 0.612, "knn_accuracy": 0.58}
    state.figures["rating"] = {
        "n_rated": 24, "spearman": 0.41, "pearson": 0.44, "rmse": 0.21,
        "baselines": {"k-NN": {"pearson": 0.31, "spearman": 0.30, "rmse": 0.24},
                      "mean rating": {"pearson": None, "spearman": None, "rmse": 0.29}},
        "message": "The rating model beats both baselines."}
    state.figures["recommend"] = {"top": [{"song": "Test Band – rock-00", "reason": "like rock-04"},
                                          {"song": "Test Band – jazz-02", "reason": "you rate jazz highly"}]}
    state.save(state_path(ctx))

    window = ReportWindow(ctx)
    qtbot.addWidget(window)
    window.show()
    window.reload()
    qtbot.waitUntil(lambda: len(window.map.keys) == 24, timeout=20_000)
    assert window.genre_map.text() == "0.612" and window.rating.text() == "0.410"
    assert window.evaluation.rowCount() == 3 and window.evaluation.item(2, 1).text() == "–"
    assert int(window.map.favourite.sum()) == 6
    assert [window.cache_grid.itemAtPosition(r, 1).widget().text() for r in (0, 4)] == ["24", "0"]
    assert sorted(set(window.map.genres)) == sorted(["rock", "other", "jazz_classical", "hiphop",
                                                     "country", "latin_world"])
    image = save(window, shots / "report.png")
    assert distinct_colours(image) > 10

    # Clicking a point asks to play that song.
    x, y = window.map._screen[5]
    with qtbot.waitSignal(window.song_clicked, timeout=1000) as clicked:
        QTest.mouseClick(window.map, Qt.MouseButton.LeftButton, pos=QPoint(round(x), round(y)))
    assert clicked.args == [window.map.keys[5]]
