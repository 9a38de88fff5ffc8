"""The settings dialog, the progress window and the model report, rendered to PNG files.

They go to $MUSICREC_SCREENSHOTS when set, else to the test's tmp folder; each test prints the
folder (``pytest -s`` shows it). The offscreen tests also check what is drawn: the map's points,
a click on one, the loss curve's data. ``test_windows_render_under_xvfb`` draws the same windows
on a real X server (Xvfb), as a desktop would, and skips where Xvfb is not installed.
"""

from __future__ import annotations

import logging
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
from PySide6.QtCore import QPoint, Qt
from PySide6.QtGui import QImage
from PySide6.QtTest import QTest

from tests.app import render_windows as render
from tests.app.test_tray import RecordingPlayer

REPO = Path(__file__).resolve().parents[2]


@pytest.fixture
def shots(tmp_path, request) -> Path:
    folder = Path(os.environ.get("MUSICREC_SCREENSHOTS") or tmp_path / "screenshots")
    folder.mkdir(parents=True, exist_ok=True)
    print(f"\n{request.node.name}: PNG files in {folder}")
    return folder


@pytest.fixture
def library_ctx(tmp_path, monkeypatch):
    monkeypatch.setenv("XDG_CONFIG_HOME", str(tmp_path / "xdg"))
    return render.library_ctx(tmp_path)


def distinct_colours(image: QImage, step: int = 7) -> int:
    return len({image.pixel(x, y) for x in range(0, image.width(), step)
                for y in range(0, image.height(), step)})


def test_settings_dialog(qtbot, library_ctx, shots):
    dialog, images = render.render_settings(library_ctx, shots)
    qtbot.addWidget(dialog)
    assert set(images) == set(render.SETTINGS_TABS)
    assert all(distinct_colours(image) > 5 for image in images.values())
    assert dialog.editors["genre_mapping"].widget.table.rowCount() == 6


def test_progress_window(qtbot, library_ctx, shots, caplog):
    caplog.set_level(logging.INFO)  # as `musicrec tray` sets it up
    tray = render.progress_tray(library_ctx, RecordingPlayer())
    try:
        window = tray.progress_window()
        window.show()
        # A new run's rows replace the last run's at once, not drawn over them until Qt deletes them.
        old_rows = list(window.rows.values())
        window.begin(["library", "cache"])
        assert all(w.isHidden() for row in old_rows for w in (row.title, row.bar, row.detail))
        with qtbot.waitSignal(tray.worker.finished, timeout=20_000):
            tray.start_work("rebuild")
        qtbot.wait(50)  # the log lines queued from the worker thread
        assert len(window.loss.series["loss"]) == 60
        assert set(window.loss.series) == {"loss", "moco", "genre"}
        assert window.rows["encoder"].detail.text() == "done"
        assert window.rows["cache"].detail.text() == "up to date"
        assert window.error.isVisible() and "Check the player database" in window.error.text()
        assert "INFO Counting encoder…" in window.log.toPlainText()
        image = render.save(window, shots / "progress.png")
        assert distinct_colours(image) > 10
    finally:
        tray.shutdown()


def test_model_report(qtbot, library_ctx, shots):
    render.report_data(library_ctx)
    window = render.report_window(library_ctx)
    qtbot.addWidget(window)
    qtbot.waitUntil(lambda: len(window.map.keys) == 24, timeout=20_000)
    assert window.genre_map.text() == "0.612" and window.rating.text() == "0.410"
    names = [window.evaluation.item(r, 0).text() for r in range(window.evaluation.rowCount())]
    assert names == ["rating model", "rating model, embeddings + implicit signals",
                     "rating model, embeddings only", "k-NN", "mean rating"]
    assert window.evaluation.item(2, 2).text() == "0.360" and window.evaluation.item(4, 1).text() == "–"
    assert int(window.map.favourite.sum()) == 6
    assert [window.cache_grid.itemAtPosition(r, 1).widget().text() for r in (0, 4)] == ["24", "0"]
    # The genre legend in the person's words (Synthwave maps to no category: "Other genre").
    assert window.map.colouring.title == "Genre tag"
    assert window.map.colouring.legend == ["Rock", "Hip-hop and RnB", "Jazz and classical",
                                           "Country and folk", "Latin and world", "Other genre"]
    image = render.save(window, shots / "report.png")
    assert distinct_colours(image) > 10

    # Clicking a point asks to play that song.
    x, y = window.map._screen[5]
    with qtbot.waitSignal(window.song_clicked, timeout=1000) as clicked:
        QTest.mouseClick(window.map, Qt.MouseButton.LeftButton, pos=QPoint(round(x), round(y)))
    assert clicked.args == [window.map.keys[5]]


@pytest.fixture
def xvfb_display():
    """A private Xvfb server; its display name (":N")."""
    if shutil.which("Xvfb") is None:
        pytest.skip("Xvfb is not installed")
    server = subprocess.Popen(["Xvfb", "-displayfd", "1", "-nolisten", "tcp", "-screen", "0", "1280x1024x24"],
                              stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True)
    number = server.stdout.readline().strip()  # Xvfb writes it once it accepts clients
    try:
        if not number:
            pytest.skip("Xvfb did not start")
        yield f":{number}"
    finally:
        server.terminate()
        server.wait(10)


def test_windows_render_under_xvfb(xvfb_display, shots, tmp_path):
    out = shots / "xvfb"
    env = {k: v for k, v in os.environ.items() if k not in ("QT_QPA_PLATFORM", "WAYLAND_DISPLAY")}
    env.update(DISPLAY=xvfb_display, QT_QPA_PLATFORM="xcb", XDG_CONFIG_HOME=str(tmp_path / "xdg"),
               PYTHONPATH=str(REPO))
    result = subprocess.run([sys.executable, "-m", "tests.app.render_windows", str(out)], cwd=REPO,
                            env=env, capture_output=True, text=True, timeout=180)
    assert result.returncode == 0, result.stderr[-3000:]
    lines = result.stdout.strip().splitlines()
    assert lines[0] == "platform: xcb"  # drawn by the X11 plugin, not offscreen
    names = [Path(line).name for line in lines[1:]]
    assert names == [f"settings-{t.lower()}.png" for t in render.SETTINGS_TABS] + ["progress.png",
                                                                                   "report.png"]
    for line in lines[1:]:
        image = QImage(line)
        assert image.width() >= 400 and image.height() >= 300, line
        assert distinct_colours(image) > 10, line
