"""The whole job in order: library → cache → encoder → embeddings → rating model → recommendations.

Qt-free: ``musicrec run`` and the tray's worker thread run the same ``Pipeline``. Each stage says
whether it is up to date, so a second run only does what changed; what each stage last finished
is remembered in ``state/pipeline.json`` with a fingerprint of its inputs. A stage's fingerprint
includes when the stages before it last finished, so rerunning one stage reruns the ones after it.

Stages call the stage modules through names imported when the stage runs, so starting the tray
or reading ``--help`` never imports torch.
"""

from __future__ import annotations

import contextlib
import dataclasses
import fcntl
import hashlib
import json
import logging
import os
import shlex
import sys
import tempfile
import time
from collections import Counter
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from musicrec_desktop.context import AppContext
from musicrec_desktop.errors import Cancelled, MusicrecError, NoLibraryError, NotReadyError
from musicrec_desktop.library.song import LibraryScan, Song
from musicrec_desktop.progress import CancelToken, Progress, ProgressCallback, ignore_progress

log = logging.getLogger(__name__)

STATE_FILE = "pipeline.json"
LOCK_FILE = "pipeline.lock"  # held while a run works; says which process holds it


def _digest(*parts: Any) -> str:
    text = json.dumps(parts, sort_keys=True, default=str)
    return hashlib.sha1(text.encode("utf-8")).hexdigest()[:16]


def figures_of(report: Any) -> dict[str, Any]:
    """The JSON-safe parts of a stage function's report (numbers, texts, small lists and tables)."""
    if report is None:
        return {}
    if dataclasses.is_dataclass(report) and not isinstance(report, type):
        items = {f.name: getattr(report, f.name) for f in dataclasses.fields(report)}
    elif isinstance(report, dict):
        items = dict(report)
    else:
        return {}
    return {k: v for k, v in ((k, _json_safe(v)) for k, v in items.items()) if v is not None}


def _json_safe(value: Any, depth: int = 0) -> Any:
    if isinstance(value, bool | int | str) or value is None:
        return value
    if isinstance(value, float):
        return value if value == value else None  # NaN is not JSON
    if hasattr(value, "item") and getattr(value, "ndim", 1) == 0:  # numpy scalar
        return _json_safe(value.item(), depth)
    if isinstance(value, Path):
        return str(value)
    if depth > 3:
        return None
    if isinstance(value, dict):
        return {str(k): _json_safe(v, depth + 1) for k, v in value.items()}
    if isinstance(value, list | tuple) and len(value) <= 200:
        return [_json_safe(v, depth + 1) for v in value]
    if dataclasses.is_dataclass(value) and not isinstance(value, type):
        return figures_of(value)
    return None  # large arrays, open files and the like stay out of the report


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
        path.parent.mkdir(parents=True, exist_ok=True)
        fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=".pipeline-", suffix=".tmp")
        with os.fdopen(fd, "w", encoding="utf-8") as fh:
            json.dump(data, fh, indent=1)
        os.replace(tmp, path)


def state_path(ctx: AppContext) -> Path:
    return ctx.dirs.state / STATE_FILE


def model_built(state: PipelineState) -> bool:
    """Whether an encoder training has finished: an update embeds new songs with that encoder,
    so without one an update can only fail ("no trained encoder")."""
    return "encoder" in state.done


class PipelineBusyError(MusicrecError):
    """Another run (the tray's worker or ``musicrec run``) is working on the same data folder."""

    def __init__(self, path: Path, holder: str) -> None:
        self.path, self.holder = path, holder
        super().__init__(f"another musicrec run is working: {holder or 'unknown process'} "
                         f"(it holds {path}); wait for it to finish or stop it, then try again")


@contextlib.contextmanager
def exclusive_run(ctx: AppContext) -> Iterator[None]:
    """One run at a time per data folder: two would train the same models and write the same
    ``pipeline.json`` at once. Raises ``PipelineBusyError`` at once instead of waiting.

    ``flock`` is released by the kernel when the process ends, so a crash never leaves it held.
    """
    path = ctx.dirs.state / LOCK_FILE
    path.parent.mkdir(parents=True, exist_ok=True)
    fd = os.open(path, os.O_RDWR | os.O_CREAT, 0o644)
    try:
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            holder = os.pread(fd, 500, 0).decode(errors="replace").strip()
            raise PipelineBusyError(path, holder) from None
        os.ftruncate(fd, 0)
        os.pwrite(fd, f"pid {os.getpid()}, {shlex.join(sys.argv)[:200]}, since "
                      f"{time.strftime('%Y-%m-%d %H:%M:%S')}\n".encode(), 0)
        yield
    finally:
        os.close(fd)  # closing releases the lock


class Stage:
    """One step of the pipeline. Subclasses set ``name`` and ``title`` and implement ``run``."""

    name: str = ""  # the progress key: "library", "cache", "encoder", "embed", "rating", "recommend"
    title: str = ""  # what the person reads: "Caching songs"

    def fingerprint(self, ctx: AppContext, state: PipelineState) -> str | None:
        """A digest of everything this stage's output depends on; None means always run."""
        return None

    def is_up_to_date(self, ctx: AppContext, state: PipelineState) -> bool:
        if self.name in state.force or self.name in state.started:
            return False  # asked for, or a run of it was interrupted
        fp = self.fingerprint(ctx, state)
        record = state.done.get(self.name)
        return fp is not None and record is not None and record.fingerprint == fp

    def run(self, ctx: AppContext, state: PipelineState, progress: ProgressCallback,
            cancel: CancelToken) -> dict[str, Any]:
        """Does the work; returns key figures for the report."""
        raise NotImplementedError


@dataclass
class StageResult:
    name: str
    title: str
    status: str  # "ran", "up to date", "cancelled", "failed"
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
            if stage.is_up_to_date(ctx, state):
                result.status = "up to date"
                progress(Progress(stage.name, 1, 1, message="up to date"))
                log.info("%s: up to date", stage.title)
                return result
            fingerprint = stage.fingerprint(ctx, state)
            log.info("%s…", stage.title)
            progress(Progress(stage.name, 0, 0, message=stage.title))
            figures = stage.run(ctx, state, _for_stage(stage.name, progress), cancel)
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
        progress(Progress(stage.name, 1, 1, message="done"))
        return result


def _for_stage(name: str, progress: ProgressCallback) -> ProgressCallback:
    """Labels every report of a stage's function with the stage's name, for the progress bars."""

    def report(p: Progress) -> None:
        progress(p if p.stage == name else dataclasses.replace(p, stage=name))

    return report


# -- the stages ------------------------------------------------------------------------------------


def _settings_part(ctx: AppContext, keys: Iterable[str]) -> dict[str, Any]:
    return {k: getattr(ctx.settings, k) for k in keys}


class LibraryStage(Stage):
    """Reads the library afresh and stores it (``library.stored``) for the later stages, commands
    and windows. ``make_demo``: the first-run paths (``musicrec run``, the tray after its offer)
    make the demo library when nothing else is configured; nothing else ever does."""

    name, title = "library", "Reading the library"

    def __init__(self, make_demo: bool = False) -> None:
        self.make_demo = make_demo

    def run(self, ctx, state, progress, cancel):
        from musicrec_desktop.library import load_library, resolve_source

        if self.make_demo and resolve_source(ctx.settings)[0] == "demo":
            _make_demo_library(ctx, progress, cancel)
        state.scan = load_library(ctx.settings, ctx.dirs, progress=progress)
        cancel.check()
        songs, local = len(state.scan.songs), len(state.scan.local_songs)
        progress(Progress(self.name, local, local, message=f"{local} songs"))
        genres = Counter(s.genre.strip() for s in state.scan.songs if s.genre.strip())
        return {"source": state.scan.source,
                "location": str(state.scan.location) if state.scan.location else None,
                "songs": songs, "local_songs": local,
                # For the settings dialog's genre mapping table.
                "genres": dict(genres.most_common(500)),
                "rated_songs": sum(1 for s in state.scan.songs if s.rating is not None),
                "skipped": dict(state.scan.skipped)}


def _make_demo_library(ctx: AppContext, progress: ProgressCallback, cancel: CancelToken) -> None:
    """The demo library, made on first use (a few minutes: progress and cancel reach it)."""
    try:
        from musicrec_desktop.demo.library import ensure_demo_library
    except ImportError as exc:
        raise NoLibraryError() from exc  # an install without the demo's dependencies
    ensure_demo_library(ctx.dirs, progress=progress, cancel=cancel)


class CacheStage(Stage):
    name, title = "cache", "Caching songs"
    settings_keys = ("cache_dir", "cache_format", "cache_budget_gb")

    def fingerprint(self, ctx, state):
        # Every song of the library: a song whose file is away and then leaves the library must
        # change the fingerprint, or its entry is never collected.
        files = []
        for song in state.scan.songs:  # type: ignore[union-attr]
            try:
                st = song.path.stat()  # type: ignore[union-attr]
                files.append((song.key, st.st_size, st.st_mtime_ns))
            except (OSError, AttributeError):  # away, or no local file at all (a stream)
                files.append((song.key, None, None))
        return _digest(_settings_part(ctx, self.settings_keys), sorted(files))

    def run(self, ctx, state, progress, cancel):
        from musicrec_desktop.audio.build import build_cache

        # The whole library, not only local songs: a song whose file is away keeps its entry.
        report = build_cache(state.scan.songs,  # type: ignore[union-attr]
                             ctx.settings, ctx.dirs, progress, cancel)
        state.reports[self.name] = report
        return figures_of(report)


class EncoderStage(Stage):
    """Trains the chosen encoder backend when it learns from the library (``needs_training``);
    a pretrained backend has nothing to do here. Its fingerprint leaves the song list out on
    purpose: a new song is embedded with the current encoder (incremental update), only
    "Rebuild model" retrains."""

    name, title = "encoder", "Training the encoder"

    def fingerprint(self, ctx, state):
        from musicrec_desktop.encoders.choice import open_backend

        backend = open_backend(ctx.settings, ctx.dirs)
        if not backend.needs_training:
            return _digest(backend.name)
        if state.quick is None:
            state.quick = resolve_device(state.device or ctx.settings.device) == "cpu"
        return _digest(_settings_part(ctx, backend.settings_keys()), state.quick)

    def run(self, ctx, state, progress, cancel):
        from musicrec_desktop.encoders.choice import open_backend

        backend = open_backend(ctx.settings, ctx.dirs)
        if not backend.needs_training:
            return {"backend": backend.name, "trained": False}
        fingerprint = self.fingerprint(ctx, state)
        # Resume a run of the same settings that started, did not finish and saved a checkpoint
        # (also when "Rebuild model" is asked again after a cancel or a restart); otherwise,
        # "Rebuild model" included, start from scratch.
        resume_allowed = state.started.get(self.name) == fingerprint
        state.started[self.name] = fingerprint
        state.save(state_path(ctx))
        report = backend.train(state.songs, quick=bool(state.quick), resume_allowed=resume_allowed,
                               device=state.device or ctx.settings.device, progress=progress,
                               cancel=cancel)
        state.reports[self.name] = report
        return figures_of(report)


def resolve_device(device: str) -> str:
    """``auto`` becomes ``cuda`` when a GPU is usable, else ``cpu`` (imports torch)."""
    if device != "auto":
        return device
    import torch

    return "cuda" if torch.cuda.is_available() else "cpu"


class EmbedStage(Stage):
    """Embeds new and changed songs with the chosen encoder backend and drops songs that left
    the library."""

    name, title = "embed", "Embedding songs"

    def fingerprint(self, ctx, state):
        return _digest(state.finished_at("encoder"), state.finished_at("cache"),
                       sorted(s.key for s in state.songs), ctx.settings.encoder)

    def run(self, ctx, state, progress, cancel):
        from musicrec_desktop.encoders.embed import embed_songs

        report = embed_songs(ctx.settings, ctx.dirs, state.songs,
                             device=state.device or ctx.settings.device, progress=progress,
                             cancel=cancel)
        cancel.check()
        state.reports[self.name] = report
        figures = figures_of(report)
        figures["removed"] = drop_removed_songs(ctx, state.scan)  # type: ignore[arg-type]
        return figures


def drop_removed_songs(ctx: AppContext, scan: LibraryScan) -> int:
    """Removes embeddings of songs that are no longer in the library; returns how many."""
    from musicrec_desktop.store.embeddings import EmbeddingStore

    if not ctx.dirs.embeddings_db.exists():
        return 0
    with EmbeddingStore(ctx.dirs.embeddings_db) as store:
        model = store.current_model()
        if model is None:
            return 0
        gone = store.keys(model) - {s.key for s in scan.songs}
        return store.remove(gone) if gone else 0


class RatingStage(Stage):
    """Learns the ratings from the embeddings, with plays, skips and Clementine's score as extra
    inputs. Every song the player plays changes its play count, so those implicit signals count
    coarsely (play and skip counts in doubling buckets, the score in tenths) and retrain at most
    once per ``IMPLICIT_REFRESH_S``; a rating, new embeddings or settings retrain at once.
    ``lastplayed`` is not something the model learns from, so it is left out."""

    name, title = "rating", "Learning your ratings"
    settings_keys = ("rating_epochs", "seed", "recommender")
    IMPLICIT_REFRESH_S = 6 * 3600

    def fingerprint(self, ctx, state):
        # Two parts, "explicit:implicit", so that is_up_to_date can tell which of them changed.
        return f"{self._explicit(ctx, state)}:{self._implicit(state)}"

    def is_up_to_date(self, ctx, state):
        if super().is_up_to_date(ctx, state):
            return True
        record = state.done.get(self.name)
        if record is None or self.name in state.force or self.name in state.started:
            return False
        explicit, _, _implicit = record.fingerprint.partition(":")
        recent = time.time() - record.finished < self.IMPLICIT_REFRESH_S
        return recent and explicit == self._explicit(ctx, state)

    def _explicit(self, ctx: AppContext, state: PipelineState) -> str:
        ratings = sorted((s.key, round(s.rating, 2)) for s in state.scan.songs
                         if s.rating is not None) if state.scan else None
        return _digest(state.finished_at("embed"), _settings_part(ctx, self.settings_keys), ratings)

    def _implicit(self, state: PipelineState) -> str:
        signals = sorted((s.key, _doubling_bucket(s.playcount), _doubling_bucket(s.skipcount),
                          None if s.score is None else round(s.score / 10))
                         for s in state.scan.songs) if state.scan else None
        return _digest(signals)

    def run(self, ctx, state, progress, cancel):
        from musicrec_desktop.recommend.service import train_recommender

        report = train_recommender(ctx.settings, ctx.dirs, state.scan, progress=progress, cancel=cancel)
        state.reports[self.name] = report
        return figures_of(report)


def _doubling_bucket(count: int) -> int:
    """0 for 0, then 1, 2 for 2-3, 3 for 4-7, 4 for 8-15...: the 50th play changes nothing."""
    return max(int(count or 0), 0).bit_length()


class RecommendStage(Stage):
    name, title = "recommend", "Making recommendations"
    settings_keys = ("output_dir", "playlist_length", "playlist_format", "recent_days",
                     "artist_cap", "exclude_artists", "exclude_genres")
    top_n = 10

    def fingerprint(self, ctx, state):
        # The day is part of it: "not played in the last N days" moves with the calendar.
        return _digest(state.finished_at("rating"), _settings_part(ctx, self.settings_keys),
                       time.strftime("%Y-%m-%d"))

    def run(self, ctx, state, progress, cancel):
        from musicrec_desktop.recommend.service import Recommender, write_playlists

        recommender = Recommender.open(ctx, state.scan)
        playlists = recommender.generated_playlists()
        cancel.check()  # before writing: a cancel leaves the previous playlists as they were
        written = write_playlists(ctx.settings, playlists)
        progress(Progress(self.name, len(playlists), len(playlists), message=f"{len(written)} files"))
        # A fixed seed: the report shows the same list for the same model.
        top = recommender.recommended(self.top_n, seed=0)
        return {"playlists": [str(p) for p in written],
                "playlist_songs": {name: len(songs) for name, songs in playlists.items()},
                "top": [_recommendation_row(r) for r in top]}


def _recommendation_row(item: Any) -> dict[str, Any]:
    """A recommendation as a row of the report: song, predicted rating, reason."""
    song = item.song
    return {"song": song.display_name, "key": song.key, "score": _json_safe(item.score),
            "predicted_rating": _json_safe(item.predicted_rating), "reason": item.reason}


def full_pipeline() -> Pipeline:
    """Everything: what "Rebuild model", ``musicrec run`` and the first start run."""
    return Pipeline([LibraryStage(make_demo=True), CacheStage(), EncoderStage(), EmbedStage(),
                     RatingStage(), RecommendStage()])


def update_pipeline() -> Pipeline:
    """After the library changed: new songs cached and embedded with the current encoder,
    removed ones dropped, ratings relearned, recommendations refreshed. No encoder training."""
    return Pipeline([LibraryStage(make_demo=True), CacheStage(), EmbedStage(), RatingStage(),
                     RecommendStage()])
