"""Adapts the Qt-free pipeline to signals; one run at a time, driven by a QThread.

``start("rebuild")`` retrains the encoder and everything after it, ``start("run")`` does what is
not up to date, ``start("update")`` brings library changes in without training the encoder. An
update asked for while something runs is kept and started when that run ends.

The pipelines are named ``"module:function"`` (``function(kind) -> Pipeline``) by default, and then
run in a child process (``pipeline.child``) that the worker thread drives: torch and the models
load there and leave with it, so the tray stays small after a rebuild. A factory given as a
function runs on the worker thread itself (tests that look inside their stages).
"""

from __future__ import annotations

import logging
from collections.abc import Callable

from PySide6.QtCore import QObject, Signal

from musicrec_desktop.app.signals import emit
from musicrec_desktop.app.tasks import Task
from musicrec_desktop.context import AppContext
from musicrec_desktop.pipeline import Pipeline, PipelineReport, PipelineState
from musicrec_desktop.progress import CancelToken, ProgressCallback

log = logging.getLogger(__name__)

KINDS = ("run", "rebuild", "update")
PipelineFactory = Callable[[str], Pipeline]
CHILD_PIPELINES = "musicrec_desktop.pipeline.stages:pipeline_for"  # run in a child process


def stage_names(factory: str, kind: str) -> list[str]:
    """The stages a named factory's pipeline has, in order (building a pipeline loads no model)."""
    import importlib

    module, _, name = factory.partition(":")
    return getattr(importlib.import_module(module), name)(kind).names


class PipelineWorker(QObject):
    """Owns the worker thread. Signals arrive on the GUI thread; the thread never touches widgets."""

    started = Signal(str, list)  # kind, stage names in order
    progressed = Signal(object)  # Progress
    finished = Signal(object, object)  # (PipelineReport | None, unexpected error | None)
    paused_changed = Signal(bool)

    def __init__(self, ctx: AppContext, pipelines: PipelineFactory | str = CHILD_PIPELINES,
                 parent: QObject | None = None) -> None:
        super().__init__(parent)
        self.ctx = ctx
        self.pipelines = pipelines
        self.kind: str | None = None
        self._task: Task | None = None
        self._queued: str | None = None

    @property
    def busy(self) -> bool:
        return self._task is not None

    @property
    def paused(self) -> bool:
        return self._task is not None and self._task.cancel_token.paused

    def start(self, kind: str) -> bool:
        """Starts a run; False when one is running (an update is then queued)."""
        if kind not in KINDS:
            raise ValueError(f"unknown kind of run {kind!r}")
        if self._task is not None:
            if kind == "update":
                self._queued = "update"
            log.info("%s asked for while %s runs", kind, self.kind)
            return False
        # A snapshot: settings saved while this runs apply to the next run, not halfway through.
        ctx = AppContext(self.ctx.dirs, self.ctx.settings)
        state = PipelineState(force={"encoder"} if kind == "rebuild" else set())
        if isinstance(self.pipelines, str):
            from musicrec_desktop.pipeline.child import run_in_child

            factory, names = self.pipelines, stage_names(self.pipelines, kind)

            def job(progress: ProgressCallback, cancel: CancelToken) -> PipelineReport:
                return run_in_child(factory, kind, ctx, state, progress, cancel)
        else:
            pipeline = self.pipelines(kind)
            names = pipeline.names

            def job(progress: ProgressCallback, cancel: CancelToken) -> PipelineReport:
                return pipeline.run(ctx, state, progress, cancel)

        task = Task(job, f"pipeline-{kind}", self)
        task.progressed.connect(self.progressed)
        task.done.connect(self._done)
        self._task, self.kind = task, kind
        task.start()
        emit(self.started, kind, names)
        return True

    def pause(self) -> None:
        if self._task is not None and not self.paused:
            self._task.cancel_token.pause()
            emit(self.paused_changed, True)

    def resume(self) -> None:
        if self._task is not None and self.paused:
            self._task.cancel_token.resume()
            emit(self.paused_changed, False)

    def cancel(self) -> None:
        self._queued = None
        if self._task is not None:
            self._task.cancel_token.cancel()

    def stop(self, timeout_ms: int = 60_000) -> bool:
        """Cancels and waits for the thread (on quit). True when no thread is left running."""
        task, self._queued = self._task, None
        if task is None:
            return True
        task.done.disconnect(self._done)
        ended = task.stop(timeout_ms)
        if not ended:
            log.warning("the worker did not stop within %d s", timeout_ms // 1000)
        self._task = None
        return ended

    def _done(self, report: PipelineReport | None, error: BaseException | None) -> None:
        task, self._task = self._task, None
        if task is not None:
            task.wait()  # the thread is returning from run(); join it before it is dropped
            task.deleteLater()
        self.kind = None
        emit(self.finished, report, error)
        queued, self._queued = self._queued, None
        if queued:
            self.start(queued)
