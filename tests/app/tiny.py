"""Small real stages and a small real library for the pipeline, worker and tray tests."""

from __future__ import annotations

import math
import threading
import time
from pathlib import Path

import numpy as np
import soundfile as sf
from mutagen.flac import FLAC

from musicrec_desktop.context import AppContext
from musicrec_desktop.errors import LibraryError
from musicrec_desktop.paths import DataDirs
from musicrec_desktop.pipeline import CacheStage, LibraryStage, Pipeline, Stage
from musicrec_desktop.progress import RateMeter
from musicrec_desktop.settings import Settings

GENRES = ["Rock", "Synthwave", "Jazz", "Rock", "Hip-Hop"]


def write_song(path: Path, freq: float, genre: str, seconds: float = 12.0,
               rating: float | None = None) -> Path:
    """A real FLAC file (16 kHz mono sine) tagged with title, artist, genre and maybe a rating."""
    t = np.arange(int(16000 * seconds)) / 16000
    sf.write(path, (0.2 * np.sin(2 * np.pi * freq * t)).astype(np.float32), 16000)
    tags = FLAC(path)
    tags["title"], tags["artist"], tags["genre"] = path.stem, "Test Band", genre
    if rating is not None:
        tags["fmps_rating"] = f"{rating:.1f}"
    tags.save()
    return path


def make_library(folder: Path, genres: list[str] = GENRES) -> list[Path]:
    folder.mkdir(parents=True, exist_ok=True)
    return [write_song(folder / f"song{i}.flac", 220.0 * (1 + i / 4), g) for i, g in enumerate(genres)]


def make_ctx(root: Path, music: Path | None = None, **settings) -> AppContext:
    dirs = DataDirs.under(root / "data").create()
    base = Settings(notifications=False, num_workers=0, watch_library=False)
    if music is not None:
        base = base.replace(player="folders", music_folders=[str(music)])
    ctx = AppContext(dirs, base.replace(**settings))
    ctx.save_settings(ctx.settings)
    return ctx


class CountStage(Stage):
    """Counts to ``steps``, one step every ``step_s`` seconds, checking cancel between steps.

    It writes what it counted to a file, so its output is real and its fingerprint is the step
    count and the time the stage before it finished.
    """

    def __init__(self, name: str, steps: int = 5, step_s: float = 0.0, after: str | None = None,
                 fail: bool = False) -> None:
        self.name, self.title = name, f"Counting {name}"
        self.steps, self.step_s, self.after, self.fail = steps, step_s, after, fail
        self.threads: list[int] = []
        self.runs = 0

    def fingerprint(self, ctx, state):
        return f"{self.steps}:{state.finished_at(self.after) if self.after else ''}"

    def run(self, ctx, state, progress, cancel):
        self.runs += 1
        self.threads.append(threading.get_ident())
        if self.fail:
            raise LibraryError(ctx.dirs.state / "missing.db", "cannot be read")
        meter = RateMeter(self.steps)
        for step in range(1, self.steps + 1):
            cancel.check()
            time.sleep(self.step_s)
            # A loss that falls like a real one, so the progress window has a curve to draw.
            moco = 6.0 * math.exp(-step / 12) + 2.0 + 0.1 * math.sin(step)
            genre = 1.5 * math.exp(-step / 8) + 0.3
            progress(meter.report(self.name, step, f"step {step}/{self.steps}",
                                  loss=0.6 * moco + 0.4 * genre, moco=moco, genre=genre, step=step))
        (ctx.dirs.state / f"{self.name}.txt").write_text(str(self.steps))
        return {"counted": self.steps}


def tiny_pipeline(step_s: float = 0.0) -> Pipeline:
    """The stages that exist for real (library, cache) plus two counting stages after them."""
    return Pipeline([LibraryStage(), CacheStage(), CountStage("encoder", 4, step_s, after="cache"),
                     CountStage("rating", 3, step_s, after="encoder")])


def finished_run(root: Path, genres: tuple[str, ...] = ("Rock", "Jazz", "Reggae"),
                 songs: int = 18, name: str = "{genre}-{i:02d}", **settings) -> tuple[AppContext, object]:
    """Real songs (every second one rated, Jazz loved), embeddings around one centre per genre
    in a real store, then the real library, rating and recommendation stages: what a finished run
    leaves, playlists in ``root / "My playlists"`` included, without training an encoder. ``name``
    makes each song's file name and title from its genre and number. With 60
    songs or more, 30 are rated: enough for the rating model and its baselines."""
    from musicrec_desktop.encoders.choice import chosen_name
    from musicrec_desktop.library import load_library
    from musicrec_desktop.pipeline import RatingStage, RecommendStage
    from musicrec_desktop.store.embeddings import EmbeddingStore

    music = root / "music"
    music.mkdir(parents=True)
    rng = np.random.default_rng(0)
    centres = {g: rng.normal(0, 3, 16) for g in genres}
    for i in range(songs):
        genre = genres[i % len(genres)]
        rating = (1.0 if genre == "Jazz" else 0.4) if i % 2 else None
        write_song(music / (name.format(genre=genre.lower(), i=i) + ".flac"), 200.0 + 20 * i, genre,
                   seconds=1.0, rating=rating)
    ctx = make_ctx(root, music, **{"output_dir": str(root / "My playlists"), "recent_days": 0,
                                   "playlist_length": 5, **settings})
    with EmbeddingStore(ctx.dirs.embeddings_db) as store:
        store.register_model("encoder-test", 16)
        store.set_current("encoder-test", chosen_name(ctx.settings))  # the vectors the stages read
        store.put("encoder-test", [(s.key, centres[s.genre] + rng.normal(0, 1, 16))
                                   for s in load_library(ctx.settings, ctx.dirs).songs])
    report = Pipeline([LibraryStage(), RatingStage(), RecommendStage()]).run(ctx)
    if report.error is not None:
        raise report.error
    return ctx, report
