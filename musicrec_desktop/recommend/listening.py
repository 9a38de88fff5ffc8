"""The listening sessions a recommender learns from: the plays of the history, cut where more than
``history.summary.SESSION_GAP_S`` passes between two (the design study's "users"); and the latest
of them held out as the study asks, to stop a learnt recommender on (``held_out``)."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from musicrec_desktop.history.summary import PLAY, sessions
from musicrec_desktop.recommend.metrics import mean_ci, ndcg_at_k
from musicrec_desktop.recommend.table import SongTable
from musicrec_desktop.recommend.taste import TimedEvent

MIN_NEW_QUESTIONS = 10  # held-out sessions with a new song to find, to stop a net on new songs only


def listening_sessions(history: list[TimedEvent], table: SongTable) -> list[list[str]]:
    """The song keys (one per play, in order) of each listening session of ``history``, oldest
    session first; plays of songs not in ``table`` are left out."""
    plays = sorted((e for e in history if e.kind == PLAY and table.row(e.key) is not None),
                   key=lambda e: e.at)
    # sessions() reads only .at, which a TimedEvent has as a stored listening event does
    return [[e.key for e in session] for session in sessions(plays)]  # type: ignore[arg-type]


@dataclass
class HeldOut:
    """The latest sessions asked about as the study asks (``study.py``): each session's first
    half of distinct songs is given, the later songs not heard in the training sessions are to be
    found among the songs heard in neither. A learnt recommender is stopped on these, not on the
    next song of a session: that is mostly a song played again, which the study never asks for."""

    given: list[list[str]]  # per asked session: the first half of its distinct songs
    relevant: list[set[str]]  # per asked session: its later songs to find
    known: set[str]  # songs of the training sessions: not ranked


def held_out(train: list[list[str]], validation: list[list[str]]) -> HeldOut:
    """The questions of the ``validation`` sessions (song keys, one per play) after the ``train``
    ones. When fewer than ``MIN_NEW_QUESTIONS`` of them play a song new to the training sessions
    (a history that keeps to the songs it knows), the later songs are to be found whether heard
    before or not, as the radio plays them: too few questions tell no net from its start."""
    known = {key for session in train for key in session}
    asked = [distinct for distinct in (list(dict.fromkeys(s)) for s in validation) if len(distinct) >= 2]
    if sum(1 for d in asked if set(d[len(d) // 2:]) - known) < MIN_NEW_QUESTIONS:
        known = set()
    questions = [(d[:len(d) // 2], set(d[len(d) // 2:]) - known) for d in asked]
    questions = [(given, relevant) for given, relevant in questions if relevant]
    return HeldOut([q[0] for q in questions], [q[1] for q in questions], known)


def held_out_ndcgs(scores: np.ndarray, questions: HeldOut, table: SongTable) -> np.ndarray:
    """V float64: the NDCG@10 of ``scores`` (V x N, one row per question, the songs of ``table``)
    on each question, the given and known songs left out of its ranking."""
    keys = np.array([s.key for s in table.songs])
    known = [table.row(k) for k in questions.known]
    figures = []
    for row, given, relevant in zip(np.array(scores, dtype=np.float64), questions.given, questions.relevant,
                                    strict=True):
        row[known] = -np.inf
        row[[table.row(k) for k in given]] = -np.inf
        top = np.argsort(-row, kind="stable")[:10]
        figures.append(ndcg_at_k(list(keys[top]), relevant, 10))
    return np.array(figures, dtype=np.float64)


def beats_the_start(learnt: np.ndarray, start: np.ndarray) -> bool:
    """Whether a learnt net's held-out figures beat those of its start (the KNN) on the same
    questions beyond chance: the 95 % Student-t interval of the paired differences lies above 0.
    The best of many epochs on a few dozen questions beats the start by luck alone (on the dev
    library every epoch after the first ranked the new songs worse, and one still came out ahead)."""
    if len(learnt) < 2:
        return False
    _, low, _ = mean_ci(learnt - start)
    return bool(low > 0)
