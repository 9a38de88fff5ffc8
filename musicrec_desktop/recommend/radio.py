"""Radio from a song, or from a set of songs: their nearest songs blended with what the
recommender says about the current listening session, endless, no repeats, never a seed or a
near-duplicate of one.

The relevance each batch blends in is the caller's (``Recommender.radio``: the recommender asked
about the session so far, ``taste.for_session``), one score 0..1 per song of the table. A pick's
reason names the song of that session it is nearest to (``why``)."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field

import numpy as np

from musicrec_desktop.recommend.ranking import Ranker, Recommendation
from musicrec_desktop.store.similarity import SimilarityIndex

SIMILARITY_WEIGHT = 0.7  # the rest of the score is the session's relevance
ARTIST_GAP = 3  # other songs between two songs of one artist
DRIFT = 0.4  # how far later batches follow what was queued last, away from the seed
DRIFT_WINDOW = 5  # queued songs that steer the next batch
RADIO_MMR_LAMBDA = 0.85  # radio stays close to the seed; less diversity pressure than lists


@dataclass
class RadioSession:
    """What a radio has queued so far; pass it back to continue where it stopped."""

    seed_key: str  # the first seed (the song a radio from one song starts from)
    queued: list[str] = field(default_factory=list)  # song keys, oldest first
    more_seeds: list[str] = field(default_factory=list)  # a radio from several songs: the others

    @property
    def seed_keys(self) -> list[str]:
        return [self.seed_key, *self.more_seeds]

    def to_dict(self) -> dict:
        return {"seed_key": self.seed_key, "queued": list(self.queued), "more_seeds": list(self.more_seeds)}

    @classmethod
    def from_dict(cls, data: dict) -> RadioSession:
        return cls(data["seed_key"], list(data.get("queued", [])), list(data.get("more_seeds", [])))


def next_batch(ranker: Ranker, index: SimilarityIndex, seed_row: int, n: int, session: RadioSession,
               relevance: np.ndarray, played: Sequence[int] = ()) -> list[Recommendation]:
    """The next ``n`` songs of the radio (fewer once the library has nothing new left), ranked by
    similarity blended with ``relevance`` (N, 0..1); they are appended to ``session.queued``.
    ``played``: rows of the listening session's songs, for the reasons (``why``)."""
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
        blended = SIMILARITY_WEIGHT * np.array(sims) + (1 - SIMILARITY_WEIGHT) * relevance[rows]
        picked = ranker.select(np.array(rows, dtype=np.int64), blended, n, mmr_lambda=RADIO_MMR_LAMBDA,
                               artist_cap=n, artist_gap=ARTIST_GAP, history=history)
        if len(picked) == n or k >= len(index):
            break
        k *= 4  # the neighbourhood is used up (or filtered away): look further out
    scores = np.zeros(len(table))
    scores[rows] = blended
    seed_name = table.songs[seed_row].display_name
    reasons = [f"radio from {seed_name}; {reason}" for reason in why(ranker, picked, played, [seed_row])]
    session.queued.extend(table.songs[r].key for r in picked)
    return ranker.recommendations(picked, scores, reasons)


def next_batch_from_set(ranker: Ranker, index: SimilarityIndex, seed_rows: list[int], n: int,
                        session: RadioSession, relevance: np.ndarray, played: Sequence[int] = ()
                        ) -> list[Recommendation]:
    """The next ``n`` songs of a radio from several songs: the seeds take turns, each slot the best
    song near its seed (similarity blended with ``relevance``, N 0..1), continuing the turns across
    batches; appended to ``session.queued``.

    Turns rather than the seeds' mean: the mean of songs of different styles lies between them,
    and its nearest songs may be like none of the seeds; taking turns keeps each seed's character
    and shares the radio evenly among them. Every pick is checked against the seeds and all that
    was queued (``Ranker.select``'s history): no repeats, no near-duplicates of a seed.
    """
    table = ranker.table
    seeds = list(dict.fromkeys(seed_rows))
    history = seeds + [r for r in map(table.row, session.queued) if r is not None]
    exclude = {*(table.songs[r].key for r in seeds), *session.queued}
    allowed = ranker.allowed(skip_recent=False)
    pools = {seed: _Pool(ranker, index, seed, allowed, relevance, max(10 * n, 100)) for seed in seeds}
    picked: list[int] = []
    reasons: list[str] = []
    scores = np.zeros(len(table))
    turn = len(session.queued)
    tried = 0
    while len(picked) < n and tried < len(seeds):
        seed = seeds[turn % len(seeds)]
        row = pools[seed].best(exclude, history)
        turn += 1
        if row is None:
            tried += 1  # this seed has nothing left; the others go on
            continue
        tried = 0
        picked.append(row)
        history.append(row)
        exclude.add(table.songs[row].key)
        scores[row] = pools[seed].blended.get(row, 0.0)
        reasons.append(f"radio from {len(seeds)} songs, like {table.songs[seed].display_name}")
    session.queued.extend(table.songs[r].key for r in picked)
    after = why(ranker, picked, played, seeds)
    return ranker.recommendations(picked, scores, [f"{a}; {b}" for a, b in zip(reasons, after, strict=True)])


def why(ranker: Ranker, picked: list[int], played: Sequence[int], seeds: list[int]) -> list[str]:
    """Each pick's reason after its seed: the song of the listening session going on it is nearest
    to (the session's relevance stands on those songs), the seeds and the pick itself aside;
    without such a song, the ranker's long-term reason (a rated or often played song)."""
    table = ranker.table
    others = np.array([r for r in dict.fromkeys(played) if r not in seeds], dtype=np.int64)
    long_term = ranker.reasons(picked)
    if not len(others) or not picked:
        return long_term
    sims = table.vectors[picked] @ table.vectors[others].T  # M x S
    sims[np.asarray(picked)[:, None] == others[None, :]] = -np.inf
    out = []
    for i, row_sims in enumerate(sims):
        j = int(np.argmax(row_sims))
        out.append(f"like {table.songs[others[j]].display_name}, played just now" if np.isfinite(row_sims[j])
                   else long_term[i])
    return out


class _Pool:
    """One seed's neighbourhood, searched further out as the radio uses it up."""

    def __init__(self, ranker: Ranker, index: SimilarityIndex, seed: int, allowed: np.ndarray,
                 relevance: np.ndarray, k: int) -> None:
        self.ranker, self.index, self.seed, self.allowed, self.k = ranker, index, seed, allowed, k
        self.relevance = relevance  # N: the session's
        self.blended: dict[int, float] = {}  # row -> similarity blended with relevance

    def best(self, exclude: set[str], history: list[int]) -> int | None:
        """The best allowed song near the seed that the rules let follow ``history``."""
        table = self.ranker.table
        query = table.vectors[self.seed]
        while True:
            rows, sims = [], []
            for nb in self.index.search(query, self.k, exclude):
                row = table.row(nb.key)
                if row is not None and self.allowed[row]:
                    rows.append(row)
                    sims.append(nb.similarity)
            blended = SIMILARITY_WEIGHT * np.array(sims) + (1 - SIMILARITY_WEIGHT) * self.relevance[rows]
            self.blended.update(zip(rows, blended.tolist(), strict=True))
            picked = self.ranker.select(np.array(rows, dtype=np.int64), blended, 1,
                                        mmr_lambda=1.0, artist_gap=ARTIST_GAP, history=history)
            if picked or self.k >= len(self.index):
                return picked[0] if picked else None
            self.k *= 4
