"""The tray's runs go through a child process: progress, pause, resume and cancel cross over,
the report comes back, and the tray's own process never loads torch."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

from musicrec_desktop.app.worker import PipelineWorker
from musicrec_desktop.pipeline import Pipeline
from tests.app.tiny import CountStage

CHILD = "tests.app.test_child_run:counting"


class TorchCountStage(CountStage):
    """Loads torch when it runs, as the real encoder stage does."""

    def run(self, ctx, state, progress, cancel):
        import torch  # noqa: F401  (what a real run loads; it must stay in the child)

        return super().run(ctx, state, progress, cancel)


def counting(kind: str) -> Pipeline:
    """Made in the caller for the stage names, and in the child to run."""
    steps = {"run": 4, "rebuild": 400, "update": 2}[kind]
    return Pipeline([TorchCountStage("encoder", steps, step_s=0.01)])


def test_a_child_run_reports_progress_and_its_result(qtbot, ctx):
    worker = PipelineWorker(ctx, CHILD)
    seen = []
    worker.progressed.connect(seen.append)
    with qtbot.waitSignal(worker.started, timeout=20_000) as started:
        assert worker.start("run")
    assert started.args == ["run", ["encoder"]]
    with qtbot.waitSignal(worker.finished, timeout=60_000) as done:
        pass
    report, error = done.args
    assert error is None and report.ok and report.ran == ["encoder"]
    assert [p.done for p in seen if p.message.startswith("step")] == [1, 2, 3, 4]
    assert report.figures["encoder"] == {"counted": 4}
    assert (ctx.dirs.state / "encoder.txt").read_text() == "4"  # written by the child


def test_pause_and_cancel_reach_the_child(qtbot, ctx):
    worker = PipelineWorker(ctx, CHILD)
    seen = []
    worker.progressed.connect(seen.append)
    with qtbot.waitSignal(worker.progressed, timeout=60_000, check_params_cb=lambda p: p.done >= 3):
        worker.start("rebuild")
    worker.pause()
    qtbot.wait(500)  # the relay passes the pause on; the step in flight ends
    count = len(seen)
    qtbot.wait(500)
    assert len(seen) == count  # paused in the child
    with qtbot.waitSignal(worker.finished, timeout=60_000) as done:
        worker.cancel()
    report, error = done.args
    assert error is None and report.cancelled
    assert not (ctx.dirs.state / "encoder.txt").exists()


TRAY_AFTER_A_CHILD_RUN = """
import sys
from pathlib import Path
from PySide6.QtWidgets import QApplication
app = QApplication([])
from musicrec_desktop.app.worker import PipelineWorker
from tests.app.tiny import make_ctx
worker = PipelineWorker(make_ctx(Path(sys.argv[1])), "tests.app.test_child_run:counting")
worker.finished.connect(lambda report, error: app.quit())
worker.start("run")
app.exec()
libtorch = [line for line in Path("/proc/self/maps").read_text().splitlines() if "libtorch" in line]
print("torch" in sys.modules, len(libtorch))
"""


def test_the_callers_process_loads_no_torch(tmp_path):
    root = Path(__file__).resolve().parents[2]
    out = subprocess.run([sys.executable, "-c", TRAY_AFTER_A_CHILD_RUN, str(tmp_path)], capture_output=True,
                         text=True, timeout=120, cwd=root,
                         env={"QT_QPA_PLATFORM": "offscreen", "PYTHONPATH": str(root), "HOME": str(tmp_path)})
    assert out.returncode == 0, out.stderr[-2000:]
    assert out.stdout.split() == ["False", "0"]


CALLER = """
import sys
from pathlib import Path
from musicrec_desktop.pipeline.child import run_in_child
from musicrec_desktop.pipeline import PipelineState
from musicrec_desktop.progress import CancelToken
from tests.app.tiny import make_ctx
run_in_child("tests.app.test_child_run:counting", "rebuild", make_ctx(Path(sys.argv[1])), PipelineState(),
             lambda p: print("step", p.done, flush=True), CancelToken())
"""


def _children_of(pid: int) -> list[int]:
    found = []
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            fields = stat.read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue
        if int(fields[1]) == pid:
            found.append(int(stat.parent.name))
    return found


def test_the_child_stops_when_its_caller_is_killed(tmp_path):
    """A tray killed mid-run (kill -9, the out-of-memory killer) leaves no training behind: the
    child sees its socket close and cancels itself."""
    import os
    import signal
    import time

    root = Path(__file__).resolve().parents[2]
    caller = subprocess.Popen([sys.executable, "-c", CALLER, str(tmp_path)], stdout=subprocess.PIPE,
                              text=True, cwd=root, env={**os.environ, "PYTHONPATH": str(root)})
    try:
        assert caller.stdout.readline().startswith("step")  # the child runs and reports
        children = _children_of(caller.pid)
        assert len(children) == 1
        os.kill(caller.pid, signal.SIGKILL)
        caller.wait(10)
        deadline = time.monotonic() + 30
        while Path(f"/proc/{children[0]}").exists() and time.monotonic() < deadline:
            time.sleep(0.1)
        assert not Path(f"/proc/{children[0]}").exists() or \
            Path(f"/proc/{children[0]}/stat").read_text().rsplit(")", 1)[1].split()[0] == "Z"
        assert not (tmp_path / "data" / "state" / "encoder.txt").exists()  # stopped, not finished
    finally:
        caller.kill()
