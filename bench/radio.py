"""Radio query latency, index memory and approximate recall at 10k and 100k songs (2048-d).

Run: ``.venv/bin/python bench/radio.py [--sizes 10000 100000] [--queries 200]``

Random vectors stand in for song embeddings. Two kinds are measured: clustered (songs gather
around styles, as real embeddings do) and isotropic (no structure at all: the hardest case for any
approximate index). The index kind is what ``SimilarityIndex.build(kind="auto")`` chooses; the
exact flat index is measured as well for comparison.
"""

from __future__ import annotations

import argparse
import os
import resource
import sys
import time
from pathlib import Path

import faiss
import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
from musicrec_desktop.store.index import SimilarityIndex, exact_top_k, recall_at_k, song_id  # noqa: E402

DIM = 2048  # the ResNet-50 encoder's embedding size


def vectors(n: int, kind: str, rng: np.random.Generator) -> np.ndarray:
    """N x DIM float32 unit rows; "clustered": 1 style per ~50 songs, noise 1.5x the style (cosine
    ~0.3 within a style, ~0 between styles)."""
    if kind == "clustered":
        centres = rng.standard_normal((max(1, n // 50), DIM), dtype=np.float32)
        x = centres[rng.integers(0, len(centres), n)] + 1.5 * rng.standard_normal((n, DIM), dtype=np.float32)
    else:
        x = rng.standard_normal((n, DIM), dtype=np.float32)
    faiss.normalize_L2(x)
    return x


def latency_ms(index: SimilarityIndex, queries: np.ndarray) -> tuple[float, float]:
    """(median, 95th percentile) milliseconds of one radio query (k=50) each."""
    times = []
    for q in queries:
        start = time.perf_counter()
        index.search(q, 50)
        times.append((time.perf_counter() - start) * 1000)
    return float(np.median(times)), float(np.percentile(times, 95))


def measure(n: int, kind: str, n_queries: int) -> None:
    rng = np.random.default_rng(0)
    x = vectors(n, kind, rng)
    keys = [f"file:///music/{i:06d}.flac" for i in range(n)]
    queries = x[rng.choice(n, n_queries, replace=False)]
    ids = np.array([song_id(k) for k in keys])
    exact_ids = ids[exact_top_k(x, queries, 10)]
    for choice in ("exact", "auto"):
        start = time.perf_counter()
        index = SimilarityIndex.build("bench", keys, x, kind=choice)
        build_s = time.perf_counter() - start
        if choice == "auto" and index.kind == "exact":
            print(f"  auto chose exact at {n} songs (same figures as above)")
            continue
        p50, p95 = latency_ms(index, queries)
        found = np.array([[song_id(nb.key) for nb in index.search(q, 10)] for q in queries])
        recall = recall_at_k(found, exact_ids)
        extra = f" nprobe={index.nprobe}" if index.kind == "ivf" else ""
        print(f"  {choice:5s} -> {index.kind:5s}{extra}: query p50 {p50:6.2f} ms, p95 {p95:6.2f} ms, "
              f"recall@10 {recall:.3f}, index {index.memory_bytes / 2**20:7.1f} MiB, build {build_s:5.1f} s")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", type=int, nargs="+", default=[10_000, 100_000])
    parser.add_argument("--queries", type=int, default=200)
    parser.add_argument("--kinds", nargs="+", default=["clustered", "isotropic"])
    args = parser.parse_args()
    print(f"faiss {faiss.__version__}, {os.cpu_count()} cores, {faiss.omp_get_max_threads()} threads, "
          f"dim {DIM}, k=50 per query")
    for n in args.sizes:
        for kind in args.kinds:
            print(f"{n} songs, {kind} vectors:")
            measure(n, kind, args.queries)
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    print(f"peak process memory {peak:.0f} MiB")


if __name__ == "__main__":
    main()
