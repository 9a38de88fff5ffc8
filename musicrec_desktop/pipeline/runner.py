"""Runs stages in order, skipping those that are up to date, and reports what each did."""

from __future__ import annotations

import dataclasses
import logging
import time
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from musicrec_desktop.context import AppContext
from musicrec_desktop.errors import Cancelled, MusicrecError, NotReadyError
from musicrec_desktop.pipeline.lock import PipelineBusyError, exclusive_run
from musicrec_desktop.pipeline.state import PipelineState, StageRecord, state_path
from musicrec_desktop.progress import CancelToken, Progress, ProgressCallback, ignore_progress

log = logging.getLogger(__name__)


class Stage:
    """One step of the pipeline. Subclasses set ``name`` and ``title`` and implement ``run``."""

    name: str = ""  # the progress key: "library", "cache", "encoder", "embed", "rating", "recommend"
    title: str = ""  # what the person reads: "Caching songs"

    def fingerprint(self, ctx: AppContext, state: PipelineState) -> str | None:
        """A digest of everything this stage's output depends on; None means always run."""
        return None

    def is_up_to_date(self, ctx: AppContext, state: PipelineState, fingerprint: str | None) -> bool:
        """Whether the last run's output stands, ``fingerprint`` being this stage's now (taken
        once by the runner: some read the whole library or the store)."""
        if self.name in state.force or self.name in state.started:
            return False  # asked for, or a run of it was interrupted
        record = state.done.get(self.name)
        return fingerprint is not None and record is not None and record.fingerprint == fingerprint

    def run(self, ctx: AppContext, state: PipelineState, progress: ProgressCallback,
            cancel: CancelToken) -> dict[str, Any]:
        """Does the work; returns key figures for the report."""
        raise NotImplementedError


# The last progress message of a stage that has ended without failing (the progress window shows
# it as the stage's outcome, not as work going on).
FINISHED = ("done", "up to date", "skipped", "not needed")


class NotNeeded(Exception):
    """Raised by a stage with nothing to do for these inputs (a pretrained encoder needs no audio
    cache and no training): recorded as done, with ``figures``, and reported ``not needed`` with
    the reason, not as work done."""

    def __init__(self, reason: str, figures: dict[str, Any]) -> None:
        self.reason, self.figures = reason, figures
        super().__init__(reason)


class StageSkipped(Exception):
    """Raised by a stage that cannot do its work here and need not (an optional part not
    installed): the run goes on, the stage reports ``skipped`` with the reason and is tried
    again on the next run."""

    def __init__(self, reason: str) -> None:
        self.reason = reason
        super().__init__(reason)


@dataclass
class StageResult:
    name: str
    title: str
    status: str  # "ran", "not needed", "up to date", "skipped", "cancelled", "failed"
    seconds: float = 0.0
    figures: dict[str, Any] = field(default_factory=dict)
    message: str = ""
    error: MusicrecError | None = field(default=None, repr=False)

    def to_dict(self) -> dict[str, Any]:
        return {"name": self.name, "title": self.title, "status": self.status,
                "seconds": round(self.seconds, 3), "figures": self.figures, "message": self.message}


@dataclass
class PipelineReport:
    """What a run did, how long each stage took, and the figures a person cares about."""

    stages: list[StageResult] = field(default_factory=list)
    seconds: float = 0.0
    figures: dict[str, dict[str, Any]] = field(default_factory=dict)  # latest, including earlier runs
    cancelled: bool = False
    error: MusicrecError | None = None

    @property
    def ok(self) -> bool:
        return not self.cancelled and self.error is None

    @property
    def ran(self) -> list[str]:
        return [s.name for s in self.stages if s.status == "ran"]

    def to_dict(self) -> dict[str, Any]:
        return {"ok": self.ok, "cancelled": self.cancelled,
                "error": str(self.error) if self.error else None,
                "seconds": round(self.seconds, 3),
                "stages": [s.to_dict() for s in self.stages],
                "figures": self.figures}

    def summary(self) -> str:
        """One line for a notification or the end of ``musicrec run``."""
        if self.error is not None:
            return f"Failed: {self.error}"
        if self.cancelled:
            return "Stopped; the work done so far is kept."
        # Reading the library always runs: it is how the others know whether they are up to date.
        ran = [s.title for s in self.stages if s.status == "ran" and s.name != "library"]
        if not ran:
            return "Everything is up to date."
        return f"Done in {self.seconds:.0f} s: {', '.join(ran)}."


class Pipeline:
    """Runs stages in order, skipping those that are up to date; stops cleanly when cancelled."""

    def __init__(self, stages: Sequence[Stage]) -> None:
        self.stages = list(stages)

    @property
    def names(self) -> list[str]:
        return [s.name for s in self.stages]

    def run(self, ctx: AppContext, state: PipelineState | None = None,
            progress: ProgressCallback = ignore_progress,
            cancel: CancelToken | None = None) -> PipelineReport:
        """Runs every stage that is not up to date. Failures and cancels end up in the report.

        Only ``MusicrecError`` (including ``Cancelled``) is caught: anything else is a bug and
        propagates with its traceback. While another run works on the same data folder, the
        report holds a ``PipelineBusyError`` and nothing is done.
        """
        cancel = cancel or CancelToken()
        report = PipelineReport()
        start = time.monotonic()
        try:
            with exclusive_run(ctx):
                self._run_stages(ctx, state, progress, cancel, report)
        except PipelineBusyError as exc:
            log.error("%s", exc)
            report.error = exc
        report.seconds = time.monotonic() - start
        return report

    def _run_stages(self, ctx: AppContext, state: PipelineState | None, progress: ProgressCallback,
                    cancel: CancelToken, report: PipelineReport) -> None:
        path = state_path(ctx)
        if state is None:
            state = PipelineState.load(path)
        else:
            saved = PipelineState.load(path)
            state.done, state.started, state.figures = saved.done, saved.started, saved.figures
        for stage in self.stages:
            result = self._run_stage(stage, ctx, state, progress, cancel, path)
            report.stages.append(result)
            if result.status == "cancelled":
                report.cancelled = True
                break
            if result.status == "failed":
                report.error = result.error
                break
        report.figures = state.figures

    def _run_stage(self, stage: Stage, ctx: AppContext, state: PipelineState,
                   progress: ProgressCallback, cancel: CancelToken, path: Path) -> StageResult:
        result = StageResult(stage.name, stage.title, "ran")
        start = time.monotonic()
        try:
            cancel.check()
            fingerprint = stage.fingerprint(ctx, state)
            if stage.is_up_to_date(ctx, state, fingerprint):
                result.status = "up to date"
                progress(Progress(stage.name, 1, 1, message="up to date"))
                log.info("%s: up to date", stage.title)
                return result
            log.info("%s…", stage.title)
            progress(Progress(stage.name, 0, 0, message=stage.title))
            figures = stage.run(ctx, state, _for_stage(stage.name, progress), cancel)
        except NotNeeded as nothing:
            result.status, result.message, figures = "not needed", nothing.reason, nothing.figures
        except StageSkipped as skip:
            # Not recorded as done: once what it lacks is there, the next run does the work.
            result.status, result.message = "skipped", skip.reason
            result.figures = state.figures[stage.name] = {"skipped": skip.reason}
            state.save(path)
            progress(Progress(stage.name, 1, 1, message="skipped"))
            log.info("%s: skipped: %s", stage.title, skip.reason)
            return result
        except Cancelled:
            result.status, result.message = "cancelled", "stopped; the work done so far is kept"
            log.info("%s: cancelled", stage.title)
            return result
        except MusicrecError as exc:
            result.status, result.message, result.error = "failed", str(exc), exc
            # Something not there yet (no library, no embeddings) is the report's one line to the
            # person, not an error of the program's.
            log.log(logging.INFO if isinstance(exc, NotReadyError) else logging.ERROR,
                    "%s failed: %s", stage.title, exc)
            return result
        finally:
            result.seconds = time.monotonic() - start
        # Fingerprint taken before the run: inputs that changed while it ran make it run again.
        state.done[stage.name] = StageRecord(fingerprint or "", time.time())
        state.started.pop(stage.name, None)
        if figures:
            state.figures[stage.name] = figures
        result.figures = figures or {}
        state.save(path)
        progress(Progress(stage.name, 1, 1, message="done" if result.status == "ran" else result.status))
        return result


def _for_stage(name: str, progress: ProgressCallback) -> ProgressCallback:
    """Labels every report of a stage's function with the stage's name, for the progress bars."""

    def report(p: Progress) -> None:
        progress(p if p.stage == name else dataclasses.replace(p, stage=name))

    return report


# -- the stages ------------------------------------------------------------------------------------
