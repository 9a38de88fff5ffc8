"""The similarity index (what radio asks for the songs nearest a song): FAISS inner product over
L2-normalised song embeddings, keyed by song key.

Exact or approximate is chosen by measurement on the library's own vectors when the index is built:
a few radio queries are timed on an exact (flat) index; when exact search is slow enough for an
approximate index to be worth it, an IVF index is built and its ``nprobe`` raised until recall@10
against exact search reaches the target on sample queries. When IVF cannot do that within a quarter
of its cells (vectors without cluster structure), or stays too slow, an HNSW graph is tried the same
way with ``efSearch``. The cheapest index that keeps the recall wins; an approximate one only when it
is clearly faster than exact. What was measured is kept with the index (``info``), and an
approximate index that has grown well past the size it was calibrated at is calibrated again.

The index is saved under the state folder with a sidecar naming the embedding model, the keys and
the measurements, and is brought up to date incrementally (songs added and removed by key).
"""

from __future__ import annotations

import dataclasses
import hashlib
import json
import logging
import math
import time
from dataclasses import dataclass
from pathlib import Path

import faiss
import numpy as np

from musicrec_desktop.files import atomic_write
from musicrec_desktop.store.embeddings import EmbeddingStore
from musicrec_desktop.store.similarity_tuning import (
    APPROX_MIN_SONGS,
    APPROX_WORTH_MS,
    HNSW_COMPACT_SHARE,
    HNSW_EF_CONSTRUCTION,
    IVF_MIN_LISTS,
    IVF_TRAINING_PER_LIST,
    KINDS,
    QUERY_BUDGET_MS,
    RECALIBRATE_GROWTH,
    RECALL_TARGET,
    Measurement,
    approximate,
    build_flat,
    build_hnsw,
    ivf_lists,
    median_query_ms,
    one_thread,
    sample_queries,
    search_one,
    set_search_param,
    true_neighbours,
    tune,
)

log = logging.getLogger(__name__)


def song_id(key: str) -> int:
    """A stable 63-bit id for a song key (collisions are ~1e-9 likely at 100k songs)."""
    return int.from_bytes(hashlib.blake2b(key.encode("utf-8"), digest_size=8).digest(), "little") >> 1


@dataclass(frozen=True)
class Neighbour:
    key: str
    similarity: float  # cosine similarity (inner product of unit vectors)


class SimilarityIndex:
    """``index.search(vector, k)`` -> nearest songs; ``add``/``remove`` by song key."""

    def __init__(self, model_id: str, dim: int, kind: str, index: faiss.Index, keys: dict[int, str],
                 measured: list[Measurement], calibrated_songs: int, dead: set[int] | None = None) -> None:
        self.model_id, self.dim, self.kind = model_id, dim, kind
        self._index = index
        self._keys = keys  # faiss id -> song key (live songs only)
        self._dead = dead or set()  # hnsw: ids of removed songs still in the graph (it cannot delete)
        self.measured = measured
        self.calibrated_songs = calibrated_songs  # songs in the index when it was last calibrated
        set_search_param(index, kind, self.measurement.param)

    @property
    def measurement(self) -> Measurement:
        """What was measured for the kind in use."""
        return next(m for m in self.measured if m.kind == self.kind)

    # -- building ----------------------------------------------------------------------------
    @classmethod
    def build(cls, model_id: str, keys: list[str], vectors: np.ndarray, *, kind: str = "auto",
              seed: int = 0, approx_worth_ms: float = APPROX_WORTH_MS) -> SimilarityIndex:
        """Index ``vectors`` (N x D float32, L2-normalised rows) under their song ``keys``.

        ``kind`` "auto" measures and chooses (see the module text); "exact", "ivf" or "hnsw" build
        that kind, calibrated. ``approx_worth_ms``: exact search faster than this is kept without
        trying an approximate index (as is exact over fewer than APPROX_MIN_SONGS songs).
        """
        if kind not in (*KINDS, "auto"):
            raise ValueError(f"index kind {kind!r}: {', '.join(KINDS)} or auto")
        vectors = np.ascontiguousarray(vectors, dtype=np.float32)
        n, dim = vectors.shape
        ids = np.array([song_id(k) for k in keys], dtype=np.int64)
        key_of = dict(zip(ids.tolist(), keys, strict=True))
        queries = sample_queries(vectors, np.random.default_rng(seed))
        measured: list[Measurement] = []
        if kind in ("exact", "auto"):
            flat = build_flat(vectors, ids)
            measured.append(Measurement("exact", median_query_ms(flat, "exact", queries), 1.0))
            if kind == "exact" or n < APPROX_MIN_SONGS or measured[0].query_ms < approx_worth_ms:
                return cls(model_id, dim, "exact", flat, key_of, measured, n)
            del flat  # rebuilt if exact wins: one copy of the vectors at a time is enough
        if kind == "ivf" and ivf_lists(n) < IVF_MIN_LISTS:
            raise ValueError(f"an IVF index needs at least {IVF_MIN_LISTS * IVF_TRAINING_PER_LIST} "
                             f"songs, not {n}")
        index = approximate(vectors, ids, queries, kind, measured, seed)
        chosen = "exact" if index is None else measured[-1].kind
        log.info("similarity index: %s for %d songs; measured %s", chosen, n,
                 "; ".join(f"{m.kind} {m.query_ms:.2f} ms recall {m.recall:.3f}" for m in measured))
        if index is None:
            index = build_flat(vectors, ids)
        return cls(model_id, dim, chosen, index, key_of, measured, n)

    def recalibrate(self, keys: list[str], vectors: np.ndarray, seed: int = 0) -> Measurement:
        """Re-tunes nprobe or efSearch on the index's current songs (``keys``, ``vectors`` N x D:
        all of them) so that recall@10 is back at the calibration target."""
        vectors = np.ascontiguousarray(vectors, dtype=np.float32)
        ids = np.array([song_id(k) for k in keys], dtype=np.int64)
        queries = sample_queries(vectors, np.random.default_rng(seed))
        if self.kind == "exact":
            measurement = Measurement("exact", median_query_ms(self._index, "exact", queries), 1.0)
        else:
            limit = self._index.nlist if self.kind == "ivf" else max(HNSW_EF_CONSTRUCTION, len(ids))
            measurement = tune(self._index, self.kind, queries, true_neighbours(vectors, ids, queries),
                                limit, math.inf, self._dead)
        self.measured = [measurement if m.kind == self.kind else m for m in self.measured]
        self.calibrated_songs = len(self)
        log.info("similarity index recalibrated at %d songs: %s param %d, recall@10 %.3f, %.2f ms",
                 len(self), self.kind, measurement.param, measurement.recall, measurement.query_ms)
        return measurement

    @property
    def needs_recalibration(self) -> bool:
        """An approximate index grown by more than RECALIBRATE_GROWTH since it was calibrated."""
        return self.kind != "exact" and len(self) > self.calibrated_songs * (1 + RECALIBRATE_GROWTH)

    # -- changes -----------------------------------------------------------------------------
    def add(self, keys: list[str], vectors: np.ndarray) -> None:
        """Adds (or replaces) songs. ``vectors``: N x D float32, L2-normalised."""
        if not keys:
            return
        self.remove([k for k in keys if song_id(k) in self._keys])
        ids = np.array([song_id(k) for k in keys], dtype=np.int64)
        if self._dead.intersection(ids.tolist()):
            self._compact()  # the graph still holds these songs' old vectors under the same ids
        self._index.add_with_ids(np.ascontiguousarray(vectors, dtype=np.float32), ids)
        self._keys.update(zip(ids.tolist(), keys, strict=True))

    def remove(self, keys: list[str]) -> int:
        """Drops songs by key; returns how many were in the index."""
        ids = [i for i in (song_id(k) for k in keys) if i in self._keys]
        if not ids:
            return 0
        for i in ids:
            del self._keys[i]
        if self.kind == "hnsw":
            self._dead.update(ids)
            if len(self._dead) > HNSW_COMPACT_SHARE * self._index.ntotal:
                self._compact()
        else:
            self._index.remove_ids(np.array(ids, dtype=np.int64))
        return len(ids)

    def _compact(self) -> None:
        """Rebuilds the HNSW graph without the removed songs."""
        vectors = faiss.downcast_index(self._index.index).reconstruct_n(0, self._index.ntotal)
        ids = faiss.vector_to_array(self._index.id_map)
        live = ~np.isin(ids, np.fromiter(self._dead, dtype=np.int64, count=len(self._dead)))
        self._index = build_hnsw(vectors[live], ids[live])
        set_search_param(self._index, self.kind, self.measurement.param)
        self._dead = set()

    # -- queries -----------------------------------------------------------------------------
    def __len__(self) -> int:
        return len(self._keys)

    def __contains__(self, key: str) -> bool:
        return song_id(key) in self._keys

    @property
    def keys(self) -> set[str]:
        return set(self._keys.values())

    def search(self, vector: np.ndarray, k: int, exclude: set[str] | frozenset[str] = frozenset()
               ) -> list[Neighbour]:
        """The ``k`` songs most similar to ``vector`` (D float32, unit length), best first."""
        if not self._keys or k <= 0:
            return []
        want = min(self._index.ntotal, k + len(exclude) + len(self._dead))
        query = np.asarray(vector, dtype=np.float32).reshape(1, -1)
        with one_thread():
            sims, ids = search_one(self._index, self.kind, query, want)
        out = []
        for sim, i in zip(sims[0].tolist(), ids[0].tolist(), strict=True):
            key = self._keys.get(i)
            if key is None or key in exclude:
                continue  # -1 (fewer songs than asked for) or a removed song still in the graph
            out.append(Neighbour(key, sim))
            if len(out) == k:
                break
        return out

    @property
    def memory_bytes(self) -> int:
        """Size of the FAISS index when serialised (vectors, lists, graph, quantizer), in bytes."""
        return int(faiss.serialize_index(self._index).size)

    def info(self) -> dict:
        """What ``doctor`` or a report shows: kind, songs, memory and the measured recall/latency."""
        return _info(self._meta(), self.memory_bytes)

    @staticmethod
    def read_info(path: Path) -> dict:
        """``info()`` of a saved index, read from its sidecar without loading the index."""
        meta = json.loads(_sidecar(path).read_text(encoding="utf-8"))
        return _info(meta, meta["memory_bytes"])

    # -- persistence -------------------------------------------------------------------------
    def _meta(self) -> dict:
        return {"model_id": self.model_id, "dim": self.dim, "kind": self.kind, "songs": len(self),
                "calibrated_songs": self.calibrated_songs,
                "measured": [dataclasses.asdict(m) for m in self.measured]}

    def save(self, path: Path) -> None:
        """Writes ``path`` (FAISS) and ``path.json`` (model, kind, keys, measurements), each atomically."""
        with atomic_write(path) as tmp:
            faiss.write_index(self._index, str(tmp))
        meta = {**self._meta(), "memory_bytes": path.stat().st_size,
                "keys": sorted(self._keys.values()), "dead": sorted(self._dead)}
        with atomic_write(_sidecar(path)) as tmp:
            tmp.write_text(json.dumps(meta), encoding="utf-8")

    @classmethod
    def load(cls, path: Path) -> SimilarityIndex:
        meta = json.loads(_sidecar(path).read_text(encoding="utf-8"))
        index = faiss.read_index(str(path))
        keys = {song_id(k): k for k in meta["keys"]}
        dead = set(meta["dead"])
        if index.ntotal != len(keys) + len(dead):
            raise ValueError(f"{path}: {index.ntotal} vectors but {len(keys)} keys and {len(dead)} removed")
        measured = [Measurement(**m) for m in meta["measured"]]
        return cls(meta["model_id"], meta["dim"], meta["kind"], index, keys, measured,
                   meta["calibrated_songs"], dead)

    @classmethod
    def open(cls, path: Path, store: EmbeddingStore, model_id: str | None = None) -> SimilarityIndex:
        """The saved index brought up to date with the store (built when missing or stale)."""
        model_id = model_id or store.current_model()
        if model_id is None:
            raise ValueError(f"{store.path}: no current embedding model")
        index = None
        if path.exists() and _sidecar(path).exists():
            try:
                index = cls.load(path)
            except (OSError, ValueError, KeyError, TypeError, RuntimeError) as exc:
                log.warning("similarity index %s unreadable, rebuilding: %s", path, exc)
        if index is not None and index.model_id == model_id:
            if index.sync(store):
                index.save(path)
            return index
        started = time.monotonic()
        keys, vectors = store.load(model_id)
        index = cls.build(model_id, keys, vectors)
        index.save(path)
        log.info("similarity index built: %d songs, %s, %.1f s", len(keys), index.kind,
                 time.monotonic() - started)
        return index

    def sync(self, store: EmbeddingStore) -> bool:
        """Adds the store's new songs and drops the ones gone, then recalibrates an approximate
        index that has grown past RECALIBRATE_GROWTH; True when anything changed."""
        stored = store.keys(self.model_id)
        current = self.keys
        gone, new = current - stored, stored - current
        if gone:
            self.remove(sorted(gone))
        if new:
            keys, vectors = store.load(self.model_id, new)
            self.add(keys, vectors)
        changed = bool(gone or new)
        if self.needs_recalibration:
            self.recalibrate(*store.load(self.model_id))
            changed = True
        return changed


def _info(meta: dict, memory_bytes: int) -> dict:
    chosen = next(Measurement(**m) for m in meta["measured"] if m["kind"] == meta["kind"])
    return {"kind": meta["kind"], "songs": meta["songs"], "dim": meta["dim"], "memory_bytes": memory_bytes,
            "recall_at_10": chosen.recall, "recall_target": RECALL_TARGET, "query_ms": chosen.query_ms,
            "query_budget_ms": QUERY_BUDGET_MS, "search_param": chosen.param,
            "calibrated_songs": meta["calibrated_songs"], "measured": meta["measured"]}


def _sidecar(path: Path) -> Path:
    return path.with_name(path.name + ".json")
