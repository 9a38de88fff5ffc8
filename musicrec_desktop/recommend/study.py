"""The design study's protocol on one person's listening: sessions after a cut-off are the users.

A cut-off time splits the listening history (``evaluate.time_split``: the training view shows
what was known at the cut-off, candidates are the songs new to it, the same leak rules). The
listening sessions after the cut-off (a gap of more than 30 minutes starts one) are the study's
users, taken alternately by start time into a validation half and a test half. A session with at
least two distinct songs heard to the end is asked about as it was going: the first half of its
distinct songs (at least one), with every event up to the first play of the next, is given to the
recommender as the current session (``taste.for_session``); the session's other songs that are
candidates (new at the cut-off, not disliked) are what it should find, among the candidates not
already heard in the session. Recommenders learn from the training view and the history up to the
cut-off only. HitRate, MRR, Precision, Recall and NDCG at 10 and 50 are averaged over the sessions
of each half with Student-t 95 % intervals (``metrics.per_user``); the validation half chooses,
the test half is what the table reports.

``with_heard``: a variant that also counts the songs the person had heard before the cut-off (a
radio plays favourites again): every song of the library not added after the cut-off is ranked,
and every song the session went on to play is to be found. The choice follows the default
(discovery) protocol.
"""

from __future__ import annotations

import math
import time
from dataclasses import dataclass

import numpy as np

from musicrec_desktop.history.summary import LISTEN_KINDS, PLAY, SESSION_GAP_S
from musicrec_desktop.progress import CancelToken, Progress, ProgressCallback, ignore_progress
from musicrec_desktop.recommend.evaluate import KS, Split, TooLittleListening, time_split
from musicrec_desktop.recommend.metrics import per_user
from musicrec_desktop.recommend.ranking import DISLIKED_MAX
from musicrec_desktop.recommend.table import SongTable
from musicrec_desktop.recommend.taste import TasteModel, TasteView, TimedEvent, for_session
from musicrec_desktop.settings import Settings

STUDY_FRACTION = 0.3  # the share of the plays after the cut-off: enough sessions for two halves
MIN_SESSIONS = 4  # sessions with a song to find: at least two a half, so each half has an interval
CHOOSE_BY = "ndcg@10"  # the validation figure the choice follows


@dataclass
class StudySession:
    """One listening session after the cut-off, as a question to a recommender."""

    start: float  # epoch seconds of its first listen
    given: list[TimedEvent]  # its events up to the first song to find: the current session
    relevant: set[str]  # the songs it went on to play that were new at the cut-off


@dataclass
class StudySplit:
    split: Split  # the time split: the training view, the history up to the cut-off, candidates
    validation: list[StudySession]
    test: list[StudySession]
    unusable: int  # sessions after the cut-off with fewer than 2 distinct songs or nothing new to find
    ranked: list[int]  # rows of the songs a recommender ranks: the candidates (with_heard: any song)


def session_split(table: SongTable, events: list[TimedEvent], *, cutoff: float | None = None,
                  with_heard: bool = False) -> StudySplit:
    """The time split and the sessions after its cut-off, alternately validation and test.
    ``TooLittleListening`` when there is no listening history or too few usable sessions."""
    split = time_split(table, events, test_fraction=STUDY_FRACTION, cutoff=cutoff)
    if split.source != "listening history":
        raise TooLittleListening(split.source, "no listening history: the study's users are listening "
                                               "sessions (import one: musicrec history import FILE)")
    ranked = split.candidates
    if with_heard:  # the songs known at the cut-off too (none of them was added after it)
        known = [i for i, s in enumerate(split.train.songs) if s.playcount or s.rating is not None]
        ranked = sorted({*split.candidates, *known})
    findable = {split.train.songs[i].key for i in ranked}
    disliked = {s.key for s in table.songs if s.rating is not None and s.rating <= DISLIKED_MAX}
    after = sorted((e for e in events if e.at > split.cutoff and table.row(e.key) is not None),
                   key=lambda e: e.at)
    usable, unusable = [], 0
    for session in _sessions(after):
        asked = _question(session, findable - disliked)
        if asked is None:
            unusable += 1
        else:
            usable.append(asked)
    if len(usable) < MIN_SESSIONS:
        raise TooLittleListening(split.source, f"{len(usable)} listening sessions after the cut-off have "
                                               f"a new song to find (at least {MIN_SESSIONS} needed)")
    return StudySplit(split, usable[0::2], usable[1::2], unusable, ranked)


def _sessions(events: list[TimedEvent]) -> list[list[TimedEvent]]:
    """``events`` (oldest first) cut where more than SESSION_GAP_S passes between two listens."""
    out: list[list[TimedEvent]] = []
    last: float | None = None  # the latest listen's time
    for e in events:
        # the cut is on listens only: a start joins the session of the listens around it
        if not out or (e.kind in LISTEN_KINDS and last is not None and e.at - last > SESSION_GAP_S):
            out.append([])
        out[-1].append(e)
        if e.kind in LISTEN_KINDS:
            last = e.at
    return out


def _question(session: list[TimedEvent], findable: set[str]) -> StudySession | None:
    """The session's first half of distinct songs as the given session and its other new songs as
    the ones to find; None with fewer than 2 distinct songs heard to the end or nothing to find."""
    played = list(dict.fromkeys(e.key for e in session if e.kind == PLAY))
    if len(played) < 2:
        return None
    n_given = max(1, len(played) // 2)
    asked = played[n_given]
    cut = next(i for i, e in enumerate(session) if e.kind == PLAY and e.key == asked)
    for i in range(cut - 1, -1, -1):  # the companion's start of that play is not given either
        if session[i].kind in LISTEN_KINDS:
            break
        if session[i].key == asked:
            cut = i
    given = session[:cut]
    heard = {e.key for e in given}
    relevant = {key for key in played[n_given:] if key in findable and key not in heard}
    return StudySession(session[0].at, given, relevant) if relevant else None


@dataclass
class StudyRow:
    """One recommender on one backend's vectors: the figures of both halves."""

    backend: str
    model_id: str
    recommender: str  # its name (the ``recommender`` setting value)
    title: str
    validation: dict[str, dict]  # metric@k -> {"mean", "low", "high", "n"}
    test: dict[str, dict]
    seconds: float  # learning and asking
    learnt: str = ""  # what its report says of the learning (epochs, fallbacks)

    def as_dict(self) -> dict:
        return {"backend": self.backend, "model_id": self.model_id, "recommender": self.recommender,
                "title": self.title, "validation": self.validation, "test": self.test,
                "seconds": round(self.seconds, 2), "learnt": self.learnt}


def study_recommenders(study: StudySplit, recommenders: list[type[TasteModel]], settings: Settings, *,
                       backend: str, progress: ProgressCallback = ignore_progress,
                       cancel: CancelToken | None = None) -> list[StudyRow]:
    """Each recommender learnt on the training view and the history up to the cut-off, asked
    about every validation and test session."""
    split = study.split
    view = TasteView(split.train, split.history)
    rows = []
    for number, recommender in enumerate(recommenders):
        if cancel is not None:
            cancel.check()
        progress(Progress("study", number, len(recommenders), message=f"{backend}: {recommender.title}"))
        started = time.monotonic()
        model, report = recommender.learn(view, settings, progress=progress, cancel=cancel, measure=False)
        ask = _Asker(model, study)
        summary = getattr(report, "summary", None)
        rows.append(StudyRow(backend, split.train.model_id, recommender.name, recommender.title,
                             per_user([ask(s) for s in study.validation], KS),
                             per_user([ask(s) for s in study.test], KS), time.monotonic() - started,
                             summary() if callable(summary) else ""))
    progress(Progress("study", len(recommenders), len(recommenders), message=f"{backend}: done"))
    return rows


class _Asker:
    """A learnt recommender's ranking of the candidates for a session: (ranked keys, relevant)."""

    def __init__(self, model: TasteModel, study: StudySplit) -> None:
        self.model, self.table = model, study.split.train
        self.candidates = np.array(study.ranked, dtype=np.int64)
        self.keys = np.array([s.key for s in self.table.songs])
        self._long_term: np.ndarray | None = None  # a recommender without sessions ranks once

    def __call__(self, session: StudySession) -> tuple[list[str], set[str]]:
        asked = for_session(self.model, session.given, self.table)
        if asked is self.model:
            if self._long_term is None:
                self._long_term = self.model.predict(self.table).astype(np.float64)
            scores = self._long_term
        else:
            scores = asked.predict(self.table).astype(np.float64)
        heard = {e.key for e in session.given}
        rows = self.candidates[[self.keys[r] not in heard for r in self.candidates]]
        top = rows[np.argsort(-scores[rows], kind="stable")[:max(KS)]]
        return list(self.keys[top]), session.relevant


def best_recommender(rows: list[StudyRow], model_id: str) -> StudyRow | None:
    """The row on ``model_id``'s vectors with the best validation NDCG@10 (the first of equals);
    None when no row has a figure."""
    scored = [r for r in rows if r.model_id == model_id and not math.isnan(r.validation[CHOOSE_BY]["mean"])]
    return max(scored, key=lambda r: r.validation[CHOOSE_BY]["mean"], default=None)
