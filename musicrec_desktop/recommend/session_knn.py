"""Recommender ``session_knn``: the design study's KNN over the listening history.

The listener is the mean of the vectors of the songs in a history (the whole history for Play
recommended, the current session for the radio: ``for_session``); each song scores its cosine to
that mean, and the songs the history already holds are left out. Every other song keeps its
score: the study's top 100 is a list over the songs a question ranks (``study.py``: the songs new
at the cut-off; the radio: the seed's neighbours), so a cut over the whole library first would
drop what the question asks for. One matrix product ranks every song; no index (FAISS) is needed.
"""

from __future__ import annotations

import numpy as np

from musicrec_desktop.history.summary import PLAY
from musicrec_desktop.progress import CancelToken, ProgressCallback
from musicrec_desktop.recommend.table import SongTable
from musicrec_desktop.recommend.taste import TasteReport, TasteView, TimedEvent
from musicrec_desktop.settings import Settings


class SessionKnn:
    """Scores (1 + cosine to the mean vector of the history's songs) / 2 for every song not in the
    history, 0 for those in it. Without a listening history the songs the
    player counts as played stand for it (the report says so); with neither, every song scores
    0.5 (no taste known)."""

    name = "session_knn"
    title = "KNN (mean of the history's songs)"
    predicts_rating = False
    report_type = TasteReport

    def __init__(self, heard_keys: list[str], embedding_model: str) -> None:
        self.heard_keys, self.embedding_model = heard_keys, embedding_model  # distinct, first heard first

    @classmethod
    def learn(cls, view: TasteView, settings: Settings, *, progress: ProgressCallback | None = None,
              cancel: CancelToken | None = None, measure: bool = True) -> tuple[SessionKnn, TasteReport]:
        table = view.table
        heard = _heard(view.history, table)
        if heard:
            message = f"{len(heard)} songs of the listening history"
        else:
            heard = [s.key for s in table.songs if s.playcount > 0]
            message = (f"no listening history: the {len(heard)} songs the player counts as played "
                       "stand for it" if heard else
                       "no listening history and no played song: every song scores 0.5")
        return cls(heard, table.model_id), TasteReport(cls.name, len(table), table.model_id, message)

    def for_session(self, session: list[TimedEvent], table: SongTable) -> SessionKnn:
        """The same recommender with the current session (its events so far) as the history."""
        return SessionKnn(_heard(session, table), self.embedding_model)

    def predict(self, table: SongTable) -> np.ndarray:
        rows = np.array([r for r in map(table.row, self.heard_keys) if r is not None], dtype=np.int64)
        if not len(rows):
            return np.full(len(table), 0.5, dtype=np.float32)
        scores = (1 + table.cosine_to_centre(rows)) / 2  # N
        scores[rows] = 0.0  # already heard: filtered
        return scores.astype(np.float32)

    def reason_keys(self) -> list[str]:
        return list(self.heard_keys)

    def state(self) -> dict:
        return {"kind": self.name, "heard_keys": self.heard_keys, "embedding_model": self.embedding_model}

    @classmethod
    def from_state(cls, state: dict) -> SessionKnn:
        return cls(list(state["heard_keys"]), state["embedding_model"])


def _heard(history: list[TimedEvent], table: SongTable) -> list[str]:
    """The distinct songs of ``table`` heard to the end in ``history``, in the order first heard."""
    return list(dict.fromkeys(e.key for e in sorted(history, key=lambda e: e.at)
                              if e.kind == PLAY and table.row(e.key) is not None))
