"""The similarity index: FAISS inner product over L2-normalised song embeddings, keyed by song key.

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
import os
import tempfile
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

import faiss
import numpy as np

from musicrec_desktop.store.embeddings import EmbeddingStore

log = logging.getLogger(__name__)

KINDS = ("exact", "ivf", "hnsw")
QUERY_BUDGET_MS = 10.0  # a radio query at 100k songs must answer within this
RECALL_TARGET = 0.95  # promised recall@10 of an approximate index against exact search
CALIBRATION_RECALL = 0.97  # calibrated above the promise: margin for sampling error and new songs
CALIBRATION_QUERIES = 64  # library songs used as queries to measure recall
TIMING_QUERIES = 16  # of those, timed one at a time as the radio asks (median kept)
QUERY_K = 100  # neighbours one radio query asks for (radio.next_batch: max(10 n, 100))
APPROX_WORTH_MS = 1.0  # exact search answering faster than this leaves nothing to gain
# below this an approximate index saves microseconds at best, and timings that short are mostly the
# noise of a busy machine: exact, without measuring the others
APPROX_MIN_SONGS = 2_000
APPROX_MIN_SPEEDUP = 2.0  # approximate gives up some neighbours: only worth it when twice as fast
RECALIBRATE_GROWTH = 0.2  # an approximate index grown by this share since calibration is re-tuned
IVF_TRAINING_PER_LIST = 40  # k-means wants ~40 songs per cell (faiss warns below 39)
IVF_MIN_LISTS = 16
HNSW_M = 16  # graph links per song: M=32 took 2.3x as long to build (10k songs, 2048-d)
HNSW_EF_CONSTRUCTION = 40
HNSW_COMPACT_SHARE = 0.2  # removed songs still in the graph before it is rebuilt without them


def song_id(key: str) -> int:
    """A stable 63-bit id for a song key (collisions are ~1e-9 likely at 100k songs)."""
    return int.from_bytes(hashlib.blake2b(key.encode("utf-8"), digest_size=8).digest(), "little") >> 1


@dataclass(frozen=True)
class Neighbour:
    key: str
    similarity: float  # cosine similarity (inner product of unit vectors)


@dataclass(frozen=True)
class Measurement:
    """One index kind as measured on the library's vectors."""

    kind: str  # exact, ivf or hnsw
    query_ms: float  # median time of one radio query (QUERY_K neighbours), on this machine
    recall: float  # recall@10 against exact search on sample queries (1.0 for exact)
    param: int = 0  # nprobe (ivf) or efSearch (hnsw) it was measured with; 0 for exact
    usable: bool = True  # reached CALIBRATION_RECALL within the search effort it was allowed


def choose(measured: list[Measurement]) -> Measurement:
    """The index to use: the fastest usable approximate one when it is at least APPROX_MIN_SPEEDUP
    times faster than exact search, else exact. ``measured`` holds the exact measurement."""
    exact = next(m for m in measured if m.kind == "exact")
    faster = [m for m in measured if m.kind != "exact" and m.usable
              and m.query_ms * APPROX_MIN_SPEEDUP <= exact.query_ms]
    return min(faster, key=lambda m: m.query_ms) if faster else exact


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
        _set_search_param(index, kind, self.measurement.param)

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
        queries = _sample_queries(vectors, np.random.default_rng(seed))
        measured: list[Measurement] = []
        if kind in ("exact", "auto"):
            flat = _flat(vectors, ids)
            measured.append(Measurement("exact", _query_ms(flat, "exact", queries), 1.0))
            if kind == "exact" or n < APPROX_MIN_SONGS or measured[0].query_ms < approx_worth_ms:
                return cls(model_id, dim, "exact", flat, key_of, measured, n)
            del flat  # rebuilt if exact wins: one copy of the vectors at a time is enough
        if kind == "ivf" and _ivf_lists(n) < IVF_MIN_LISTS:
            raise ValueError(f"an IVF index needs at least {IVF_MIN_LISTS * IVF_TRAINING_PER_LIST} "
                             f"songs, not {n}")
        index = _approximate(vectors, ids, queries, kind, measured, seed)
        chosen = "exact" if index is None else measured[-1].kind
        log.info("similarity index: %s for %d songs; measured %s", chosen, n,
                 "; ".join(f"{m.kind} {m.query_ms:.2f} ms recall {m.recall:.3f}" for m in measured))
        if index is None:
            index = _flat(vectors, ids)
        return cls(model_id, dim, chosen, index, key_of, measured, n)

    def recalibrate(self, keys: list[str], vectors: np.ndarray, seed: int = 0) -> Measurement:
        """Re-tunes nprobe or efSearch on the index's current songs (``keys``, ``vectors`` N x D:
        all of them) so that recall@10 is back at the calibration target."""
        vectors = np.ascontiguousarray(vectors, dtype=np.float32)
        ids = np.array([song_id(k) for k in keys], dtype=np.int64)
        queries = _sample_queries(vectors, np.random.default_rng(seed))
        if self.kind == "exact":
            measurement = Measurement("exact", _query_ms(self._index, "exact", queries), 1.0)
        else:
            limit = self._index.nlist if self.kind == "ivf" else max(HNSW_EF_CONSTRUCTION, len(ids))
            measurement = _tune(self._index, self.kind, queries, true_neighbours(vectors, ids, queries),
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
        self._index = _hnsw(vectors[live], ids[live])
        _set_search_param(self._index, self.kind, self.measurement.param)
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
            sims, ids = _search_one(self._index, self.kind, query, want)
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
        path.parent.mkdir(parents=True, exist_ok=True)
        _atomic(path, lambda tmp: faiss.write_index(self._index, str(tmp)))
        meta = {**self._meta(), "memory_bytes": path.stat().st_size,
                "keys": sorted(self._keys.values()), "dead": sorted(self._dead)}
        _atomic(_sidecar(path), lambda tmp: tmp.write_text(json.dumps(meta), encoding="utf-8"))

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


# -- building and measuring -------------------------------------------------------------------------
def _approximate(vectors: np.ndarray, ids: np.ndarray, queries: np.ndarray, kind: str,
                 measured: list[Measurement], seed: int) -> faiss.Index | None:
    """Builds and tunes the approximate index ``kind`` names, or for "auto" IVF and then, when IVF
    cannot beat exact search (``measured[0]``), HNSW; appends what it measured to ``measured``.
    Returns the index to use: the forced kind's or the one ``choose`` picks; None when exact wins."""
    n = len(vectors)
    auto = kind == "auto"
    truth = true_neighbours(vectors, ids, queries)
    # an approximate index slower than this can never be chosen, so its tuning stops there
    give_up_ms = measured[0].query_ms / APPROX_MIN_SPEEDUP if auto else math.inf
    if kind in ("ivf", "auto") and _ivf_lists(n) >= IVF_MIN_LISTS:
        ivf = _ivf(vectors, ids, seed)
        limit = ivf.nlist // 4 if auto else ivf.nlist
        measured.append(_tune(ivf, "ivf", queries, truth, limit, give_up_ms))
        if not auto or choose(measured).kind == "ivf":
            return ivf
        del ivf  # freed before the graph is built
    hnsw = _hnsw(vectors, ids)
    measured.append(_tune(hnsw, "hnsw", queries, truth, max(HNSW_EF_CONSTRUCTION, n), give_up_ms))
    return hnsw if not auto or choose(measured).kind == "hnsw" else None


def _flat(vectors: np.ndarray, ids: np.ndarray) -> faiss.Index:
    index = faiss.IndexIDMap2(faiss.IndexFlatIP(vectors.shape[1]))
    index.add_with_ids(vectors, ids)
    return index


def _ivf_lists(n: int) -> int:
    """Cells of an IVF index over ``n`` songs: 4 sqrt(n) (FAISS's guideline), with enough songs to
    train each. Measured at 100k clustered 2048-d songs: 632 cells reach recall 0.92 at nprobe 64,
    1264 cells 1.0 at nprobe 1 (k-means then separates the styles), for 20 s more training."""
    return min(int(4 * math.sqrt(n)), n // IVF_TRAINING_PER_LIST, 4096)


def _ivf(vectors: np.ndarray, ids: np.ndarray, seed: int) -> faiss.IndexIVFFlat:
    n, dim = vectors.shape
    nlist = _ivf_lists(n)
    index = faiss.IndexIVFFlat(faiss.IndexFlatIP(dim), dim, nlist, faiss.METRIC_INNER_PRODUCT)
    rng = np.random.default_rng(seed)
    index.cp.niter = 10  # k-means converges well enough for coarse cells; saves build time
    index.cp.spherical = True  # unit-length centroids: cells by cosine, as the songs are compared
    index.cp.seed = seed
    index.train(vectors[rng.choice(n, min(n, IVF_TRAINING_PER_LIST * nlist), replace=False)])
    index.add_with_ids(vectors, ids)
    return index


def _hnsw(vectors: np.ndarray, ids: np.ndarray) -> faiss.Index:
    graph = faiss.IndexHNSWFlat(vectors.shape[1], HNSW_M, faiss.METRIC_INNER_PRODUCT)
    graph.hnsw.efConstruction = HNSW_EF_CONSTRUCTION
    index = faiss.IndexIDMap2(graph)  # HNSW has no ids of its own
    index.add_with_ids(vectors, ids)
    return index


def _search_one(index: faiss.Index, kind: str, query: np.ndarray, k: int) -> tuple[np.ndarray, np.ndarray]:
    """(similarities, ids), each 1 x k, of one query. An approximate search that found fewer than
    ``k`` songs (the probed cells or the graph walk hold fewer: a radio that has used up its
    neighbourhood asks for many) looks further: more cells, or every song of the graph."""
    sims, ids = index.search(query, k)
    if kind == "ivf":
        nprobe = index.nprobe
        while (ids[0] < 0).any() and nprobe < index.nlist:
            nprobe = min(index.nlist, nprobe * 4)
            sims, ids = index.search(query, k, params=faiss.SearchParametersIVF(nprobe=nprobe))
    elif kind == "hnsw" and (ids[0] < 0).any():
        sims, rows = faiss.downcast_index(index.index).storage.search(query, k)  # the graph's vectors
        ids = np.where(rows >= 0, faiss.vector_to_array(index.id_map)[rows], -1)
    return sims, ids


def _set_search_param(index: faiss.Index, kind: str, param: int) -> None:
    if kind == "ivf":
        index.nprobe = param
    elif kind == "hnsw":
        faiss.downcast_index(index.index).hnsw.efSearch = param


def _tune(index: faiss.Index, kind: str, queries: np.ndarray, truth: np.ndarray, limit: int,
          give_up_ms: float, dead: set[int] = frozenset()) -> Measurement:
    """Doubles nprobe (from 1) or efSearch (from 16) up to ``limit`` until recall@10 reaches
    CALIBRATION_RECALL; stops early once a query takes longer than ``give_up_ms``."""
    param = 1 if kind == "ivf" else 16
    while True:
        _set_search_param(index, kind, param)
        recall = recall_at_k(_top_ids(index, queries, 10, dead), truth)
        query_ms = _query_ms(index, kind, queries)
        if recall >= CALIBRATION_RECALL or param >= limit or query_ms > give_up_ms:
            return Measurement(kind, query_ms, recall, param, recall >= CALIBRATION_RECALL)
        param = min(limit, param * 2)


def _sample_queries(vectors: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    """CALIBRATION_QUERIES songs of the library (radio seeds are songs): Q x D."""
    n = len(vectors)
    return vectors[rng.choice(n, min(n, CALIBRATION_QUERIES), replace=False)] if n else vectors


def _query_ms(index: faiss.Index, kind: str, queries: np.ndarray) -> float:
    """Median milliseconds of one query for QUERY_K neighbours, asked one at a time as the radio does."""
    timed = queries[:TIMING_QUERIES]
    if not len(timed) or not index.ntotal:
        return 0.0
    k = min(QUERY_K, index.ntotal)
    times = []
    with one_thread():
        index.search(timed[:1], k)  # the first query pays for page faults
        for q in timed:
            start = time.perf_counter()
            _search_one(index, kind, q.reshape(1, -1), k)
            times.append((time.perf_counter() - start) * 1000)
    return float(np.median(times))


@contextmanager
def one_thread() -> Iterator[None]:
    """Runs FAISS on one thread in this thread. One song's query is too small to share: on a busy
    two-core machine the second OpenMP thread waits for a core and the query takes five times as
    long (measured: 10k songs, 6 ms on one thread, 30 ms on two), and the player keeps a core."""
    before = faiss.omp_get_max_threads()
    faiss.omp_set_num_threads(1)
    try:
        yield
    finally:
        faiss.omp_set_num_threads(before)


def _top_ids(index: faiss.Index, queries: np.ndarray, k: int, dead: set[int]) -> np.ndarray:
    """Q x k ids found by ``index``, removed songs skipped (-1 where fewer were found)."""
    _, found = index.search(queries, min(index.ntotal, k + len(dead)))
    rows = [[i for i in row.tolist() if i not in dead][:k] for row in found]
    return np.array([row + [-1] * (k - len(row)) for row in rows], dtype=np.int64).reshape(len(queries), k)


def true_neighbours(vectors: np.ndarray, ids: np.ndarray, queries: np.ndarray, k: int = 10
                    ) -> np.ndarray:
    """Ids of the exact ``k`` nearest of ``vectors`` (N x D, under ``ids``) for each query: Q x k."""
    sims = queries @ vectors.T  # Q x N (64 x 100k floats: 25 MB)
    k = min(k, sims.shape[1])
    return ids[np.argpartition(-sims, k - 1, axis=1)[:, :k]]


def recall_at_k(found: np.ndarray, exact: np.ndarray) -> float:
    """Mean share of the exact top-k that the approximate search found (both Q x k)."""
    k = exact.shape[1]
    hits = [len(set(f.tolist()) & set(e.tolist())) / k for f, e in zip(found, exact, strict=True)]
    return float(np.mean(hits)) if hits else 1.0


def _info(meta: dict, memory_bytes: int) -> dict:
    chosen = next(Measurement(**m) for m in meta["measured"] if m["kind"] == meta["kind"])
    return {"kind": meta["kind"], "songs": meta["songs"], "dim": meta["dim"], "memory_bytes": memory_bytes,
            "recall_at_10": chosen.recall, "recall_target": RECALL_TARGET, "query_ms": chosen.query_ms,
            "query_budget_ms": QUERY_BUDGET_MS, "search_param": chosen.param,
            "calibrated_songs": meta["calibrated_songs"], "measured": meta["measured"]}


def _sidecar(path: Path) -> Path:
    return path.with_name(path.name + ".json")


def _atomic(path: Path, write) -> None:
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}-", suffix=".tmp")
    os.close(fd)
    try:
        write(Path(tmp))
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise
