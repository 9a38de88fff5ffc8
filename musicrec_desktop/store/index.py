"""The similarity index: FAISS inner product over L2-normalised song embeddings, keyed by song key.

Exact search (a flat index) while it meets the radio's latency budget; past that an IVF index whose
``nprobe`` is chosen by measuring recall@10 against exact search on the library's own vectors.
The measured cost of exact search on this kind of machine (``bench/radio.py``): about 30 ms per
query at 100,000 songs x 2048 dims on one core, i.e. ~0.15 ns per stored value. Exact is kept up to
half the budget so that a busy machine still answers in time.

The index is saved under the state folder with a sidecar naming the embedding model and the keys,
and is brought up to date incrementally (songs added and removed by key) on every open.
"""

from __future__ import annotations

import hashlib
import json
import logging
import os
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path

import faiss
import numpy as np

from musicrec_desktop.store.embeddings import EmbeddingStore

log = logging.getLogger(__name__)

QUERY_BUDGET_MS = 10.0  # a radio query at 100k songs must answer within this
EXACT_NS_PER_VALUE = 0.15  # measured flat-search cost per stored float (bench/radio.py)
RECALL_TARGET = 0.97  # calibrated a little above the promised 0.95 to leave margin on new songs
CALIBRATION_QUERIES = 64
IVF_MIN_SONGS = 5_000  # below this exact search is always fast enough


def song_id(key: str) -> int:
    """A stable 63-bit id for a song key (collisions are ~1e-9 likely at 100k songs)."""
    return int.from_bytes(hashlib.blake2b(key.encode("utf-8"), digest_size=8).digest(), "little") >> 1


def choose_kind(n_songs: int, dim: int, budget_ms: float = QUERY_BUDGET_MS) -> str:
    """"exact" when estimated flat search stays under half the budget, else "ivf"."""
    estimated_ms = n_songs * dim * EXACT_NS_PER_VALUE / 1e6
    return "exact" if n_songs < IVF_MIN_SONGS or estimated_ms <= budget_ms / 2 else "ivf"


@dataclass(frozen=True)
class Neighbour:
    key: str
    similarity: float  # cosine similarity (inner product of unit vectors)


class SimilarityIndex:
    """``index.search(vector, k)`` -> nearest songs; ``add``/``remove`` by song key."""

    def __init__(self, model_id: str, dim: int, kind: str, index: faiss.Index,
                 keys: dict[int, str], nprobe: int = 0, recall: float | None = None) -> None:
        self.model_id, self.dim, self.kind = model_id, dim, kind
        self._index = index
        self._keys = keys  # faiss id -> song key
        self.nprobe = nprobe
        self.recall = recall  # measured recall@10 vs exact (IVF only)
        if kind == "ivf":
            self._index.nprobe = nprobe

    # -- building ----------------------------------------------------------------------------
    @classmethod
    def build(cls, model_id: str, keys: list[str], vectors: np.ndarray, *, kind: str = "auto",
              seed: int = 0) -> SimilarityIndex:
        """Index ``vectors`` (N x D float32, L2-normalised rows) under their song ``keys``."""
        vectors = np.ascontiguousarray(vectors, dtype=np.float32)
        n, dim = vectors.shape
        if kind == "auto":
            kind = choose_kind(n, dim)
        ids = np.array([song_id(k) for k in keys], dtype=np.int64)
        if kind == "exact":
            index = faiss.IndexIDMap2(faiss.IndexFlatIP(dim))
            index.add_with_ids(vectors, ids)
            return cls(model_id, dim, "exact", index, dict(zip(ids.tolist(), keys, strict=True)))
        if kind != "ivf":
            raise ValueError(f"index kind {kind!r}: exact, ivf or auto")
        nlist = int(np.clip(4 * np.sqrt(n), 16, 4096))
        quantizer = faiss.IndexFlatIP(dim)
        index = faiss.IndexIVFFlat(quantizer, dim, nlist, faiss.METRIC_INNER_PRODUCT)
        rng = np.random.default_rng(seed)
        sample = vectors[rng.choice(n, min(n, 40 * nlist), replace=False)]
        index.cp.niter = 10  # k-means converges well enough for coarse cells; saves build time
        index.cp.seed = seed
        index.train(sample)
        index.add_with_ids(vectors, ids)
        nprobe, recall = _calibrate_nprobe(index, vectors, ids, rng)
        if nprobe > nlist // 4:
            # vectors without cluster structure: IVF would scan most cells and gain nothing
            log.warning("similarity index: IVF needs %d of %d cells for recall %.2f; using exact search",
                        nprobe, nlist, RECALL_TARGET)
            return cls.build(model_id, keys, vectors, kind="exact")
        log.info("similarity index: IVF %d lists, nprobe %d, recall@10 %.3f", nlist, nprobe, recall)
        return cls(model_id, dim, "ivf", index, dict(zip(ids.tolist(), keys, strict=True)), nprobe, recall)

    # -- changes -----------------------------------------------------------------------------
    def add(self, keys: list[str], vectors: np.ndarray) -> None:
        """Adds (or replaces) songs. ``vectors``: N x D float32, L2-normalised."""
        if not keys:
            return
        self.remove([k for k in keys if song_id(k) in self._keys])
        ids = np.array([song_id(k) for k in keys], dtype=np.int64)
        self._index.add_with_ids(np.ascontiguousarray(vectors, dtype=np.float32), ids)
        self._keys.update(zip(ids.tolist(), keys, strict=True))

    def remove(self, keys: list[str]) -> int:
        ids = [i for i in (song_id(k) for k in keys) if i in self._keys]
        if not ids:
            return 0
        removed = self._index.remove_ids(np.array(ids, dtype=np.int64))
        for i in ids:
            del self._keys[i]
        return int(removed)

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
        want = min(len(self._keys), k + len(exclude))
        sims, ids = self._index.search(np.asarray(vector, dtype=np.float32).reshape(1, -1), want)
        out = []
        for sim, i in zip(sims[0].tolist(), ids[0].tolist(), strict=True):
            key = self._keys.get(i)
            if key is None or key in exclude:
                continue  # -1: fewer results than asked (IVF cells too small)
            out.append(Neighbour(key, sim))
            if len(out) == k:
                break
        return out

    @property
    def memory_bytes(self) -> int:
        """Size of the FAISS index when serialised (vectors, lists, quantizer), in bytes."""
        return int(faiss.serialize_index(self._index).size)

    # -- persistence -------------------------------------------------------------------------
    def save(self, path: Path) -> None:
        """Writes ``path`` (FAISS) and ``path.json`` (model, kind, keys), each atomically."""
        path.parent.mkdir(parents=True, exist_ok=True)
        _atomic(path, lambda tmp: faiss.write_index(self._index, str(tmp)))
        meta = {"model_id": self.model_id, "dim": self.dim, "kind": self.kind, "nprobe": self.nprobe,
                "recall": self.recall, "keys": sorted(self._keys.values())}
        _atomic(_sidecar(path), lambda tmp: tmp.write_text(json.dumps(meta), encoding="utf-8"))

    @classmethod
    def load(cls, path: Path) -> SimilarityIndex:
        meta = json.loads(_sidecar(path).read_text(encoding="utf-8"))
        index = faiss.read_index(str(path))
        keys = {song_id(k): k for k in meta["keys"]}
        if index.ntotal != len(keys):
            raise ValueError(f"{path}: {index.ntotal} vectors but {len(keys)} keys")
        return cls(meta["model_id"], meta["dim"], meta["kind"], index, keys, meta["nprobe"],
                   meta["recall"])

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
            except (OSError, ValueError, KeyError, RuntimeError) as exc:
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
        """Adds the store's new songs and drops the ones gone; True when anything changed."""
        stored = store.keys(self.model_id)
        current = self.keys
        gone, new = current - stored, stored - current
        if gone:
            self.remove(sorted(gone))
        if new:
            keys, vectors = store.load(self.model_id, new)
            self.add(keys, vectors)
        return bool(gone or new)


def _calibrate_nprobe(index: faiss.IndexIVF, vectors: np.ndarray, ids: np.ndarray,
                      rng: np.random.Generator) -> tuple[int, float]:
    """Smallest nprobe whose recall@10 vs exact search reaches RECALL_TARGET on sample queries."""
    n = vectors.shape[0]
    queries = vectors[rng.choice(n, min(n, CALIBRATION_QUERIES), replace=False)]
    exact = ids[exact_top_k(vectors, queries, 10)]  # row numbers -> the index's song ids
    nprobe, recall = 1, 0.0
    while True:
        index.nprobe = nprobe
        _, found = index.search(queries, 10)
        recall = recall_at_k(found, exact)
        if recall >= RECALL_TARGET or nprobe >= index.nlist:
            return nprobe, recall
        nprobe = min(index.nlist, nprobe * 2)


def exact_top_k(vectors: np.ndarray, queries: np.ndarray, k: int, chunk: int = 20_000) -> np.ndarray:
    """Row numbers of the ``k`` nearest ``vectors`` (N x D) for each of ``queries`` (Q x D): Q x k int64.

    Brute force in chunks, so that 100k x 2048 never needs a Q x N matrix at once.
    """
    best_sims = np.full((len(queries), 0), -np.inf, dtype=np.float32)
    best_rows = np.zeros((len(queries), 0), dtype=np.int64)
    for start in range(0, len(vectors), chunk):
        sims = queries @ vectors[start:start + chunk].T  # Q x chunk
        rows = np.broadcast_to(np.arange(start, start + sims.shape[1]), sims.shape)
        all_sims = np.concatenate([best_sims, sims], axis=1)
        all_rows = np.concatenate([best_rows, rows], axis=1)
        top = np.argsort(-all_sims, axis=1, kind="stable")[:, :k]
        best_sims = np.take_along_axis(all_sims, top, axis=1)
        best_rows = np.take_along_axis(all_rows, top, axis=1)
    return best_rows


def recall_at_k(found: np.ndarray, exact: np.ndarray) -> float:
    """Mean share of the exact top-k that the approximate search found (both Q x k)."""
    k = exact.shape[1]
    hits = [len(set(f.tolist()) & set(e.tolist())) / k for f, e in zip(found, exact, strict=True)]
    return float(np.mean(hits)) if hits else 1.0


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
