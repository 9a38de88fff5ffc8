"""Choosing and tuning the similarity index by measurement: exact (flat) search is timed on a few
radio queries; when an approximate index is worth it, IVF's ``nprobe`` (else HNSW's ``efSearch``) is
raised until recall@10 against exact search reaches the target on sample queries, and the cheapest
index that keeps the recall wins (``store.similarity`` uses what is chosen).
"""

from __future__ import annotations

import math
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass

import faiss
import numpy as np

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


def approximate(vectors: np.ndarray, ids: np.ndarray, queries: np.ndarray, kind: str,
                 measured: list[Measurement], seed: int) -> faiss.Index | None:
    """Builds and tunes the approximate index ``kind`` names, or for "auto" IVF and then, when IVF
    cannot beat exact search (``measured[0]``), HNSW; appends what it measured to ``measured``.
    Returns the index to use: the forced kind's or the one ``choose`` picks; None when exact wins."""
    n = len(vectors)
    auto = kind == "auto"
    truth = true_neighbours(vectors, ids, queries)
    # an approximate index slower than this can never be chosen, so its tuning stops there
    give_up_ms = measured[0].query_ms / APPROX_MIN_SPEEDUP if auto else math.inf
    if kind in ("ivf", "auto") and ivf_lists(n) >= IVF_MIN_LISTS:
        ivf = build_ivf(vectors, ids, seed)
        limit = ivf.nlist // 4 if auto else ivf.nlist
        measured.append(tune(ivf, "ivf", queries, truth, limit, give_up_ms))
        if not auto or choose(measured).kind == "ivf":
            return ivf
        del ivf  # freed before the graph is built
    hnsw = build_hnsw(vectors, ids)
    measured.append(tune(hnsw, "hnsw", queries, truth, max(HNSW_EF_CONSTRUCTION, n), give_up_ms))
    return hnsw if not auto or choose(measured).kind == "hnsw" else None


def build_flat(vectors: np.ndarray, ids: np.ndarray) -> faiss.Index:
    index = faiss.IndexIDMap2(faiss.IndexFlatIP(vectors.shape[1]))
    index.add_with_ids(vectors, ids)
    return index


def ivf_lists(n: int) -> int:
    """Cells of an IVF index over ``n`` songs: 4 sqrt(n) (FAISS's guideline), with enough songs to
    train each. Measured at 100k clustered 2048-d songs: 632 cells reach recall 0.92 at nprobe 64,
    1264 cells 1.0 at nprobe 1 (k-means then separates the styles), for 20 s more training."""
    return min(int(4 * math.sqrt(n)), n // IVF_TRAINING_PER_LIST, 4096)


def build_ivf(vectors: np.ndarray, ids: np.ndarray, seed: int) -> faiss.IndexIVFFlat:
    n, dim = vectors.shape
    nlist = ivf_lists(n)
    index = faiss.IndexIVFFlat(faiss.IndexFlatIP(dim), dim, nlist, faiss.METRIC_INNER_PRODUCT)
    rng = np.random.default_rng(seed)
    index.cp.niter = 10  # k-means converges well enough for coarse cells; saves build time
    index.cp.spherical = True  # unit-length centroids: cells by cosine, as the songs are compared
    index.cp.seed = seed
    index.train(vectors[rng.choice(n, min(n, IVF_TRAINING_PER_LIST * nlist), replace=False)])
    index.add_with_ids(vectors, ids)
    return index


def build_hnsw(vectors: np.ndarray, ids: np.ndarray) -> faiss.Index:
    graph = faiss.IndexHNSWFlat(vectors.shape[1], HNSW_M, faiss.METRIC_INNER_PRODUCT)
    graph.hnsw.efConstruction = HNSW_EF_CONSTRUCTION
    index = faiss.IndexIDMap2(graph)  # HNSW has no ids of its own
    index.add_with_ids(vectors, ids)
    return index


def search_one(index: faiss.Index, kind: str, query: np.ndarray, k: int) -> tuple[np.ndarray, np.ndarray]:
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


def set_search_param(index: faiss.Index, kind: str, param: int) -> None:
    if kind == "ivf":
        index.nprobe = param
    elif kind == "hnsw":
        faiss.downcast_index(index.index).hnsw.efSearch = param


def tune(index: faiss.Index, kind: str, queries: np.ndarray, truth: np.ndarray, limit: int,
          give_up_ms: float, dead: set[int] = frozenset()) -> Measurement:
    """Doubles nprobe (from 1) or efSearch (from 16) up to ``limit`` until recall@10 reaches
    CALIBRATION_RECALL; stops early once a query takes longer than ``give_up_ms``."""
    param = 1 if kind == "ivf" else 16
    while True:
        set_search_param(index, kind, param)
        recall = recall_at_k(top_ids(index, queries, 10, dead), truth)
        query_ms = median_query_ms(index, kind, queries)
        if recall >= CALIBRATION_RECALL or param >= limit or query_ms > give_up_ms:
            return Measurement(kind, query_ms, recall, param, recall >= CALIBRATION_RECALL)
        param = min(limit, param * 2)


def sample_queries(vectors: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    """CALIBRATION_QUERIES songs of the library (radio seeds are songs): Q x D."""
    n = len(vectors)
    return vectors[rng.choice(n, min(n, CALIBRATION_QUERIES), replace=False)] if n else vectors


def median_query_ms(index: faiss.Index, kind: str, queries: np.ndarray) -> float:
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
            search_one(index, kind, q.reshape(1, -1), k)
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


def top_ids(index: faiss.Index, queries: np.ndarray, k: int, dead: set[int]) -> np.ndarray:
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
