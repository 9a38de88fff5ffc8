import numpy as np
import pytest

from musicrec_desktop.store.embeddings import EmbeddingStore
from musicrec_desktop.store.index import SimilarityIndex, choose_kind, exact_top_k, recall_at_k, song_id


def clustered(n, dim=64, seed=0):
    rng = np.random.default_rng(seed)
    centres = rng.standard_normal((n // 20, dim))
    x = (centres[rng.integers(0, len(centres), n)] + 0.7 * rng.standard_normal((n, dim))).astype(np.float32)
    return x / np.linalg.norm(x, axis=1, keepdims=True)


def test_exact_search_add_remove_save_load(tmp_path):
    x = clustered(200)
    keys = [f"file:///m/{i}%20a.flac" for i in range(200)]
    index = SimilarityIndex.build("m1", keys, x)
    assert index.kind == "exact" and len(index) == 200
    found = index.search(x[5], 3)
    assert found[0].key == keys[5] and found[0].similarity == pytest.approx(1.0, abs=1e-5)
    assert [n.key for n in index.search(x[5], 3, exclude={keys[5]})][0] != keys[5]
    assert index.remove([keys[5], "unknown"]) == 1 and keys[5] not in index
    assert all(n.key != keys[5] for n in index.search(x[5], 10))
    index.add([keys[5]], x[5:6])
    index.add([keys[5]], x[5:6])  # adding twice replaces, never duplicates
    assert len(index) == 200
    index.save(tmp_path / "sim.faiss")
    again = SimilarityIndex.load(tmp_path / "sim.faiss")
    assert again.keys == set(keys) and again.search(x[7], 1)[0].key == keys[7]
    assert again.memory_bytes >= 200 * 64 * 4


def test_ivf_keeps_recall_and_updates_incrementally():
    x = clustered(6000)
    keys = [f"k{i}" for i in range(6000)]
    index = SimilarityIndex.build("m1", keys, x, kind="ivf")
    assert index.kind == "ivf" and index.recall >= 0.95 and index.nprobe < 64
    queries = x[::100]
    exact = np.array([[song_id(keys[r]) for r in row] for row in exact_top_k(x, queries, 10)])
    found = np.array([[song_id(n.key) for n in index.search(q, 10)] for q in queries])
    assert recall_at_k(found, exact) >= 0.95
    index.remove(keys[:100])
    assert len(index) == 5900 and all(n.key not in keys[:100] for n in index.search(x[0], 20))


def test_choice_follows_the_measured_cost():
    assert choose_kind(1_000, 2048) == "exact"
    assert choose_kind(15_000, 2048) == "exact"  # ~4.6 ms estimated: within half the 10 ms budget
    assert choose_kind(20_000, 2048) == "ivf"  # ~6.1 ms
    assert choose_kind(100_000, 2048) == "ivf"


def test_open_syncs_with_the_embedding_store(tmp_path):
    x = clustered(100, dim=16)
    with EmbeddingStore(tmp_path / "e.sqlite") as store:
        store.register_model("m1", 16)
        store.put("m1", [(f"k{i}", x[i]) for i in range(80)])
        store.set_current("m1")
        path = tmp_path / "state" / "sim.faiss"
        index = SimilarityIndex.open(path, store)
        assert len(index) == 80
        store.put("m1", [(f"k{i}", x[i]) for i in range(80, 100)])
        store.remove(["k0", "k1"])
        index = SimilarityIndex.open(path, store)
        assert len(index) == 98 and "k0" not in index and "k99" in index
        assert SimilarityIndex.load(path).keys == index.keys  # the update was saved
        store.register_model("m2", 16)  # a new encoder: the index is rebuilt for it
        store.put("m2", [("only", x[0])])
        store.set_current("m2")
        assert SimilarityIndex.open(path, store).keys == {"only"}
