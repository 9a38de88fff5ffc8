"""Honest offline evaluation with a time-based split.

Protocol (one person): a cut-off time splits the listening. Test events are the plays completed
after it: "finish" events of the listening history when it has any (a play recorded as start and
finish counts once; a start that was skipped is no play), else each song's ``lastplayed``. Nothing
after the cut-off may reach training, and the player only keeps *current* counters. A song touched
after the cut-off (an event of the history after it, a ``lastplayed`` after it although the
companion recorded nothing, or a date added after it) has a play count, skip count, score and
rating that may include that later listening. In the training view such a song shows what the
history knew at the cut-off: its finished plays and skips up to the cut-off and the last of those
plays, no rating and no score (all zero when the history knew nothing of it). Ratings carry no
date; a rating of a song untouched after the cut-off is taken as training information, and so are
its skip count and score, which the player does not date either (the report says how many).
Candidates are the songs the person had not played or rated in the training view ("discovery"),
less the songs added after the cut-off (by the player's date added, unless most songs heard before
the cut-off are dated after it: a copied collection); every method ranks the same candidates. Metrics per test
event (relevant = that song) and per listening session after the cut-off (the study's users:
relevant = the session's new songs; a gap of more than 30 minutes starts a new session), each
with a Student-t 95 % interval.
"""

from __future__ import annotations

import dataclasses
import logging
import math
from collections import defaultdict
from dataclasses import dataclass, field

import numpy as np

from musicrec_desktop.history.summary import PLAY, sessions
from musicrec_desktop.library.song import Song
from musicrec_desktop.recommend.metrics import METRICS, mean_ci, per_user
from musicrec_desktop.recommend.ranking import DISLIKED_MAX
from musicrec_desktop.recommend.table import SongTable
from musicrec_desktop.recommend.taste import TasteView, TimedEvent, every_taste
from musicrec_desktop.settings import Settings

log = logging.getLogger(__name__)

KS = (10, 50)
MIN_PLAYS = 10


@dataclass
class Split:
    """The time-based split: what training may see and what is tested."""

    source: str  # where the plays came from
    cutoff: float  # epoch seconds
    train: SongTable  # the training view: songs touched after the cut-off as the history knew them
    history: list[TimedEvent]  # the listening history up to the cut-off (what training may see)
    candidates: list[int]  # rows of the songs unknown in the training view, not added after the cut-off
    test: list[str]  # song key of each play after the cut-off of a candidate, not disliked
    sessions: list[set[str]] = field(default_factory=list)  # the test songs of each listening session
    caveats: list[str] = field(default_factory=list)  # what the split could not keep from training


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
    added_after, dates_note = _added_after(table.songs, events, cutoff)
    # lastplayed after the cut-off: played then, whether or not the companion was running
    touched_after = ({e.key for e in (*events, *plays) if e.at > cutoff} | added_after
                     | {s.key for s in table.songs if s.lastplayed is not None and s.lastplayed > cutoff})
    before = [e for e in events if e.at <= cutoff]
    known_then = _as_of(before)
    train_songs = [known_then(s) if s.key in touched_after else s for s in table.songs]
    known = {s.key for s in train_songs if s.playcount or s.rating is not None}
    candidates = [i for i, s in enumerate(train_songs) if s.key not in known and s.key not in added_after]
    candidate_keys = {train_songs[i].key for i in candidates}
    by_key = {s.key: s for s in table.songs}
    tested = [e for e in sorted(plays, key=lambda e: e.at) if e.at > cutoff and e.key in candidate_keys
              and (by_key[e.key].rating is None or by_key[e.key].rating > DISLIKED_MAX)]
    if not tested:
        raise TooLittleListening(source, f"none of the {len(plays)} timed plays is a play after the "
                                         "cut-off of a song new to the training view: nothing to test")
    return Split(source, cutoff, SongTable(table.model_id, train_songs, table.vectors), before, candidates,
                 [e.key for e in tested], _sessions(tested),
                 _caveats(train_songs, touched_after, candidates, dates_note))


def _added_after(songs: list[Song], events: list[TimedEvent], cutoff: float) -> tuple[set[str], str | None]:
    """The songs the player says were added after the cut-off, and a note when its dates cannot be
    trusted. A player's date added is the file's ctime: a copied or restored collection carries the
    copy's date. A song heard before the cut-off was there; when most such songs are dated after
    it, the dates say nothing and none is used."""
    heard_before = ({e.key for e in events if e.at <= cutoff}
                    | {s.key for s in songs if s.lastplayed is not None and s.lastplayed <= cutoff})
    later = {s.key for s in songs if s.added is not None and s.added > cutoff}
    dated_heard = sum(1 for s in songs if s.key in heard_before and s.added is not None)
    contradicted = len(later & heard_before)
    if 2 * contradicted > dated_heard:
        return set(), (f"the player dates {contradicted} of the {dated_heard} songs heard before the cut-off "
                       "after it (a copied or rescanned collection?): its dates added are not used, so songs "
                       "added after the cut-off could not be left out")
    return later - heard_before, None


def _as_of(before: list[TimedEvent]):
    """A function giving a song as the history knew it at the cut-off (``before``: its events up to it)."""
    plays: dict[str, list[float]] = defaultdict(list)
    skips: dict[str, int] = defaultdict(int)
    for e in before:
        if e.kind == PLAY:
            plays[e.key].append(e.at)
        elif e.kind == "skip":
            skips[e.key] += 1

    def known_then(song: Song) -> Song:
        heard = plays.get(song.key, [])
        return dataclasses.replace(song, rating=None, score=None, playcount=len(heard),
                                   skipcount=skips[song.key], lastplayed=int(max(heard)) if heard else None)

    return known_then


def _sessions(tested: list[TimedEvent]) -> list[set[str]]:
    """The songs of the test plays (oldest first), cut into listening sessions."""
    # sessions() reads only .at, which a TimedEvent has as a stored listening event does
    return [{e.key for e in session} for session in sessions(tested)]  # type: ignore[arg-type]


def _caveats(train_songs: list[Song], touched_after: set[str], candidates: list[int],
             dates_note: str | None) -> list[str]:
    notes = [dates_note] if dates_note else []
    undated = sum(1 for s in train_songs
                  if s.key not in touched_after and (s.skipcount or s.score is not None))
    if undated:
        notes.append(f"{undated} songs with no event after the cut-off keep the player's skip counts and "
                     "scores, which may include skips after it while the companion was off (the player "
                     "does not date skips)")
    no_date = sum(1 for i in candidates if train_songs[i].added is None)
    if no_date and not dates_note:
        notes.append(f"{no_date} of the {len(candidates)} candidates have no date added in the player: "
                     "any added after the cut-off could not be left out")
    return notes


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
              "protocol": __doc__.split("\n\n", 1)[1].strip(), "methods": {},
              "users": "listening sessions after the cut-off", "n_users": len(split.sessions),
              "per_user": {}, "caveats": split.caveats}
    cand_keys = np.array([train_songs[i].key for i in split.candidates])
    for name, score in method_scores(split, settings or Settings()).items():
        ranked = list(cand_keys[np.argsort(-score[split.candidates], kind="stable")])
        per_metric = {}
        for k in ks:
            for metric, fn in METRICS.items():
                mean, low, high = mean_ci(fn(ranked, {key}, k) for key in split.test)
                per_metric[f"{metric}@{k}"] = {"mean": mean, "low": low, "high": high}
        result["methods"][name] = per_metric
        result["per_user"][name] = per_user([(ranked, songs) for songs in split.sessions], ks)
    return result


def summary(result: dict) -> str:
    if "error" in result:
        return f"evaluation ({result['source']}): {result['error']}"
    lines = [f"evaluation on {result['n_test_events']} test plays after the cut-off ({result['source']}), "
             f"{result['n_candidates']} candidate songs"]
    for name, metrics in result["methods"].items():
        parts = [f"{m} {_figure(v)}" for m, v in metrics.items() if m.startswith(("hit_rate", "ndcg", "mrr"))]
        lines.append(f"  {name}: " + "; ".join(parts))
    lines.append(f"per user ({result['n_users']} {result['users']}), mean [95 % interval]:")
    for name, metrics in result["per_user"].items():
        lines.append(f"  {name}: " + "; ".join(f"{m} {_figure(v)}" for m, v in metrics.items()))
    lines += [f"note: {c}" for c in result["caveats"]]
    return "\n".join(lines)


def _figure(v: dict) -> str:
    if math.isnan(v["low"]):
        return f"{v['mean']:.3f} (no interval)"
    return f"{v['mean']:.3f} [{v['low']:.3f}, {v['high']:.3f}]"
