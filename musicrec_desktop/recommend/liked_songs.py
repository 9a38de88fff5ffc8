"""Recommender ``knn``: similarity to the centre of the songs the person likes."""

from __future__ import annotations

import numpy as np

from musicrec_desktop.progress import CancelToken, ProgressCallback
from musicrec_desktop.recommend.ranking import LIKED_MIN
from musicrec_desktop.recommend.table import SongTable
from musicrec_desktop.recommend.taste import TasteReport, TasteView
from musicrec_desktop.settings import Settings


class LikedSongsCentre:
    """(1 + cosine to the mean vector of the songs rated four stars or more) / 2; without such
    ratings, the most played fifth of the played songs stand for the taste."""

    name = "knn"
    title = "k-NN (mean of liked songs)"
    predicts_rating = False
    report_type = TasteReport

    def __init__(self, liked_keys: list[str], embedding_model: str) -> None:
        self.liked_keys, self.embedding_model = liked_keys, embedding_model

    @classmethod
    def learn(cls, view: TasteView, settings: Settings, *, progress: ProgressCallback | None = None,
              cancel: CancelToken | None = None, measure: bool = True
              ) -> tuple[LikedSongsCentre, TasteReport]:
        table = view.table
        liked = np.flatnonzero(table.ratings() >= LIKED_MIN)
        if not len(liked):
            plays = np.array([s.playcount for s in table.songs])
            liked = np.argsort(-plays)[: max(1, int((plays > 0).sum()) // 5)]
        model = cls([table.songs[i].key for i in liked], table.model_id)
        return model, TasteReport(cls.name, len(table), table.model_id, f"{len(liked)} liked songs")

    def predict(self, table: SongTable) -> np.ndarray:
        rows = [r for r in map(table.row, self.liked_keys) if r is not None]
        if not rows:
            return np.full(len(table), 0.5, dtype=np.float32)
        return (1 + table.cosine_to_centre(rows)) / 2

    def reason_keys(self) -> list[str]:
        return list(self.liked_keys)

    def state(self) -> dict:
        return {"kind": self.name, "liked_keys": self.liked_keys, "embedding_model": self.embedding_model}

    @classmethod
    def from_state(cls, state: dict) -> LikedSongsCentre:
        return cls(list(state["liked_keys"]), state["embedding_model"])
