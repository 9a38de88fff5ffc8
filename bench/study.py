"""The recommenders on a synthetic listening history: CPU training time, memory and the study's
figures. Run: ``nice -n 19 .venv/bin/python bench/study.py [--quick] [--songs N] [--listens N]``.

The history (``synthetic_history``): ``--songs`` songs (default 10 000) in 50 styles, each song a
200-d vector (its style's centre plus noise, neighbouring styles' centres correlated, as real
embeddings of related styles are), four artists a style, all in the library from the start;
``--listens`` plays (default 100 000) in listening sessions of about 12 plays (gaps of hours
between sessions, minutes within). A session starts in a style drawn from the listener's taste
at the time, which drifts along the styles over the period (so later sessions find songs never
heard before); within a session the listener keeps to the style and with every song moves on
to the next style with chance 0.25 (sequential structure: style s is followed by style s + 1);
within a style the songs are played by a Zipf law. 15 % of the songs heard are rated (by how much
the listener likes their style over the period, with noise) so the rating model applies.

Protocol: the study's own (``recommend/study.py``): a time split at the 70 % quantile of the play
times (the training view shows what was known at the cut-off), the later sessions alternately
validation and test, each asked from its first half of distinct songs through
``taste.for_session``, scored on the new songs it went on to play. Printed: the test half's
HitRate and NDCG at 10 and 50 with 95 % Student-t intervals.

Each recommender learns in a process of its own (forked), on the CPU, with torch already
imported and the parent's data read once, so its figures are its own: CPU seconds of learning
(process time, all threads) and wall seconds, and the growth of the peak resident memory during
learning over the memory before it (``resource.getrusage`` ru_maxrss; numpy and torch
allocations both count).
"""

from __future__ import annotations

import argparse
import multiprocessing
import resource
import sys
import time
from collections import Counter
from datetime import UTC, datetime
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
from musicrec_desktop.library.song import Song  # noqa: E402
from musicrec_desktop.recommend.study import StudySplit, session_split, study_recommenders  # noqa: E402
from musicrec_desktop.recommend.table import SongTable  # noqa: E402
from musicrec_desktop.recommend.taste import TimedEvent, taste_class  # noqa: E402
from musicrec_desktop.settings import Settings  # noqa: E402

STYLES = 50
DIM = 200
ARTISTS_PER_STYLE = 4
SESSION_PLAYS = 12  # mean plays a session
MOVE_ON = 0.25  # chance the next song is of the next style
RATED_SHARE = 0.15
START = 1_704_067_200.0  # 2024-01-01 UTC
SEED = 15
RECOMMENDERS = ("popularity", "session_knn", "shallow", "bert4rec", "rating")
FIGURES = ("hit_rate@10", "ndcg@10", "hit_rate@50", "ndcg@50")


def synthetic_history(n_songs: int, n_listens: int, seed: int = SEED) -> tuple[SongTable, list[TimedEvent]]:
    """The library (with its play counts, last plays and ratings as a player keeps them) and its
    listening history, as the module docstring tells."""
    rng = np.random.default_rng(seed)
    per_style = n_songs // STYLES
    centres = np.zeros((STYLES, DIM))
    centres[0] = rng.standard_normal(DIM)
    for s in range(1, STYLES):  # a walk: neighbouring styles sound related
        centres[s] = 0.6 * centres[s - 1] + 0.8 * rng.standard_normal(DIM)
    style_of = np.repeat(np.arange(STYLES), per_style)  # n_songs (rounded down to whole styles)
    vectors = centres[style_of] + 1.2 * rng.standard_normal((len(style_of), DIM))
    vectors = (vectors / np.linalg.norm(vectors, axis=1, keepdims=True)).astype(np.float32)
    within = 1 / np.arange(1, per_style + 1) ** 0.9  # Zipf over a style's songs
    within /= within.sum()

    events, liking = [], np.zeros(STYLES)
    at = START
    while len(events) < n_listens:
        progress = len(events) / n_listens
        taste = _taste(progress)
        liking += taste
        style = int(rng.choice(STYLES, p=taste))
        heard: set[int] = set()
        for _ in range(1 + int(rng.geometric(1 / SESSION_PLAYS))):
            if len(events) >= n_listens:
                break
            song = style * per_style + int(rng.choice(per_style, p=within))
            if song in heard:  # a session seldom plays a song twice
                song = style * per_style + int(rng.integers(per_style))
            heard.add(song)
            events.append(TimedEvent(f"s{song}", at, "finish"))
            at += float(rng.uniform(150, 330))
            if rng.random() < MOVE_ON:
                style = (style + 1) % STYLES
        at += float(rng.uniform(1, 6)) * 3600  # to the next session: over 30 minutes
    return _library(events, style_of, vectors, liking / liking.sum(), rng), events


def _taste(progress: float) -> np.ndarray:
    """The listener's liking of each style at ``progress`` (0..1 through the history): a bump of
    about six styles whose centre drifts from style 5 to style 30, and a little of every style."""
    centre = 5 + 25 * progress
    distance = np.abs((np.arange(STYLES) - centre + STYLES / 2) % STYLES - STYLES / 2)
    bump = np.exp(-0.5 * (distance / 3) ** 2)
    taste = 0.9 * bump / bump.sum() + 0.1 / STYLES
    return taste / taste.sum()


def _library(events: list[TimedEvent], style_of: np.ndarray, vectors: np.ndarray, liking: np.ndarray,
             rng: np.random.Generator) -> SongTable:
    plays = Counter(e.key for e in events)
    last = {e.key: int(e.at) for e in events}
    heard = sorted(plays)
    rated = set(rng.choice(heard, int(RATED_SHARE * len(heard)), replace=False).tolist())
    top = liking.max()
    songs = []
    for i, style in enumerate(style_of):
        key = f"s{i}"
        rating = None
        if key in rated:  # stars from how much the style is liked over the period, with noise
            rating = float(np.clip(round(0.2 + 0.8 * liking[style] / top + rng.normal(0, 0.15), 1), 0.2, 1.0))
        songs.append(Song(key=key, url=f"file:///music/{key}.ogg", path=None, title=f"Song {i}",
                          artist=f"Artist {style}-{i % ARTISTS_PER_STYLE}", album=f"Album {style}",
                          rating=rating, playcount=plays[key], lastplayed=last.get(key),
                          added=int(START - 86400)))
    return SongTable("synthetic-200d", songs, vectors)


def measure(name: str, study: StudySplit, settings: Settings, reply) -> None:
    """In a forked process: learns recommender ``name`` on the study's training view, measuring
    time and memory, and asks it about every session; sends the figures through ``reply``."""
    import torch  # noqa: F401  (before the baseline: importing it is not the recommender's memory)

    _touch(study)
    recommender = taste_class(name)
    figures: dict = {}

    class Measured(recommender):  # the real recommender; only its learning is timed
        @classmethod
        def learn(cls, view, settings, **kwargs):
            before = _rss_mb()
            cpu, wall = time.process_time(), time.monotonic()
            model, report = recommender.learn(view, settings, **kwargs)
            peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024  # KiB on Linux
            figures.update(cpu_s=time.process_time() - cpu, wall_s=time.monotonic() - wall,
                           memory_mb=max(0.0, peak - before), report=report.message)
            return model, report

    row = study_recommenders(study, [Measured], settings, backend="synthetic")[0]
    reply.send({**figures, "name": name, "test": row.test, "validation": row.validation,
                "total_s": row.seconds})


def _touch(study: StudySplit) -> None:
    """Reads what the parent built, so that the pages the fork shares count before the baseline,
    not as memory of the learning."""
    split = study.split
    float(split.train.vectors.sum())
    sum(e.at for e in split.history) + sum(s.playcount for s in split.train.songs)
    sum(len(q.given) for q in (*study.validation, *study.test))


def _rss_mb() -> float:
    """The resident memory now (not the peak), MiB."""
    with open("/proc/self/statm") as fh:
        return int(fh.read().split()[1]) * resource.getpagesize() / 2**20


def _cell(figure: dict) -> str:
    return f"{figure['mean']:.3f} [{figure['low']:.3f}, {figure['high']:.3f}]"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--songs", type=int, default=10_000)
    parser.add_argument("--listens", type=int, default=100_000)
    parser.add_argument("--quick", action="store_true", help="2 000 songs, 20 000 listens")
    parser.add_argument("--recommenders", nargs="+", default=list(RECOMMENDERS))
    parser.add_argument("--seed", type=int, default=SEED)
    args = parser.parse_args()
    if args.quick:
        args.songs, args.listens = 2_000, 20_000
    started = time.monotonic()
    table, events = synthetic_history(args.songs, args.listens, args.seed)
    study = session_split(table, events)
    span = (events[-1].at - events[0].at) / 86400
    print(f"{len(table)} songs, {len(events)} listens over {span:.0f} days, "
          f"cut-off {datetime.fromtimestamp(study.split.cutoff, UTC):%Y-%m-%d}; "
          f"{len(study.split.history)} listens before it; {len(study.split.candidates)} candidates; "
          f"sessions after it: {len(study.validation)} validation, {len(study.test)} test, "
          f"{study.unusable} unusable ({time.monotonic() - started:.1f} s to build)")
    settings = Settings(device="cpu")
    fork = multiprocessing.get_context("fork")
    results = []
    for name in args.recommenders:
        receive, reply = fork.Pipe(duplex=False)
        child = fork.Process(target=measure, args=(name, study, settings, reply))
        child.start()
        reply.close()  # the child's end only: a child that dies unsent is then an EOFError here
        try:
            r = receive.recv()
        except EOFError:
            child.join()
            print(f"  {name}: failed (exit {child.exitcode}; its traceback above)", flush=True)
            continue
        child.join()
        results.append(r)
        print(f"  {name}: learnt in {r['cpu_s']:.1f} CPU s ({r['wall_s']:.1f} s wall), "
              f"+{r['memory_mb']:.0f} MiB peak; {r['report']}", flush=True)
    print()
    header = f"{'recommender':<12} {'CPU s':>7} {'MiB':>6}  " + "  ".join(f"{f:<22}" for f in FIGURES)
    print(header + "\n" + "-" * len(header))
    for r in results:
        print(f"{r['name']:<12} {r['cpu_s']:>7.1f} {r['memory_mb']:>6.0f}  "
              + "  ".join(f"{_cell(r['test'][f]):<22}" for f in FIGURES))
    print(f"\n(test half, n = {len(study.test)} sessions; 95 % Student-t intervals; "
          f"total {time.monotonic() - started:.0f} s)")


if __name__ == "__main__":
    main()
