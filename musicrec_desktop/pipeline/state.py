"""What stages hand each other during a run, and what is remembered between runs
(``state/pipeline.json``)."""

from __future__ import annotations

import dataclasses
import json
import logging
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from musicrec_desktop.context import AppContext
from musicrec_desktop.errors import NotReadyError
from musicrec_desktop.files import write_text_atomic
from musicrec_desktop.library.song import LibraryScan, Song

log = logging.getLogger(__name__)

STATE_FILE = "pipeline.json"


@dataclass
class StageRecord:
    """When a stage last finished, and the fingerprint of the inputs it finished with."""

    fingerprint: str
    finished: float  # epoch seconds


@dataclass
class PipelineState:
    """What stages hand each other during a run, and what is remembered between runs."""

    quick: bool | None = None  # short encoder training; None: quick on a CPU, full on a GPU
    force: set[str] = field(default_factory=set)  # stage names to rerun even when up to date
    device: str | None = None  # None: settings.device
    scan: LibraryScan | None = None
    reports: dict[str, Any] = field(default_factory=dict)  # stage name -> its function's report
    # Remembered in pipeline.json:
    done: dict[str, StageRecord] = field(default_factory=dict)
    started: dict[str, str] = field(default_factory=dict)  # stage -> fingerprint of an unfinished run
    figures: dict[str, dict[str, Any]] = field(default_factory=dict)  # stage -> key figures

    @property
    def songs(self) -> list[Song]:
        """The songs whose files are on this machine; the library stage must have run."""
        if self.scan is None:
            raise NotReadyError("the library has not been read in this run")
        return self.scan.local_songs

    def finished_at(self, stage: str) -> float | None:
        record = self.done.get(stage)
        return record.finished if record else None

    @classmethod
    def load(cls, path: Path) -> PipelineState:
        if not path.exists():
            return cls()
        try:
            data = json.loads(path.read_text(encoding="utf-8"))
            done = {k: StageRecord(**v) for k, v in data.get("done", {}).items()}
        except (ValueError, TypeError) as exc:
            # The file only saves work; a broken one means doing that work again, not failing.
            log.warning("%s is unreadable (%s); every stage will run", path, exc)
            return cls()
        return cls(done=done, started=dict(data.get("started", {})),
                   figures=dict(data.get("figures", {})))

    def save(self, path: Path) -> None:
        data = {"done": {k: dataclasses.asdict(v) for k, v in self.done.items()},
                "started": self.started, "figures": self.figures}
        write_text_atomic(path, json.dumps(data, indent=1))


def state_path(ctx: AppContext) -> Path:
    return ctx.dirs.state / STATE_FILE


def model_built(state: PipelineState) -> bool:
    """Whether an encoder training has finished: an update embeds new songs with that encoder,
    so without one an update can only fail ("no trained encoder")."""
    return "encoder" in state.done
