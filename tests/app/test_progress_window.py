"""The progress window's stage rows: a stage's last progress message is its outcome."""

from __future__ import annotations

from PySide6.QtCore import QObject, Signal

from musicrec_desktop.app.progress_window import ProgressWindow
from musicrec_desktop.app.worker import PipelineWorker
from musicrec_desktop.progress import Progress
from tests.app.tiny import make_ctx, tiny_pipeline


class _Log(QObject):
    line = Signal(str)


def test_a_stage_that_was_not_needed_shows_as_finished_not_as_working(qtbot, tmp_path):
    ctx = make_ctx(tmp_path)
    log = _Log()
    window = ProgressWindow(PipelineWorker(ctx, lambda kind: tiny_pipeline()), log.line, ctx.dirs.logs,
                            pause=lambda: None, cancel=lambda: None)
    qtbot.addWidget(window)
    window.begin(["library", "cache", "embed"])
    window.on_progress(Progress("library", 3, 3, message="done"))
    window.on_progress(Progress("cache", 1, 1, message="not needed"))
    row = window.rows["cache"]
    assert row.detail.text() == "not needed"  # not "1/1, not needed", as if it were working
    assert row.bar.value() == row.bar.maximum() == 1
    assert window.status.text() == "Working…"  # not "Caching songs…"
    window.on_progress(Progress("embed", 2, 5, message="song b"))
    assert window.rows["embed"].detail.text() == "2/5, song b"
    assert window.status.text().endswith("…") and window.status.text() != "Working…"
