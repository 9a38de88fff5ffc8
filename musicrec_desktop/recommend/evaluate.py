"""Honest offline evaluation with a time-based split.

Protocol (one person): a cut-off time splits the listening. Test events are the plays completed
after it: "finish" events of the listening history when it has any (a play recorded as start and
finish counts once; a start that was skipped is no play), else each song's ``lastplayed``. Nothing
after the cut-off may reach training, and the player only keeps *current* counters: a song with
any event after the cut-off (started, finished or skipped) has a play count, skip count, score and
rating that may include that later listening, and we cannot tell which part came before. Such
songs are therefore stripped of *all* their signals in the training view (treated as never played
and unrated), which leaks nothing at the price of also hiding their older plays. Ratings carry no
date; a rating of a song untouched after the cut-off is taken as training information. Candidates
are the songs the person had not played or rated in the training view ("discovery"), and every
method ranks the same candidates. Metrics per test event (relevant = that song), with Student-t
95 % intervals over test events.
"""

from __future__ import annotations

import dataclasses
import logging
from dataclasses import dataclass

import numpy as np

from musicrec_desktop.library.song import Song
from musicrec_desktop.recommend.metrics import METRICS, mean_ci
from musicrec_desktop.recommend.ranking import DISLIKED_MAX
from musicrec_desktop.recommend.table import SongTable
from musicrec_desktop.recommend.taste import TasteView, TimedEvent, every_taste
from musicrec_desktop.settings import Settings

log = logging.getLogger(__name__)

KS = (10, 50)
MIN_PLAYS = 10
PLAY = "finish"  # the listening history's kind for a play heard to the end


@dataclass
class Split:
    """The time-based split: what training may see and what is tested."""

    source: str  # where the plays came from
    cutoff: float  # epoch seconds
    train: SongTable  # the training view: songs touched after the cut-off stripped of every signal
    history: list[TimedEvent]  # the listening history up to the cut-off (what training may see)
    candidates: list[int]  # rows of the songs unknown in the training view
    test: list[str]  # song key of each play after the cut-off of a candidate, not disliked


class TooLittleListening(Exception):
    """Too few timed plays, or none after the cut-off, for an evaluation."""

    def __init__(self, source: str, reason: str) -> None:
        self.source, self.reason = source, reason
        super().__init__(f"{source}: {reason}")


def time_split(table: SongTable, events: list[TimedEvent] | None = None, *, test_fraction: float = 0.2,
               cutoff: float | None = None) -> Split:
    """Splits at ``cutoff`` (default: the ``1 - test_fraction`` quantile of the play times).
    ``events``: the listening history's events of the table's songs, or None."""
    events = [e for e in events or () if table.row(e.key) is not None]
    plays = [e for e in events if e.kind == PLAY]
    source = "listening history"
    if not plays:
        plays = [TimedEvent(s.key, float(s.lastplayed), PLAY) for s in table.songs if s.lastplayed]
        source = "library lastplayed"
    if len(plays) < MIN_PLAYS:
        raise TooLittleListening(source, f"only {len(plays)} timed plays: too few to evaluate "
                                         f"(at least {MIN_PLAYS})")
    if cutoff is None:
        cutoff = float(np.quantile([e.at for e in plays], 1 - test_fraction))
    touched_after = {e.key for e in (*events, *plays) if e.at > cutoff}
    train_songs = [_stripped(s) if s.key in touched_after else s for s in table.songs]
    known = {s.key for s in train_songs if s.playcount or s.rating is not None}
    candidates = [i for i, s in enumerate(train_songs) if s.key not in known]
    by_key = {s.key: s for s in table.songs}
    test = [e.key for e in plays if e.at > cutoff and e.key not in known
            and (by_key[e.key].rating is None or by_key[e.key].rating > DISLIKED_MAX)]
    if not test:
        raise TooLittleListening(source, f"none of the {len(plays)} timed plays is a play after the "
                                         "cut-off of a song new to the training view: nothing to test")
    return Split(source, cutoff, SongTable(table.model_id, train_songs, table.vectors),
                 [e for e in events if e.at <= cutoff], candidates, test)


def method_scores(split: Split, settings: Settings) -> dict[str, np.ndarray]:
    """Each registered recommender's score (N float64, higher first) of every song, by its title,
    learnt from the training view and the history up to the cut-off only."""
    view = TasteView(split.train, split.history)
    scores = {}
    for recommender in every_taste():
        model, _ = recommender.learn(view, settings, measure=False)
        scores[recommender.title] = model.predict(split.train).astype(np.float64)
    return scores


def evaluate(table: SongTable, events: list[TimedEvent] | None = None, *, test_fraction: float = 0.2,
             cutoff: float | None = None, ks: tuple[int, ...] = KS,
             settings: Settings | None = None) -> dict:
    """The metrics of every method on the split (see ``time_split``), or ``{"source", "error"}``."""
    try:
        split = time_split(table, events, test_fraction=test_fraction, cutoff=cutoff)
    except TooLittleListening as exc:
        return {"source": exc.source, "error": exc.reason}
    train_songs = split.train.songs
    result = {"source": split.source, "cutoff": split.cutoff, "n_test_events": len(split.test),
              "n_candidates": len(split.candidates),
              "n_training_rated": sum(s.rating is not None for s in train_songs),
              "protocol": __doc__.split("\n\n", 1)[1].strip(), "methods": {}}
    cand_keys = np.array([train_songs[i].key for i in split.candidates])
    for name, score in method_scores(split, settings or Settings()).items():
        ranked = list(cand_keys[np.argsort(-score[split.candidates], kind="stable")])
        per_metric = {}
        for k in ks:
            for metric, fn in METRICS.items():
                mean, low, high = mean_ci(fn(ranked, {key}, k) for key in split.test)
                per_metric[f"{metric}@{k}"] = {"mean": mean, "low": low, "high": high}
        result["methods"][name] = per_metric
    return result


def _stripped(song: Song) -> Song:
    return dataclasses.replace(song, rating=None, playcount=0, skipcount=0, score=None, lastplayed=None)


def summary(result: dict) -> str:
    if "error" in result:
        return f"evaluation ({result['source']}): {result['error']}"
    lines = [f"evaluation on {result['n_test_events']} test plays after the cut-off ({result['source']}), "
             f"{result['n_candidates']} candidate songs"]
    for name, metrics in result["methods"].items():
        parts = [f"{m} {v['mean']:.3f} [{v['low']:.3f}, {v['high']:.3f}]" for m, v in metrics.items()
                 if m.startswith(("hit_rate", "ndcg", "mrr"))]
        lines.append(f"  {name}: " + "; ".join(parts))
    return "\n".join(lines)
