"""Recommender ``popularity``: songs of the artists the person plays most."""

from __future__ import annotations

from collections import Counter

import numpy as np

from musicrec_desktop.progress import CancelToken, ProgressCallback
from musicrec_desktop.recommend.table import SongTable
from musicrec_desktop.recommend.taste import TasteReport, TasteView
from musicrec_desktop.settings import Settings


class ArtistPopularity:
    """Each song scores its artist's plays in the library, over the most played artist's."""

    name = "popularity"
    title = "popularity (artist plays)"
    predicts_rating = False
    report_type = TasteReport
    embedding_model = ""  # reads no vectors

    def __init__(self, plays: dict[str, int]) -> None:
        self.plays = plays  # casefolded artist -> plays

    @classmethod
    def learn(cls, view: TasteView, settings: Settings, *, progress: ProgressCallback | None = None,
              cancel: CancelToken | None = None, measure: bool = True
              ) -> tuple[ArtistPopularity, TasteReport]:
        plays: Counter[str] = Counter()
        for s in view.table.songs:
            plays[s.artist.casefold()] += s.playcount
        model = cls(dict(plays))
        message = f"{sum(1 for v in plays.values() if v)} artists with plays"
        return model, TasteReport(cls.name, len(view.table), "", message)

    def predict(self, table: SongTable) -> np.ndarray:
        plays = np.array([self.plays.get(s.artist.casefold(), 0) for s in table.songs], dtype=np.float64)
        return (plays / max(plays.max(initial=0.0), 1.0)).astype(np.float32)

    def reason_keys(self) -> list[str]:
        return []

    def state(self) -> dict:
        return {"kind": self.name, "plays": self.plays}

    @classmethod
    def from_state(cls, state: dict) -> ArtistPopularity:
        return cls(dict(state["plays"]))
