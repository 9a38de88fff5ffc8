"""Renders the settings dialog, the progress window and the model report to PNG files.

``test_screenshots.py`` calls these functions in its own (offscreen) process to check what is
drawn, and runs this file as a script under a real Xvfb server, where the windows are drawn by
the X11 platform plugin as on a desktop:

    python -m tests.app.render_windows OUT_DIR     # prints "platform: xcb", then one PNG a line
"""

from __future__ import annotations

import logging
import sys
import time
from collections.abc import Callable
from pathlib import Path

import numpy as np
from PySide6.QtGui import QImage
from PySide6.QtWidgets import QApplication, QWidget

from musicrec_desktop.app.report_window import ReportWindow
from musicrec_desktop.app.settings_dialog import SettingsDialog
from musicrec_desktop.app.tray import TrayApp
from musicrec_desktop.context import AppContext
from musicrec_desktop.library import load_library
from musicrec_desktop.pipeline import CacheStage, LibraryStage, Pipeline, PipelineState, state_path
from musicrec_desktop.store.embeddings import EmbeddingStore
from tests.app.tiny import CountStage, make_ctx, write_song

GENRES = ["Rock", "Synthwave", "Jazz", "Hip-Hop", "Country", "Reggae"]
SETTINGS_TABS = ("Training", "Genres", "Library")


def library_ctx(root: Path) -> AppContext:
    """24 real songs in 6 genres, every fourth one a favourite, cached by the real cache stage."""
    music = root / "music"
    music.mkdir()
    for i in range(24):
        write_song(music / f"{GENRES[i % 6].lower()}-{i:02d}.flac", 200.0 + 25 * i, GENRES[i % 6],
                   seconds=6.0, rating=1.0 if i % 4 == 0 else 0.4)
    ctx = make_ctx(root, music)
    # cached as "Rebuild model" caches them, for the encoder it trains
    Pipeline([LibraryStage(), CacheStage(before_training=True)]).run(ctx, PipelineState(force={"encoder"}))
    return ctx


def save(widget: QWidget, path: Path) -> QImage:
    widget.resize(widget.sizeHint().expandedTo(widget.size()))
    QApplication.processEvents()
    image = widget.grab().toImage()
    if not image.save(str(path)):
        raise OSError(f"cannot write {path}")
    return image


def wait_until(condition: Callable[[], object], what: str, timeout_s: float = 30.0) -> None:
    """Runs the event loop until ``condition()`` holds (for the script; tests use qtbot)."""
    deadline = time.monotonic() + timeout_s
    while not condition():
        if time.monotonic() > deadline:
            raise TimeoutError(f"{what} within {timeout_s:.0f} s")
        QApplication.processEvents()
        time.sleep(0.01)


def render_settings(ctx: AppContext, out: Path) -> tuple[SettingsDialog, dict[str, QImage]]:
    dialog = SettingsDialog(ctx)
    dialog.show()
    images = {}
    for title in SETTINGS_TABS:
        dialog.show_tab(title)
        images[title] = save(dialog, out / f"settings-{title.lower()}.png")
    return dialog, images


def progress_tray(ctx: AppContext, player: object | None = None) -> TrayApp:
    """A tray whose rebuild runs the real library and cache stages and counting stages after them,
    the last of which fails: every state of a progress row, the loss curve and an error."""
    pipeline = Pipeline([LibraryStage(), CacheStage(before_training=True),
                         CountStage("encoder", 60, after="cache"), CountStage("embed", 10, after="encoder"),
                         CountStage("rating", 8, after="embed"),
                         CountStage("recommend", 1, fail=True)])
    return TrayApp(ctx, player=player, pipelines=lambda kind: pipeline)


def report_data(ctx: AppContext) -> None:
    """Embeddings around one centre per genre and the figures a finished run leaves."""
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
        "variants": {"embeddings + implicit signals": {"pearson": 0.44, "spearman": 0.41, "rmse": 0.21},
                     "embeddings only": {"pearson": 0.38, "spearman": 0.36, "rmse": 0.22}},
        "baselines": {"k-NN": {"pearson": 0.31, "spearman": 0.30, "rmse": 0.24},
                      "mean rating": {"pearson": None, "spearman": None, "rmse": 0.29}},
        "message": "The rating model beats both baselines."}
    state.figures["recommend"] = {"top": [{"song": "Test Band – rock-00", "reason": "like rock-04"},
                                          {"song": "Test Band – jazz-02", "reason": "you rate jazz highly"}]}
    state.save(state_path(ctx))


def report_window(ctx: AppContext) -> ReportWindow:
    window = ReportWindow(ctx)  # at its default size, as a person first sees it
    window.show()
    window.reload()
    return window


def main(out: Path) -> int:
    import tempfile

    logging.basicConfig(level=logging.WARNING)
    app = QApplication.instance() or QApplication(sys.argv[:1])
    print(f"platform: {app.platformName()}", flush=True)
    out.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory(prefix="musicrec-render-") as tmp:
        ctx = library_ctx(Path(tmp))
        dialog, _images = render_settings(ctx, out)
        dialog.close()
        paths = [out / f"settings-{t.lower()}.png" for t in SETTINGS_TABS]

        tray = progress_tray(ctx)
        try:
            window = tray.progress_window()
            window.show()
            tray.start_work("rebuild")
            wait_until(lambda: tray.worker.busy, "the rebuild starting")
            wait_until(lambda: not tray.worker.busy, "the rebuild ending")
            save(window, out / "progress.png")
            paths.append(out / "progress.png")
        finally:
            tray.shutdown()

        report_data(ctx)
        report = report_window(ctx)
        wait_until(lambda: len(report.map.keys) == 24, "the map's 24 songs")
        save(report, out / "report.png")
        paths.append(out / "report.png")
    for path in paths:
        print(path, flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main(Path(sys.argv[1])))
