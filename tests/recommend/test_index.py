import numpy as np
import pytest

from musicrec_desktop.store.embeddings import EmbeddingStore
from musicrec_desktop.store.similarity import SimilarityIndex, song_id
from musicrec_desktop.store.similarity_tuning import CALIBRATION_RECALL, Measurement, choose, recall_at_k


def clustered(n, dim=64, seed=0):
    rng = np.random.default_rng(seed)
    centres = rng.standard_normal((n // 20, dim))
    x = (centres[rng.integers(0, len(centres), n)] + 0.7 * rng.standard_normal((n, dim))).astype(np.float32)
    return x / np.linalg.norm(x, axis=1, keepdims=True)


def isotropic(n, dim=64, seed=0):
    x = np.random.default_rng(seed).standard_normal((n, dim)).astype(np.float32)
    return x / np.linalg.norm(x, axis=1, keepdims=True)


def brute_force_ids(x, keys, queries, k=10):
    """The reference: every similarity computed, fully sorted."""
    order = np.argsort(-(queries @ x.T), axis=1)[:, :k]
    return np.array([[song_id(keys[r]) for r in row] for row in order])


def found_ids(index, queries, k=10):
    return np.array([[song_id(n.key) for n in index.search(q, k)] for q in queries])


def test_exact_search_add_remove_save_load(tmp_path):
    x = clustered(200)
    keys = [f"file:///m/{i}%20a.flac" for i in range(200)]
    index = SimilarityIndex.build("m1", keys, x)
    assert index.kind == "exact" and len(index) == 200
    assert [m.kind for m in index.measured] == ["exact"]  # 200 songs: exact answers in well under 1 ms
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
    assert index.kind == "ivf" and index.measurement.recall >= CALIBRATION_RECALL
    assert 1 <= index.measurement.param < 64  # clustered songs: a few cells hold the neighbours
    queries = x[::100]
    assert recall_at_k(found_ids(index, queries), brute_force_ids(x, keys, queries)) >= 0.95
    index.remove(keys[:100])
    assert len(index) == 5900 and all(n.key not in keys[:100] for n in index.search(x[0], 20))


def test_hnsw_removes_by_tombstone_re_adds_and_round_trips(tmp_path):
    x = isotropic(2000, dim=32)
    keys = [f"k{i}" for i in range(2000)]
    index = SimilarityIndex.build("m1", keys, x, kind="hnsw")
    assert index.kind == "hnsw" and index.measurement.recall >= CALIBRATION_RECALL
    queries = x[::50]
    assert recall_at_k(found_ids(index, queries), brute_force_ids(x, keys, queries)) >= 0.95
    # the graph cannot delete: removed songs stay in it but are never returned
    assert index.remove(keys[:50]) == 50 and len(index) == 1950
    assert all(n.key not in keys[:50] for q in x[:50] for n in index.search(q, 10))
    assert len(index.search(x[0], 1950)) == 1950
    index.save(tmp_path / "sim.faiss")
    again = SimilarityIndex.load(tmp_path / "sim.faiss")
    assert len(again) == 1950 and keys[0] not in again
    # a removed song coming back gets its new vector, not the one still in the graph
    again.add([keys[0]], x[60:61])
    assert {n.key for n in again.search(x[60], 2)} == {keys[0], keys[60]}
    assert len(again) == 1951 and again.search(x[0], 1)[0].similarity < 0.99  # the old vector is gone


def test_choose_takes_the_fastest_index_that_keeps_recall():
    exact = Measurement("exact", 30.0, 1.0)
    ivf = Measurement("ivf", 2.0, 0.98, param=8)
    hnsw = Measurement("hnsw", 1.0, 0.99, param=32)
    assert choose([exact, ivf, hnsw]) == hnsw
    assert choose([exact, ivf, Measurement("hnsw", 1.0, 0.90, 4096, usable=False)]) == ivf
    # approximate is only worth it when it is at least twice as fast as exact
    assert choose([Measurement("exact", 3.0, 1.0), ivf]) == Measurement("exact", 3.0, 1.0)
    assert choose([Measurement("exact", 4.0, 1.0), ivf]) == ivf
    assert choose([exact, Measurement("ivf", 1.0, 0.80, 16, usable=False)]) == exact


def test_automatic_choice_is_the_one_its_measurements_call_for(tmp_path):
    x = clustered(3000)
    keys = [f"k{i}" for i in range(3000)]
    # approx_worth_ms=0: try approximate although exact search of 3000 short vectors is fast
    index = SimilarityIndex.build("m1", keys, x, approx_worth_ms=0.0)
    kinds = [m.kind for m in index.measured]
    assert kinds[:2] == ["exact", "ivf"]
    assert index.kind == choose(index.measured).kind
    assert all(m.query_ms > 0 for m in index.measured)
    info = index.info()
    assert info["kind"] == index.kind and info["songs"] == 3000 and info["dim"] == 64
    assert info["memory_bytes"] == index.memory_bytes >= 3000 * 64 * 4
    assert info["recall_at_10"] == index.measurement.recall and info["calibrated_songs"] == 3000
    assert [m["kind"] for m in info["measured"]] == kinds
    path = tmp_path / "sim.faiss"
    index.save(path)
    assert SimilarityIndex.read_info(path) == info  # what doctor can show without loading the index


def test_vectors_without_structure_try_hnsw_instead_of_ivf():
    x = isotropic(3000)
    keys = [f"k{i}" for i in range(3000)]
    index = SimilarityIndex.build("m1", keys, x, approx_worth_ms=0.0)
    by_kind = {m.kind: m for m in index.measured}
    assert list(by_kind) == ["exact", "ivf", "hnsw"]
    # no clusters: a quarter of the IVF cells cannot hold the ten nearest songs
    assert not by_kind["ivf"].usable and by_kind["ivf"].recall < CALIBRATION_RECALL
    assert index.kind == choose(index.measured).kind


def test_grown_approximate_index_is_recalibrated(tmp_path):
    x = clustered(4000, dim=32)
    keys = [f"k{i:04d}" for i in range(4000)]
    path = tmp_path / "sim.faiss"
    with EmbeddingStore(tmp_path / "e.sqlite") as store:
        store.register_model("m1", 32)
        store.put("m1", zip(keys[:3000], x[:3000], strict=True))
        store.set_current("m1")
        SimilarityIndex.build("m1", keys[:3000], x[:3000], kind="ivf").save(path)
        store.put("m1", zip(keys[3000:3500], x[3000:3500], strict=True))  # +17 %: not yet
        index = SimilarityIndex.open(path, store)
        assert len(index) == 3500 and index.calibrated_songs == 3000
        store.put("m1", zip(keys[3500:], x[3500:], strict=True))  # +33 % since calibration
        index = SimilarityIndex.open(path, store)
        assert len(index) == 4000 and index.calibrated_songs == 4000
        assert index.measurement.recall >= CALIBRATION_RECALL
        assert SimilarityIndex.load(path).calibrated_songs == 4000  # saved with the index
        queries = x[::80]
        assert recall_at_k(found_ids(index, queries), brute_force_ids(x, keys, queries)) >= 0.95


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
