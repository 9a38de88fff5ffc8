"""A song path: a playlist that walks from one song to another in smooth steps.

The steps aim at points spread evenly along the great circle between the two songs' vectors
(unit length, so the arc is where "between" lies); each step is the song nearest its point that
is not used yet and that the list rules allow (``Ranker.select``: dislikes, exclusions, length
limit, near-duplicates, artist and album gaps), leaning a little towards the previous step so
that no hop jumps. The target comes last.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from musicrec_desktop.recommend.ranking import Ranker, Recommendation
from musicrec_desktop.store.similarity import SimilarityIndex

PREVIOUS_WEIGHT = 0.3  # how much a step also looks like the step before it (the rest: its point)
SEARCH_K = 100  # neighbours asked for each point at first; more when the rules leave none


@dataclass(frozen=True)
class SongPath:
    start: Recommendation  # the song the path starts from (played first, not a step)
    steps: list[Recommendation]  # the steps, the target last
    hops: list[float]  # cosine similarity of each hop: start -> step 1 -> ... -> target
    direct: float  # cosine similarity of start and target

    @property
    def name(self) -> str:
        """The playlist's name: its two ends, as the person reads them."""
        return f"Path from {self.start.song.display_name} to {self.steps[-1].song.display_name}"

    @property
    def smooth(self) -> bool:
        """No hop jumps further than going straight from the start to the target."""
        return bool(self.hops) and min(self.hops) >= self.direct - 1e-6


def waypoints(a: np.ndarray, b: np.ndarray, steps: int) -> np.ndarray:
    """``steps - 1`` unit vectors evenly spaced on the arc from ``a`` to ``b`` (D each, unit), the
    ends left out: (steps - 1) x D float64."""
    a, b = a.astype(np.float64), b.astype(np.float64)
    angle = float(np.arccos(np.clip(a @ b, -1.0, 1.0)))
    fractions = np.arange(1, steps) / steps
    if angle < 1e-6:  # the same point: every waypoint is it
        return np.tile(a, (steps - 1, 1))
    # slerp; near the antipode the arc is any of many: the plain line, normalised, picks one
    if np.pi - angle < 1e-6:
        points = (1 - fractions)[:, None] * a + fractions[:, None] * b
    else:
        points = (np.sin((1 - fractions) * angle)[:, None] * a + np.sin(fractions * angle)[:, None] * b) \
            / np.sin(angle)
    return points / (np.linalg.norm(points, axis=1, keepdims=True) + 1e-12)


def song_path(ranker: Ranker, index: SimilarityIndex, start: int, target: int, steps: int) -> SongPath:
    """``steps`` songs from the song at row ``start`` to the song at row ``target`` (the last step);
    fewer when the library has no allowed song left near a point. No song twice, neither end
    between."""
    table = ranker.table
    allowed = ranker.allowed(skip_recent=False)
    path: list[int] = []
    scores = np.zeros(len(table))
    used = {table.songs[start].key, table.songs[target].key}
    for point in waypoints(table.vectors[start], table.vectors[target], steps):
        previous = path[-1] if path else start
        # The target first: nothing between may be a near-duplicate of it, while the artist and
        # album gaps count back from the songs just walked (the history's end).
        history = [target, start, *path]
        row = _step(ranker, index, point, previous, allowed, used, history, scores)
        if row is None:
            break
        path.append(row)
        used.add(table.songs[row].key)
    rows = [*path, target]
    scores[target] = 1.0
    names = table.songs[start].display_name, table.songs[target].display_name
    reasons = [f"step {i} of {len(rows)} from {names[0]} to {names[1]}" for i in range(1, len(rows))]
    reasons.append(f"the end of the path from {names[0]}")
    walk = [start, *rows]
    hops = [float(table.vectors[a] @ table.vectors[b]) for a, b in zip(walk, walk[1:], strict=False)]
    first = ranker.recommendations([start], scores, ["the start of the path"])[0]
    return SongPath(first, ranker.recommendations(rows, scores, reasons), hops,
                    float(table.vectors[start] @ table.vectors[target]))


def _step(ranker: Ranker, index: SimilarityIndex, point: np.ndarray, previous: int, allowed: np.ndarray,
          used: set[str], history: list[int], scores: np.ndarray) -> int | None:
    """The song for one point: nearest to it (and a little to the previous step) among the unused
    songs the rules allow after ``history``."""
    table = ranker.table
    k = SEARCH_K
    while True:
        rows, sims = [], []
        for nb in index.search(point.astype(np.float32), k, used):
            row = table.row(nb.key)
            if row is not None and allowed[row]:
                rows.append(row)
                sims.append(nb.similarity)
        if rows:
            near_previous = table.vectors[rows] @ table.vectors[previous]  # R
            relevance = (1 - PREVIOUS_WEIGHT) * np.array(sims) + PREVIOUS_WEIGHT * near_previous
            picked = ranker.select(np.array(rows, dtype=np.int64), relevance, 1, mmr_lambda=1.0,
                                   history=history)
            if picked:
                scores[picked[0]] = relevance[rows.index(picked[0])]
                return picked[0]
        if k >= len(index):
            return None
        k *= 4
