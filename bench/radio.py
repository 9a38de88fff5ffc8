"""Radio latency, index memory and approximate recall at 10k and 100k songs (2048-d).

Run: ``.venv/bin/python bench/radio.py [--sizes 10000 100000] [--kinds clustered isotropic]``

Random vectors stand in for song embeddings. Two kinds can be measured: clustered (songs gather
around styles, as real embeddings do) and isotropic (no structure at all: the hardest case for any
approximate index: IVF and HNSW are both built and both fail, so it runs at 10k only unless asked).
For each, the index is what ``SimilarityIndex.build`` measures and chooses; the bench prints those
measurements, checks the recall of the chosen index itself against brute force, times single
index queries and then full radio batches (``radio.next_batch``: neighbours blended with a trained
rating model's predictions, MMR, the artist gap, a session continuing over several batches).
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
from musicrec_desktop.library.song import Song  # noqa: E402
from musicrec_desktop.recommend import rating  # noqa: E402
from musicrec_desktop.recommend.radio import RadioSession, next_batch  # noqa: E402
from musicrec_desktop.recommend.ranking import Ranker  # noqa: E402
from musicrec_desktop.recommend.table import SongTable  # noqa: E402
from musicrec_desktop.settings import Settings  # noqa: E402
from musicrec_desktop.store.similarity import SimilarityIndex, song_id  # noqa: E402
from musicrec_desktop.store.similarity_tuning import QUERY_K, recall_at_k  # noqa: E402

DIM = 2048  # the ResNet-50 encoder's embedding size
SONGS_PER_STYLE = 50
SONGS_PER_ARTIST = 10
RATED = 300  # songs with a rating, so the radio blends in a real rating model
RADIO_BATCH = 5  # the companion's batch (app/player.py)
BATCHES_PER_SESSION = 4
SESSIONS = 25
QUERIES = 100


def vectors(n: int, kind: str, rng: np.random.Generator) -> np.ndarray:
    """N x DIM float32 unit rows; "clustered": one style per SONGS_PER_STYLE songs, noise 1.5x the
    style (cosine ~0.3 within a style, ~0 between styles)."""
    x = rng.standard_normal((n, DIM), dtype=np.float32)
    if kind == "clustered":
        x *= 1.5
        x += rng.standard_normal((max(1, n // SONGS_PER_STYLE), DIM), dtype=np.float32)[
            rng.integers(0, max(1, n // SONGS_PER_STYLE), n)]
    faiss.normalize_L2(x)
    return x


def song_table(x: np.ndarray, rng: np.random.Generator) -> SongTable:
    """Songs with artists and RATED ratings that follow the first embedding dimension (a taste)."""
    n = len(x)
    rated = set(rng.choice(n, RATED, replace=False).tolist())
    songs = []
    for i in range(n):
        url = f"file:///music/{i // SONGS_PER_ARTIST:05d}/{i:06d}.flac"
        stars = float(np.clip(round(5 * (0.6 + 8 * x[i, 0])) / 5, 0.2, 1.0)) if i in rated else None
        songs.append(Song(key=url, url=url, path=Path(url[7:]), title=f"Song {i}",
                          artist=f"Artist {i // SONGS_PER_ARTIST}", rating=stars,
                          playcount=int(rng.integers(0, 4))))
    return SongTable("bench", songs, x)


def percentiles(times_ms: list[float]) -> str:
    return f"p50 {np.median(times_ms):6.2f} ms, p95 {np.percentile(times_ms, 95):6.2f} ms"


def index_query_ms(index: SimilarityIndex, queries: np.ndarray) -> list[float]:
    times = []
    for q in queries:
        start = time.perf_counter()
        index.search(q, QUERY_K)
        times.append((time.perf_counter() - start) * 1000)
    return times


def radio_batch_ms(ranker: Ranker, index: SimilarityIndex, seeds: np.ndarray) -> list[float]:
    """One time per batch: SESSIONS sessions of BATCHES_PER_SESSION batches each."""
    times = []
    for seed in seeds.tolist():
        session = RadioSession(ranker.table.songs[seed].key)
        for _ in range(BATCHES_PER_SESSION):
            start = time.perf_counter()
            # the trained model's scores stand for a session's (what a long-term recommender gives)
            batch = next_batch(ranker, index, seed, RADIO_BATCH, session, ranker.predicted)
            times.append((time.perf_counter() - start) * 1000)
            assert len(batch) == RADIO_BATCH, f"radio from song {seed} ran dry"
    return times


def measure(n: int, kind: str) -> None:
    rng = np.random.default_rng(0)
    x = vectors(n, kind, rng)
    keys = [f"file:///music/{i // SONGS_PER_ARTIST:05d}/{i:06d}.flac" for i in range(n)]
    start = time.perf_counter()
    index = SimilarityIndex.build("bench", keys, x)
    build_s = time.perf_counter() - start
    for m in index.measured:
        param = {"ivf": f" nprobe {m.param}", "hnsw": f" efSearch {m.param}"}.get(m.kind, "")
        verdict = "" if m.usable else " (does not reach the recall)"
        print(f"  measured {m.kind:5s}{param}: query {m.query_ms:6.2f} ms, recall@10 {m.recall:.3f}{verdict}")
    queries = x[rng.choice(n, QUERIES, replace=False)]
    ids = np.array([song_id(k) for k in keys])
    truth = ids[np.argsort(-(queries @ x.T), axis=1)[:, :10]]
    found = np.array([[song_id(nb.key) for nb in index.search(q, 10)] for q in queries])
    print(f"  chose {index.kind}: recall@10 {recall_at_k(found, truth):.3f} on {QUERIES} other queries, "
          f"index {index.memory_bytes / 2**20:.1f} MiB, build {build_s:.1f} s")
    print(f"  index query (k={QUERY_K}): {percentiles(index_query_ms(index, queries))}")
    table = song_table(x, rng)
    model, _ = rating.train(table, rating.RatingConfig(), cross_validate=False)
    ranker = Ranker(table, model, Settings(recent_days=0))
    seeds = rng.choice(n, SESSIONS, replace=False)
    print(f"  radio batch of {RADIO_BATCH} (rating blend, MMR, {BATCHES_PER_SESSION} batches per session): "
          f"{percentiles(radio_batch_ms(ranker, index, seeds))}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", type=int, nargs="+", default=[10_000, 100_000])
    parser.add_argument("--kinds", nargs="+", choices=["clustered", "isotropic"],
                        help="vector kinds (default: both at 10k songs, clustered above)")
    args = parser.parse_args()
    print(f"faiss {faiss.__version__}, {os.cpu_count()} cores, {faiss.omp_get_max_threads()} threads, "
          f"dim {DIM}")
    started = time.perf_counter()
    for n in args.sizes:
        for kind in args.kinds or (["clustered", "isotropic"] if n <= 10_000 else ["clustered"]):
            print(f"{n} songs, {kind} vectors:")
            measure(n, kind)
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    print(f"peak process memory {peak:.0f} MiB, {time.perf_counter() - started:.0f} s in all")


if __name__ == "__main__":
    main()
