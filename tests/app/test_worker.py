"""The worker runs the real (tiny) pipeline on a real QThread and reports through signals."""

from __future__ import annotations

import os
import subprocess
import sys
import threading
from pathlib import Path

from musicrec_desktop.app.worker import PipelineWorker
from musicrec_desktop.pipeline import Pipeline
from tests.app.tiny import CountStage, tiny_pipeline


def test_runs_the_pipeline_off_the_gui_thread_and_reports_progress(qtbot, ctx):
    pipeline = tiny_pipeline()
    worker = PipelineWorker(ctx, lambda kind: pipeline)
    seen = []
    worker.progressed.connect(seen.append)
    with qtbot.waitSignal(worker.finished, timeout=20_000) as done:
        assert worker.start("run")
        assert worker.busy and worker.kind == "run"
    report, error = done.args
    assert error is None and report.ok
    assert report.ran == ["library", "encoder", "rating"]  # the cache: not needed (no encoder trains)
    assert report.stages[1].status == "not needed"
    assert {p.stage for p in seen} == {"library", "cache", "encoder", "rating"}
    assert [p.done for p in seen if p.stage == "encoder" and p.message.startswith("step")] == [1, 2, 3, 4]
    encoder = pipeline.stages[2]
    assert encoder.threads and encoder.threads[0] != threading.get_ident()
    assert not worker.busy


def test_cancel_stops_a_run_between_steps(qtbot, ctx):
    slow = CountStage("encoder", 200, step_s=0.02)
    worker = PipelineWorker(ctx, lambda kind: Pipeline([slow]))
    with qtbot.waitSignal(worker.progressed, timeout=10_000,
                          check_params_cb=lambda p: p.stage == "encoder" and p.done >= 2):
        worker.start("rebuild")
    with qtbot.waitSignal(worker.finished, timeout=10_000) as done:
        worker.cancel()
    report, error = done.args
    assert error is None and report.cancelled
    assert report.stages[0].status == "cancelled"
    assert not (ctx.dirs.state / "encoder.txt").exists()


def test_pause_holds_the_run_and_resume_finishes_it(qtbot, ctx):
    slow = CountStage("encoder", 30, step_s=0.01)
    worker = PipelineWorker(ctx, lambda kind: Pipeline([slow]))
    seen = []
    worker.progressed.connect(seen.append)
    with qtbot.waitSignal(worker.progressed, timeout=10_000,
                          check_params_cb=lambda p: p.done >= 2):
        worker.start("run")
    with qtbot.waitSignal(worker.paused_changed, timeout=1000):
        worker.pause()
    assert worker.paused
    qtbot.wait(200)  # the step in flight ends, then the stage waits
    count = len(seen)
    qtbot.wait(300)
    assert len(seen) == count
    with qtbot.waitSignal(worker.finished, timeout=10_000) as done:
        worker.resume()
    assert done.args[0].ok and (ctx.dirs.state / "encoder.txt").read_text() == "30"


def test_an_update_asked_for_while_busy_runs_after(qtbot, ctx):
    kinds = []

    def pipelines(kind):
        kinds.append(kind)
        return Pipeline([CountStage(f"step-{len(kinds)}", 5, step_s=0.01)])

    worker = PipelineWorker(ctx, pipelines)
    worker.start("rebuild")
    assert not worker.start("update")
    assert not worker.start("rebuild")
    with qtbot.waitSignals([worker.finished, worker.finished], timeout=10_000):
        pass
    qtbot.waitUntil(lambda: not worker.busy, timeout=10_000)
    assert kinds == ["rebuild", "update"]


def test_stop_waits_for_the_thread(qtbot, ctx):
    slow = CountStage("encoder", 500, step_s=0.01)
    worker = PipelineWorker(ctx, lambda kind: Pipeline([slow]))
    with qtbot.waitSignal(worker.progressed, timeout=10_000):
        worker.start("run")
    assert worker.stop(10_000)
    assert not worker.busy and slow.runs == 1


SURVIVES_MANY_REPORTS = """
import sys
from pathlib import Path
from PySide6.QtWidgets import QApplication
app = QApplication([])
from musicrec_desktop.app.tray import TrayApp
from musicrec_desktop.pipeline import Pipeline
from tests.app.tiny import CountStage, make_ctx
tray = TrayApp(make_ctx(Path(sys.argv[1])),
               pipelines=lambda kind: Pipeline([CountStage("encoder", int(sys.argv[2]))]))
before = sys.getrefcount(True)
tray.worker.finished.connect(lambda report, error: app.quit())
tray.worker.start("run")
app.exec()
print(sys.getrefcount(True) - before)
tray.shutdown()
"""


def test_a_long_run_with_many_progress_reports_does_not_crash_the_tray(tmp_path):
    """PySide6 6.12's ``emit`` takes a reference from ``True`` on each call: without
    ``app.signals.emit`` the tray aborted ("bool_dealloc") after about 2,000 progress reports."""
    root = Path(__file__).resolve().parents[2]
    env = {**os.environ, "QT_QPA_PLATFORM": "offscreen", "PYTHONPATH": str(root)}
    out = subprocess.run([sys.executable, "-c", SURVIVES_MANY_REPORTS, str(tmp_path), "20000"],
                         capture_output=True, text=True, timeout=120, env=env, cwd=root)
    assert out.returncode == 0, out.stderr[-2000:]
    assert int(out.stdout.strip().splitlines()[-1]) >= 0  # True kept its references
