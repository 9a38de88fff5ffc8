"""Radio from a song: its nearest songs blended with the predicted rating, endless, no repeats."""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from musicrec_desktop.recommend.ranking import Ranker, Recommendation
from musicrec_desktop.store.similarity import SimilarityIndex

SIMILARITY_WEIGHT = 0.7  # the rest of the score is the predicted rating
ARTIST_GAP = 3  # other songs between two songs of one artist
DRIFT = 0.4  # how far later batches follow what was queued last, away from the seed
DRIFT_WINDOW = 5  # queued songs that steer the next batch
RADIO_MMR_LAMBDA = 0.85  # radio stays close to the seed; less diversity pressure than lists


@dataclass
class RadioSession:
    """What a radio has queued so far; pass it back to continue where it stopped."""

    seed_key: str
    queued: list[str] = field(default_factory=list)  # song keys, oldest first

    def to_dict(self) -> dict:
        return {"seed_key": self.seed_key, "queued": list(self.queued)}

    @classmethod
    def from_dict(cls, data: dict) -> RadioSession:
        return cls(data["seed_key"], list(data.get("queued", [])))


def next_batch(ranker: Ranker, index: SimilarityIndex, seed_row: int, n: int, session: RadioSession
               ) -> list[Recommendation]:
    """The next ``n`` songs of the radio (fewer once the library has nothing new left); they are
    appended to ``session.queued``."""
    table = ranker.table
    history = [seed_row] + [r for r in map(table.row, session.queued) if r is not None]
    query = table.vectors[seed_row].astype(np.float64)
    recent = history[1:][-DRIFT_WINDOW:]
    if recent:
        query = (1 - DRIFT) * query + DRIFT * table.vectors[recent].mean(axis=0)
    query /= np.linalg.norm(query) + 1e-12
    exclude = {table.songs[seed_row].key, *session.queued}
    allowed = ranker.allowed(skip_recent=False)
    k = max(10 * n, 100)
    while True:
        neighbours = index.search(query.astype(np.float32), k, exclude)
        rows, sims = [], []
        for nb in neighbours:
            row = table.row(nb.key)
            if row is not None and allowed[row]:
                rows.append(row)
                sims.append(nb.similarity)
        relevance = SIMILARITY_WEIGHT * np.array(sims) + (1 - SIMILARITY_WEIGHT) * ranker.predicted[rows]
        picked = ranker.select(np.array(rows, dtype=np.int64), relevance, n, mmr_lambda=RADIO_MMR_LAMBDA,
                               artist_cap=n, artist_gap=ARTIST_GAP, history=history)
        if len(picked) == n or k >= len(index):
            break
        k *= 4  # the neighbourhood is used up (or filtered away): look further out
    scores = np.zeros(len(table))
    scores[rows] = relevance
    seed_name = table.songs[seed_row].display_name
    reasons = [f"radio from {seed_name}; {reason}" for reason in ranker.reasons(picked)]
    session.queued.extend(table.songs[r].key for r in picked)
    return ranker.recommendations(picked, scores, reasons)
