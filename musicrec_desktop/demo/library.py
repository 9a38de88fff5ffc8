"""The demo library: generated songs as real tagged audio files plus a Strawberry ratings database.

Used when no player database and no music folder is configured, so that a fresh install shows the
whole product working. Layout under the demo folder::

    Music/<artist>/<album> (<year>)/<NN> - <title>.<flac|ogg|mp3>
    strawberry.db     the simulated listener's ratings, plays and skips, in Strawberry's schema
    demo.json         what was generated (to reuse it next time)

The listener's listening history (its last months of sessions, ``demo.listening``) goes where the
app reads the listening history, when asked (``history_db``): the app's own history file, as the
demo's own events, beside whatever else was recorded there.

Writing is incremental: a finished song file is never written again, an interrupted run continues
where it stopped, and a complete library is reused without touching anything.
"""

from __future__ import annotations

import contextlib
import json
import logging
import multiprocessing
import os
import shutil
import subprocess
import time
from collections.abc import Iterator
from concurrent.futures import FIRST_COMPLETED, Future, ProcessPoolExecutor, wait
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from musicrec_desktop.demo import DEMO_SEED, DEMO_SONGS
from musicrec_desktop.demo.catalog import DemoSong, plan_catalog, simulate_listener
from musicrec_desktop.demo.listening import DemoPlay, record_listening
from musicrec_desktop.demo.strawberry import write_strawberry_db
from musicrec_desktop.demo.styles import render_song
from musicrec_desktop.errors import AudioError
from musicrec_desktop.files import atomic_write, file_lock, write_text_atomic
from musicrec_desktop.lifetime import die_with_parent
from musicrec_desktop.paths import DataDirs
from musicrec_desktop.progress import CancelToken, ProgressCallback, RateMeter, ignore_progress

log = logging.getLogger(__name__)

GENERATOR_VERSION = 1  # bump when the music changes, so that old demo libraries are rewritten
# Bump when the simulated listener changes: its database and history are written again, the music
# is kept. 2: the listener has a listening history; 3: albums are added during it.
LISTENER_VERSION = 3
SONG_SECONDS = (60.0, 180.0)
SAMPLE_RATES = {"flac": 22050, "ogg": 44100, "mp3": 44100}  # FLAC at 22 kHz keeps the library small
MANIFEST = "demo.json"
DATABASE = "strawberry.db"


@dataclass(frozen=True)
class DemoLibrary:
    folder: Path
    music: Path  # the music files, below ``folder``
    database: Path  # Strawberry-schema database of the simulated listener
    songs: list[DemoSong]  # as generated (a player pointed at the database may have changed it since)
    plays: list[DemoPlay]  # the listener's listening history, oldest first
    written: int  # song files written by this call (0 when everything was reused)

    def path_of(self, song: DemoSong) -> Path:
        return self.music / song.relpath


def ensure_demo_library(dirs: DataDirs, progress: ProgressCallback = ignore_progress,
                        cancel: CancelToken | None = None, *, songs: int = DEMO_SONGS,
                        **options: Any) -> Path:
    """The demo Strawberry database (``dirs.demo_database``), generated on first use.

    A complete demo library already there is used as it is, whatever its size (``musicrec demo
    --songs N`` makes a smaller or larger one); otherwise one of ``songs`` songs is written.
    ``options`` go to ``write_demo_library`` (``seconds``, ``sample_rate``, ``workers``).
    """
    folder = dirs.demo
    made = _read_manifest(folder)
    if made.get("complete") and made.get("params", {}).get("version") == GENERATOR_VERSION:
        params = made["params"]
        songs = params["songs"]
        options = {**options, "seed": params["seed"], "seconds": tuple(params["seconds"]),
                   "sample_rate": params["sample_rate"]}
    return write_demo_library(folder, songs, progress=progress, cancel=cancel, history_db=dirs.history_db,
                              **options).database


def write_demo_library(folder: Path, songs: int = DEMO_SONGS, seed: int = DEMO_SEED,
                       progress: ProgressCallback = ignore_progress, cancel: CancelToken | None = None,
                       *, seconds: tuple[float, float] = SONG_SECONDS, sample_rate: int | None = None,
                       workers: int | None = None, history_db: Path | None = None) -> DemoLibrary:
    """Writes (or completes, or reuses) a demo library of ``songs`` songs in ``folder``.

    ``seconds`` is the range of song lengths; ``sample_rate`` forces one rate for every file
    (tests use a low one); ``workers`` processes render and encode (default: one per core);
    ``history_db``: the listening history the listener's plays are recorded in (None: none).
    """
    if songs < 1:
        raise ValueError("a demo library needs at least one song")
    folder = Path(folder).expanduser().resolve()
    music = folder / "Music"
    music.mkdir(parents=True, exist_ok=True)
    params = {"version": GENERATOR_VERSION, "songs": songs, "seed": seed, "seconds": list(seconds),
              "sample_rate": sample_rate}
    with _locked(folder):
        catalog = plan_catalog(songs, seed, seconds)
        manifest = _read_manifest(folder)
        if manifest.get("params") != params:
            _remove_old_songs(music, manifest)
        database = folder / DATABASE
        if manifest.get("params") == params and manifest.get("complete") and database.is_file() \
                and manifest.get("listener") == LISTENER_VERSION \
                and all((music / s.relpath).is_file() for s in catalog):
            log.info("demo library in %s is complete; reused", folder)
            rated, plays = simulate_listener(catalog, seed, int(manifest.get("now", time.time())))
            _record(history_db, music, plays)
            return DemoLibrary(folder, music, database, rated, plays, 0)
        _write_manifest(folder, params, catalog, complete=False)
        written = _write_songs(music, catalog, sample_rate, workers, progress, cancel)
        now = int(time.time())
        rated, plays = simulate_listener(catalog, seed, now)
        write_strawberry_db(database, music, rated, now)
        _record(history_db, music, plays)
        _write_manifest(folder, params, catalog, complete=True, now=now)
        log.info("demo library in %s: %d songs, %d written now, %d plays in its history", folder,
                 len(catalog), written, len(plays))
        return DemoLibrary(folder, music, database, rated, plays, written)


def _record(history_db: Path | None, music: Path, plays: list[DemoPlay]) -> None:
    if history_db is not None and record_listening(history_db, music, plays):
        log.info("the demo listener's %d plays recorded in %s", len(plays), history_db)


# -- one song -------------------------------------------------------------------------------------
def make_song_file(path: Path, song: DemoSong, sample_rate: int | None = None) -> Path:
    """Renders, encodes and tags one song; the file appears at ``path`` only once it is complete."""
    rate = sample_rate or SAMPLE_RATES[song.ext]
    audio = render_song(song.style, song.seed, song.seconds, rate, variant=song.variant)
    with atomic_write(path) as tmp:
        encode(tmp, audio, rate)
        tag(tmp, song)
    return path


def encode(path: Path, audio: np.ndarray, sample_rate: int) -> None:
    """Writes float32 (2, n) audio as FLAC, Ogg Vorbis or MP3, chosen by the file's extension."""
    import soundfile

    ext = path.suffix.lower().lstrip(".")
    frames = np.ascontiguousarray(audio.T)
    ffmpeg = shutil.which("ffmpeg")
    if ext == "mp3" and ffmpeg:
        # LAME's fastest good mode through ffmpeg is several times quicker than libsndfile's.
        pcm = (np.clip(frames, -1.0, 1.0) * 32767.0).astype("<i2").tobytes()
        cmd = [ffmpeg, "-v", "error", "-nostdin", "-y", "-f", "s16le", "-ar", str(sample_rate), "-ac", "2",
               "-i", "pipe:0", "-c:a", "libmp3lame", "-q:a", "5", "-compression_level", "9", str(path)]
        result = subprocess.run(cmd, input=pcm, capture_output=True, check=False)
        if result.returncode != 0:
            raise AudioError(path, f"ffmpeg could not encode MP3: {result.stderr.decode(errors='replace')}")
        return
    kinds = {"flac": ("FLAC", "PCM_16", {}), "ogg": ("OGG", "VORBIS", {"compression_level": 0.7}),
             "mp3": ("MP3", "MPEG_LAYER_III", {"compression_level": 0.6, "bitrate_mode": "VARIABLE"})}
    if ext not in kinds:
        raise AudioError(path, f"no encoder for .{ext}")
    fmt, subtype, options = kinds[ext]
    # libsndfile 1.2 crashes when a long Vorbis stream is written in one call; blocks avoid it.
    with soundfile.SoundFile(path, "w", sample_rate, 2, subtype, format=fmt, **options) as out:
        for start in range(0, len(frames), 1 << 16):
            out.write(frames[start:start + (1 << 16)])


def tag(path: Path, song: DemoSong) -> None:
    """Title, artist, album, genre, track and year, in the file's own tag format (mutagen)."""
    import mutagen

    audio = mutagen.File(path, easy=True)
    if audio is None:
        raise AudioError(path, "mutagen does not recognise the file it should tag")
    if audio.tags is None:
        audio.add_tags()
    values = {"title": song.title, "artist": song.artist, "album": song.album,
              "tracknumber": str(song.track), "date": str(song.year)}
    if song.genre:
        values["genre"] = song.genre
    for key, value in values.items():
        audio[key] = value
    audio.save()


# -- many songs -----------------------------------------------------------------------------------
def _write_songs(music: Path, catalog: list[DemoSong], sample_rate: int | None, workers: int | None,
                 progress: ProgressCallback, cancel: CancelToken | None) -> int:
    todo = [s for s in catalog if not (music / s.relpath).is_file()]
    done = len(catalog) - len(todo)
    meter = RateMeter(len(catalog), done)
    progress(meter.report("demo", done, "making the demo library"))
    if not todo:
        return 0
    workers = max(1, min(workers or os.cpu_count() or 1, len(todo)))
    if workers == 1:
        for song in todo:
            if cancel:
                cancel.check()
            make_song_file(music / song.relpath, song, sample_rate)
            done += 1
            progress(meter.report("demo", done, f"{song.artist} – {song.title}"))
        return len(todo)
    # Spawned workers: a forked child of a process with Qt or torch threads can deadlock.
    context = multiprocessing.get_context("spawn")
    pending: dict[Future, DemoSong] = {}
    queue = list(reversed(todo))
    with ProcessPoolExecutor(workers, mp_context=context, initializer=die_with_parent) as pool:
        try:
            while queue or pending:
                while queue and len(pending) < 2 * workers:  # a short queue so cancel is quick
                    song = queue.pop()
                    job = pool.submit(make_song_file, music / song.relpath, song, sample_rate)
                    pending[job] = song
                finished, _ = wait(pending, return_when=FIRST_COMPLETED)
                for job in finished:
                    job.result()
                    song = pending.pop(job)
                    done += 1
                    progress(meter.report("demo", done, f"{song.artist} – {song.title}"))
                if cancel:
                    cancel.check()
        except BaseException:  # a failed song, a cancel or Ctrl+C: drop the queued songs, then stop
            for job in pending:
                job.cancel()
            raise
    return len(todo)


# -- bookkeeping ----------------------------------------------------------------------------------
@contextlib.contextmanager
def _locked(folder: Path) -> Iterator[None]:
    """One writer at a time (the tray and a command line may both ask for the demo)."""
    with file_lock(folder / ".lock"):
        yield


def _read_manifest(folder: Path) -> dict:
    try:
        return json.loads((folder / MANIFEST).read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return {}


def _write_manifest(folder: Path, params: dict, catalog: list[DemoSong], *, complete: bool,
                    now: int | None = None) -> None:
    data = {"params": params, "listener": LISTENER_VERSION, "complete": complete, "now": now,
            "files": [s.relpath for s in catalog]}
    write_text_atomic(folder / MANIFEST, json.dumps(data, ensure_ascii=False, indent=1))


def _remove_old_songs(music: Path, manifest: dict) -> None:
    """Deletes the files an earlier, different demo library wrote (and only those)."""
    for relpath in manifest.get("files", []):
        path = music / relpath
        if path.is_file():
            path.unlink()
            with contextlib.suppress(OSError):  # folders that still hold something stay
                path.parent.rmdir()
                path.parent.parent.rmdir()
