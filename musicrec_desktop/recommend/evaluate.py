"""Honest offline evaluation with a time-based split.

Protocol (one person): a cut-off time splits the listening. Test events are plays after it: from
the listening history when it has events, else each song's ``lastplayed``. Nothing after the cut-off
may reach training, and the player only keeps *current* counters: a song played after the cut-off
has a play count, skip count, score and rating that may include that later listening, and we cannot
tell which part came before. Such songs are therefore stripped of *all* their signals in the
training view (treated as never played and unrated), which leaks nothing at the price of also
hiding their older plays. Ratings carry no date; a rating of a song not played after the cut-off
is taken as training information. Candidates are the songs the person had not played or rated in
the training view ("discovery"), and every method ranks the same candidates. Metrics per test
event (relevant = that song), with Student-t 95 % intervals over test events.
"""

from __future__ import annotations

import dataclasses
import logging
from collections import Counter

import numpy as np

from musicrec_desktop.library.song import Song
from musicrec_desktop.recommend import rating
from musicrec_desktop.recommend.metrics import METRICS, mean_ci
from musicrec_desktop.recommend.ranking import DISLIKED_MAX, LIKED_MIN
from musicrec_desktop.recommend.table import SongTable

log = logging.getLogger(__name__)

KS = (10, 50)


def evaluate(table: SongTable, events: list[tuple[str, float]] | None = None, *, test_fraction: float = 0.2,
             ks: tuple[int, ...] = KS, config: rating.RatingConfig | None = None) -> dict:
    """``events``: (song key, epoch) plays from the listening history, or None to use lastplayed."""
    songs = table.songs
    if events:
        events = [(k, t) for k, t in events if table.row(k) is not None]
        source = "listening history"
    else:
        events = [(s.key, float(s.lastplayed)) for s in songs if s.lastplayed]
        source = "library lastplayed"
    if len(events) < 10:
        return {"source": source, "error": f"only {len(events)} timed plays: too few to evaluate"}
    cutoff = float(np.quantile([t for _, t in events], 1 - test_fraction))
    touched_after = {k for k, t in events if t > cutoff}
    touched_after |= {s.key for s in songs if s.lastplayed and s.lastplayed > cutoff}
    train_songs = [_stripped(s) if s.key in touched_after else s for s in songs]
    train_table = SongTable(table.model_id, train_songs, table.vectors)
    known = {s.key for s in train_songs if s.playcount or s.rating is not None}
    candidates = [i for i, s in enumerate(train_songs) if s.key not in known]
    by_key = {s.key: s for s in songs}
    test = [k for k, t in events if t > cutoff and k not in known
            and (by_key[k].rating is None or by_key[k].rating > DISLIKED_MAX)]
    scores = {
        "popularity (artist plays)": _artist_popularity(train_songs),
        "k-NN (mean of liked songs)": _mean_liked_similarity(train_table),
        "rating model": _rating_model(train_table, config or rating.RatingConfig()),
    }
    result = {"source": source, "cutoff": cutoff, "n_test_events": len(test),
              "n_candidates": len(candidates),
              "n_training_rated": sum(s.rating is not None for s in train_songs),
              "protocol": __doc__.split("\n\n", 1)[1].strip(), "methods": {}}
    cand_keys = np.array([songs[i].key for i in candidates])
    for name, score in scores.items():
        ranked = list(cand_keys[np.argsort(-score[candidates], kind="stable")]) if candidates else []
        position = {k: i for i, k in enumerate(ranked)}
        per_metric = {}
        for k in ks:
            for metric, fn in METRICS.items():
                values = [fn(ranked, {key}, k) if key in position else 0.0 for key in test]
                mean, low, high = mean_ci(values)
                per_metric[f"{metric}@{k}"] = {"mean": mean, "low": low, "high": high}
        result["methods"][name] = per_metric
    return result


def _stripped(song: Song) -> Song:
    return dataclasses.replace(song, rating=None, playcount=0, skipcount=0, score=None, lastplayed=None)


def _artist_popularity(songs: list[Song]) -> np.ndarray:
    plays = Counter()
    for s in songs:
        plays[s.artist.casefold()] += s.playcount
    return np.array([plays[s.artist.casefold()] for s in songs], dtype=np.float64)


def _mean_liked_similarity(table: SongTable) -> np.ndarray:
    ratings = table.ratings()
    liked = np.flatnonzero(ratings >= LIKED_MIN)
    if not len(liked):
        plays = np.array([s.playcount for s in table.songs])
        liked = np.argsort(-plays)[: max(1, int((plays > 0).sum()) // 5)]
    centre = table.vectors[liked].mean(axis=0)
    return table.vectors @ (centre / (np.linalg.norm(centre) + 1e-12))


def _rating_model(table: SongTable, config: rating.RatingConfig) -> np.ndarray:
    model, _ = rating.train(table, config, cross_validate=False)
    return model.predict(table).astype(np.float64)


def history_plays(history_db, keys_by_url: dict[str, str]) -> list[tuple[str, float]]:
    """(song key, epoch) of every start/finish in the listening history (skips are not plays)."""
    from musicrec_desktop.store.history import HistoryStore

    with HistoryStore(history_db) as history:
        out = []
        for event in history.events():
            key = event.song_key or keys_by_url.get(event.song_url)
            if key and event.kind in ("start", "finish"):
                out.append((key, event.at))
    return out


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
