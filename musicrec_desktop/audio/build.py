"""Filling the chunk cache from the library: incremental, resumable, parallel, cancellable.

One build at a time holds ``build.lock`` in the cache root. The build process decides what to do,
workers decode and write files, and the build process commits one index row per finished song.
A build killed at any moment leaves only complete rows; the files it had not committed yet are
deleted by the next build, which carries on with the songs still to do.
"""

from __future__ import annotations

import concurrent.futures as cf
import contextlib
import hashlib
import logging
import multiprocessing
import os
import time
from collections import Counter
from collections.abc import Callable, Generator, Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path

from musicrec_desktop.audio._worker import (
    DATA_FOLDER,
    SongJob,
    SongResult,
    cache_song,
    init_worker,
    ping,
)
from musicrec_desktop.audio.cache import cache_root
from musicrec_desktop.audio.chunks import LAYOUT_VERSION
from musicrec_desktop.audio.index import CacheIndex, IndexRow, identity_of
from musicrec_desktop.errors import CacheError
from musicrec_desktop.files import file_lock
from musicrec_desktop.library.song import Song
from musicrec_desktop.paths import DataDirs
from musicrec_desktop.progress import CancelToken, ProgressCallback, RateMeter, ignore_progress
from musicrec_desktop.settings import Settings

log = logging.getLogger(__name__)

LOCK_NAME = "build.lock"
CRASHES_BEFORE_SKIP = 2  # a song that crashed a worker alone this many times is skipped


@dataclass
class CacheReport:
    cached: int = 0  # songs decoded and written by this build
    up_to_date: int = 0  # songs already cached and unchanged
    skipped: Counter[str] = field(default_factory=Counter)  # reason -> songs (new and recorded before)
    removed: int = 0  # entries of songs no longer in the library, deleted
    bytes: int = 0  # bytes written by this build
    seconds: float = 0.0
    attempted: int = 0  # songs decoded by this build (cached + newly skipped)
    total_bytes: int = 0  # the whole cache after the build
    songs: int = 0  # cached songs after the build


def file_id(song_key: str) -> str:
    return hashlib.sha1(song_key.encode("utf-8", "surrogatepass")).hexdigest()


def build_cache(songs: Sequence[Song], settings: Settings, dirs: DataDirs,
                progress: ProgressCallback = ignore_progress, cancel: CancelToken | None = None,
                workers: int | None = None, *, collect: bool = True) -> CacheReport:
    """Caches every local song of ``songs``; returns what was done.

    Pass the whole library, songs whose file is away included: ``collect`` deletes the entries of
    songs that are not in ``songs`` (they left the library), while a song still listed keeps its
    entry when its file is missing for now (an unmounted drive). Pass ``collect=False`` when
    ``songs`` is only part of the library. ``workers`` (default: the ``num_workers`` setting) is
    the number of decoding processes; 0 decodes in this process. Once the ``cache_budget_gb``
    setting is reached no more songs are decoded: they are counted as ``over_budget``.
    Raises ``CacheError`` when the cache cannot be written (full disk, another build running) and
    ``Cancelled`` on cancel; the rows committed until then stay valid.
    """
    started = time.monotonic()
    root = cache_root(settings, dirs)
    fmt = settings.cache_format
    workers = settings.num_workers if workers is None else workers
    report = CacheReport()
    root.mkdir(parents=True, exist_ok=True)
    with _build_lock(root):
        index = CacheIndex(root, create=True)
        try:
            rows = index.rows()
            _delete_orphans(root, rows)
            local = _unique_local(songs)
            if collect:
                # Songs still in the library keep their entry even while their file is away
                # (an unmounted drive): only songs gone from the library are collected.
                listed = {s.key for s in songs}
                gone = [k for k in rows if k not in listed]
                index.remove(gone)
                for key in gone:
                    _unlink(root, rows.pop(key).file)
                report.removed = len(gone)
            jobs = _plan(local, rows, fmt, root, report)
            budget = _Budget(int(settings.cache_budget_gb * 1e9), sum(r.bytes for r in rows.values()))
            _run(jobs, rows, index, fmt, root, budget, workers, progress, cancel, report)
            index.record_over_budget(report.skipped["over_budget"])
            rows = index.rows()
            report.total_bytes = sum(r.bytes for r in rows.values())
            report.songs = sum(1 for r in rows.values() if r.cached)
        finally:
            index.close()
    report.seconds = time.monotonic() - started
    log.info("cache: %d cached, %d up to date, %d skipped, %d removed in %.1f s", report.cached,
             report.up_to_date, sum(report.skipped.values()), report.removed, report.seconds)
    return report


class _Budget:
    """The ``cache_budget_gb`` setting (0: no limit): reached once a song did not fit."""

    def __init__(self, limit: int, used: int) -> None:
        self.limit, self.used, self.reached = limit, used, False

    def admit(self, growth: int) -> bool:
        """Whether the cache may grow by ``growth`` bytes; counts them when it may."""
        if self.limit and self.used + growth > self.limit:
            self.reached = True
            return False
        self.used += growth
        return True


@contextlib.contextmanager
def _build_lock(root: Path) -> Iterator[None]:
    held = contextlib.ExitStack()
    try:
        held.enter_context(file_lock(root / LOCK_NAME, wait=False))
    except BlockingIOError as exc:
        raise CacheError(f"another cache build is running in {root}") from exc
    with held:
        yield


def _unique_local(songs: Sequence[Song]) -> dict[str, Song]:
    return {s.key: s for s in songs if s.path is not None and s.available}


def _plan(local: dict[str, Song], rows: dict[str, IndexRow], fmt: str, root: Path,
          report: CacheReport) -> list[tuple[SongJob, str]]:
    """The songs that need decoding, each with its file identity; counts the others in ``report``."""
    jobs = []
    for key, song in local.items():
        path = str(song.path)
        try:
            st = os.stat(path)
        except FileNotFoundError:
            report.skipped["missing"] += 1  # not recorded: a stat is cheap, so it is retried
            continue
        except OSError:
            report.skipped["unreadable"] += 1
            continue
        identity = identity_of(path, st.st_size, st.st_mtime_ns, song.beginning_s, song.length_s)
        row = rows.get(key)
        if row is not None and row.identity == identity:
            if not row.cached:
                report.skipped[row.reason or "unknown"] += 1  # recorded before; retried once it changes
                continue
            if row.fmt == fmt and row.layout == LAYOUT_VERSION:
                report.up_to_date += 1
                continue
        jobs.append((SongJob(key, path, song.beginning_s, song.length_s, fmt, str(root), file_id(key)),
                     identity))
    return jobs


def _run(jobs: list[tuple[SongJob, str]], rows: dict[str, IndexRow], index: CacheIndex, fmt: str,
         root: Path, budget: _Budget, workers: int, progress: ProgressCallback,
         cancel: CancelToken | None, report: CacheReport) -> None:
    meter = RateMeter(len(jobs))
    progress(meter.report("cache", 0, "caching songs"))
    identities = {job.song_key: identity for job, identity in jobs}
    done = 0
    # Closed on the way out (cancel, full disk), not whenever it is collected: the workers stop
    # and files never committed are deleted while this build still holds the lock.
    with contextlib.closing(_results([job for job, _ in jobs], workers, cancel, root,
                                     lambda: budget.reached)) as results:
        for job, result in results:
            done += 1
            _store(job, result, identities[job.song_key], rows.get(job.song_key), index, fmt, root,
                   budget, cancel, report)
            progress(meter.report("cache", done, Path(job.path).name,
                                  cached=report.cached, skipped=sum(report.skipped.values())))
    if done < len(jobs):
        # Never decoded: they wait until the budget allows them.
        report.skipped["over_budget"] += len(jobs) - done
        progress(meter.report("cache", len(jobs), "the cache size budget is reached",
                              cached=report.cached, skipped=sum(report.skipped.values())))


def _store(job: SongJob, result: SongResult, identity: str, old: IndexRow | None, index: CacheIndex,
           fmt: str, root: Path, budget: _Budget, cancel: CancelToken | None,
           report: CacheReport) -> None:
    """Commits one song's result to the index, or stops the build (full disk, cancel)."""
    if result.fatal:
        raise CacheError(f"{result.fatal}; the {report.cached} songs cached so far are kept "
                         "and the cache is consistent")
    if cancel is not None and cancel.cancelled:
        _unlink(root, result.file)  # checked again before storing: a cancel stores nothing more
        cancel.check()
    report.attempted += 1
    if result.file and not budget.admit(result.nbytes - (old.bytes if old else 0)):
        _unlink(root, result.file)
        report.skipped["over_budget"] += 1  # not recorded: cached once the budget allows
    elif result.file:
        index.put_cached(job.song_key, identity, job.path, fmt, LAYOUT_VERSION, result.file,
                         result.offsets, result.seconds, result.starts, result.nbytes)
        if old is not None:
            _unlink(root, old.file)  # only now: until the commit the old row named it
        report.cached += 1
        report.bytes += result.nbytes
    else:
        index.put_skipped(job.song_key, identity, job.path, result.reason or "unknown", result.detail)
        if old is not None:
            _unlink(root, old.file)
            budget.used -= old.bytes
        log.info("skipped %s: %s %s", job.path, result.reason, result.detail)
        report.skipped[result.reason or "unknown"] += 1


def _results(jobs: list[SongJob], workers: int, cancel: CancelToken | None, root: Path,
             stop_submitting: Callable[[], bool]) -> Iterator[tuple[SongJob, SongResult]]:
    """Each job with its result, in the order they finish, until ``stop_submitting()`` is true:
    then the jobs in flight finish and the others are left out."""
    if workers <= 0:
        for job in jobs:
            if cancel is not None:
                cancel.check()
            if stop_submitting():
                return
            yield job, cache_song(job)
        return
    queue = list(reversed(jobs))
    # In flight when a worker crashed: retried one at a time, so that a crash is pinned on the
    # song that caused it and never on the songs that happened to be decoded next to it.
    suspects: list[SongJob] = []
    crashes: Counter[str] = Counter()
    while queue or suspects:
        crashed = yield from _pool_results(workers, queue, suspects, cancel, root, stop_submitting)
        if not crashed:
            return
        log.warning("a cache worker crashed with %d songs in flight; restarting the workers", len(crashed))
        if len(crashed) == 1:  # it crashed alone: the crash is this song's doing
            job = crashed[0]
            crashes[job.song_key] += 1
            if crashes[job.song_key] >= CRASHES_BEFORE_SKIP:
                detail = f"the decoder crashed {crashes[job.song_key]} times on this file"
                yield job, SongResult(job.song_key, reason="decoder_crashed", detail=detail)
                continue
        suspects.extend(crashed)


def _pool_results(workers: int, queue: list[SongJob], suspects: list[SongJob],
                  cancel: CancelToken | None, root: Path, stop_submitting: Callable[[], bool]
                  ) -> Generator[tuple[SongJob, SongResult], None, list[SongJob]]:
    """Runs jobs from ``suspects`` (alone) and ``queue`` in one pool of workers, yielding their
    results; returns the jobs that were in flight when a worker died (none: all done)."""
    pool = _start_pool(workers)
    pending: dict[cf.Future, SongJob] = {}
    try:
        while True:
            _submit(pool, pending, queue, suspects, 2 * workers, cancel, stop_submitting)
            if not pending:
                return []
            finished, _ = cf.wait(pending, return_when=cf.FIRST_COMPLETED)
            if any(_crashed(f) for f in finished):
                cf.wait(pending)  # a dead worker fails every job in flight: take them all
                finished = set(pending)
            crashed = []
            for future in finished:
                job = pending.pop(future)
                if _crashed(future):
                    crashed.append(job)
                else:
                    yield job, future.result()
            if crashed:
                return crashed
    finally:
        pool.shutdown(wait=True, cancel_futures=True)
        # Stopped early (cancel, full disk): files finished but never committed go now.
        for future in pending:
            if future.done() and not future.cancelled() and future.exception() is None:
                _unlink(root, future.result().file)


def _submit(pool: cf.ProcessPoolExecutor, pending: dict[cf.Future, SongJob], queue: list[SongJob],
            suspects: list[SongJob], most: int, cancel: CancelToken | None,
            stop_submitting: Callable[[], bool]) -> None:
    """Tops up the jobs in flight: a suspect runs alone; others run ``most`` at a time, enough to
    keep the workers busy and few to throw away on cancel."""
    while not stop_submitting():
        if cancel is not None:
            cancel.check()
        if suspects and not pending:
            job = suspects.pop()
        elif not suspects and queue and len(pending) < most:
            job = queue.pop()
        else:
            return
        pending[pool.submit(cache_song, job)] = job


def _crashed(future: cf.Future) -> bool:
    return isinstance(future.exception(), cf.process.BrokenProcessPool)


def _start_pool(workers: int) -> cf.ProcessPoolExecutor:
    """A pool whose workers are known to start (so that a crash later is a song's doing)."""
    # spawn, not fork: the caller may be a Qt app with threads, and fork copies their locks.
    pool = cf.ProcessPoolExecutor(max_workers=workers, initializer=init_worker,
                                  mp_context=multiprocessing.get_context("spawn"))
    try:
        pool.submit(ping).result(timeout=120)
    except (cf.process.BrokenProcessPool, cf.TimeoutError) as exc:
        pool.shutdown(wait=False, cancel_futures=True)
        raise CacheError(f"the cache worker processes do not start ({exc or type(exc).__name__}); "
                         "try --workers 0") from exc
    return pool


def _delete_orphans(root: Path, rows: dict[str, IndexRow]) -> None:
    """Deletes files no row names: temporary files and files of a build killed before committing."""
    known = {r.file for r in rows.values() if r.file}
    data = root / DATA_FOLDER
    if not data.is_dir():
        return
    for folder in os.scandir(data):
        if not folder.is_dir():
            continue
        for entry in os.scandir(folder.path):
            if f"{DATA_FOLDER}/{folder.name}/{entry.name}" not in known:
                log.debug("deleting orphan cache file %s", entry.path)
                Path(entry.path).unlink(missing_ok=True)


def _unlink(root: Path, file: str | None) -> None:
    if file:
        (root / file).unlink(missing_ok=True)

