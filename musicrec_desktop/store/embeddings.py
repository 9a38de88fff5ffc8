"""Song embeddings in SQLite, tagged with the encoder that made them.

Vectors of different encoders are never mixed: every read names the model id, and the store
remembers which model is current for each encoder backend (``musicrec_desktop.encoders``). A
backend's extra per-song outputs (tag scores, say) are kept beside its vectors.
"""

from __future__ import annotations

import sqlite3
import time
from collections.abc import Iterable, Mapping
from pathlib import Path

import numpy as np

from musicrec_desktop.errors import NotReadyError
from musicrec_desktop.plugpoints import AUTO, chosen_encoder

SCHEMA = """
CREATE TABLE IF NOT EXISTS models (
    model_id TEXT PRIMARY KEY,
    dim INTEGER NOT NULL,
    created REAL NOT NULL,
    description TEXT NOT NULL DEFAULT ''
);
CREATE TABLE IF NOT EXISTS embeddings (
    song_key TEXT NOT NULL,
    model_id TEXT NOT NULL REFERENCES models(model_id) ON DELETE CASCADE,
    vector BLOB NOT NULL,
    PRIMARY KEY (song_key, model_id)
);
CREATE TABLE IF NOT EXISTS meta (key TEXT PRIMARY KEY, value TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS extras (
    song_key TEXT NOT NULL,
    model_id TEXT NOT NULL REFERENCES models(model_id) ON DELETE CASCADE,
    name TEXT NOT NULL,
    vector BLOB NOT NULL,
    PRIMARY KEY (song_key, model_id, name)
);
CREATE TABLE IF NOT EXISTS measurements (
    model_id TEXT NOT NULL REFERENCES models(model_id) ON DELETE CASCADE,
    name TEXT NOT NULL,
    value REAL,
    measured REAL NOT NULL,
    PRIMARY KEY (model_id, name)
);
"""

LEGACY_CURRENT = "current_model"  # before backends: the one encoder's model (only moco existed)
AUTO_ENCODER = "auto_encoder"  # the backend the ``auto`` setting stands for, chosen by measurement
AUTO_RECOMMENDER = "auto_recommender"  # the recommender ``auto`` stands for, chosen by the study


class EmbeddingStore:
    """``store.put(model_id, [(key, vector)])``; ``keys, matrix = store.load(model_id)``."""

    def __init__(self, path: Path) -> None:
        path.parent.mkdir(parents=True, exist_ok=True)
        self.path = path
        self._db = sqlite3.connect(path, timeout=30)
        self._db.execute("PRAGMA journal_mode=WAL")
        self._db.execute("PRAGMA foreign_keys=ON")
        self._db.executescript(SCHEMA)

    def close(self) -> None:
        self._db.close()

    def __enter__(self) -> EmbeddingStore:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def register_model(self, model_id: str, dim: int, description: str = "") -> None:
        with self._db:
            self._db.execute(
                "INSERT OR IGNORE INTO models(model_id, dim, created, description) VALUES (?,?,?,?)",
                (model_id, dim, time.time(), description),
            )

    def set_current(self, model_id: str, backend: str = "moco") -> None:
        """``model_id`` is now the current model of ``backend`` (and the latest of all)."""
        with self._db:
            self._db.execute("INSERT OR REPLACE INTO meta VALUES (?, ?)",
                             (f"current_model:{backend}", model_id))
            self._db.execute("INSERT OR REPLACE INTO meta VALUES (?, ?)", (LEGACY_CURRENT, model_id))

    def current_model(self, backend: str | None = None) -> str | None:
        """The current model of ``backend``; without one, the model embedded last by any backend."""
        if backend is None:
            return self._meta(LEGACY_CURRENT)
        found = self._meta(f"current_model:{backend}")
        if found is None and backend == "moco" and not self._db.execute(
                "SELECT 1 FROM meta WHERE key LIKE 'current_model:%'").fetchone():
            return self._meta(LEGACY_CURRENT)  # a store written before there were backends
        return found

    def chosen_model(self, encoder: str) -> str:
        """The model id of the latest complete vectors of the backend the ``encoder`` setting
        chooses (under ``auto``, the one decided here). ``NotReadyError`` naming the command when
        that backend has embedded nothing yet."""
        decided = self.auto_encoder()
        name = chosen_encoder(encoder, decided)
        model_id = self.current_model(name)
        if model_id is None and encoder == AUTO and decided is None:
            # Nothing decided for ``auto`` yet, as in a store written before there were several
            # backends: the vectors embedded last serve until a backend is chosen.
            model_id = self.current_model()
        if model_id is None:
            raise NotReadyError(f"{self.path}: no song embeddings of the {name} encoder yet; "
                                "run `musicrec embed` first")
        return model_id

    def auto_encoder(self) -> str | None:
        """The backend the ``auto`` encoder setting stands for here (``encoders.choice``)."""
        return self._meta(AUTO_ENCODER)

    def set_auto_encoder(self, backend: str) -> None:
        with self._db:
            self._db.execute("INSERT OR REPLACE INTO meta VALUES (?, ?)", (AUTO_ENCODER, backend))

    def auto_recommender(self) -> str | None:
        """The recommender the ``auto`` recommender setting stands for here: the best on the
        validation sessions of the study (``recommend/study.py``), measured on these vectors."""
        return self._meta(AUTO_RECOMMENDER)

    def set_auto_recommender(self, name: str) -> None:
        with self._db:
            self._db.execute("INSERT OR REPLACE INTO meta VALUES (?, ?)", (AUTO_RECOMMENDER, name))

    def _meta(self, key: str) -> str | None:
        row = self._db.execute("SELECT value FROM meta WHERE key=?", (key,)).fetchone()
        return row[0] if row else None

    def dim(self, model_id: str) -> int:
        row = self._db.execute("SELECT dim FROM models WHERE model_id=?", (model_id,)).fetchone()
        if row is None:
            raise KeyError(model_id)
        return int(row[0])

    def put(self, model_id: str, items: Iterable[tuple[str, np.ndarray]]) -> int:
        """Stores float32 vectors of the model's dimension; returns how many were written."""
        dim = self.dim(model_id)
        rows = []
        for key, vector in items:
            v = np.asarray(vector, dtype=np.float32).reshape(-1)
            if v.shape[0] != dim:
                raise ValueError(f"{key}: vector of {v.shape[0]} values, model {model_id} has {dim}")
            rows.append((key, model_id, v.tobytes()))
        with self._db:
            self._db.executemany("INSERT OR REPLACE INTO embeddings VALUES (?,?,?)", rows)
        return len(rows)

    def put_extras(self, model_id: str, name: str, items: Iterable[tuple[str, np.ndarray]]) -> int:
        """Stores a backend's extra per-song output ``name`` (float32 vectors of any length)."""
        rows = [(key, model_id, name, np.asarray(v, dtype=np.float32).reshape(-1).tobytes())
                for key, v in items]
        with self._db:
            self._db.executemany("INSERT OR REPLACE INTO extras VALUES (?,?,?,?)", rows)
        return len(rows)

    def load_extras(self, model_id: str, name: str) -> dict[str, np.ndarray]:
        """song key -> the extra output ``name`` of the model's backend."""
        cur = self._db.execute("SELECT song_key, vector FROM extras WHERE model_id=? AND name=?",
                               (model_id, name))
        return {key: np.frombuffer(blob, dtype=np.float32) for key, blob in cur}

    def put_measurements(self, model_id: str, figures: Mapping[str, float | None]) -> None:
        """Keeps figures measured on the model's vectors here (speed, quality); None: not measurable."""
        now = time.time()
        with self._db:
            self._db.executemany("INSERT OR REPLACE INTO measurements VALUES (?,?,?,?)",
                                 [(model_id, name, value, now) for name, value in figures.items()])

    def measurements(self, model_id: str) -> dict[str, float | None]:
        cur = self._db.execute("SELECT name, value FROM measurements WHERE model_id=?", (model_id,))
        return dict(cur.fetchall())

    def keys(self, model_id: str) -> set[str]:
        cur = self._db.execute("SELECT song_key FROM embeddings WHERE model_id=?", (model_id,))
        return {r[0] for r in cur}

    def load(self, model_id: str, keys: Iterable[str] | None = None, *,
             as_stored: bool = False) -> tuple[list[str], np.ndarray]:
        """(keys, N x D float32 matrix) for the model, in key order; only ``keys`` when given.
        ``as_stored``: the vectors as the encoder gave them (for checks of the encoder itself).

        The vectors are centred on the mean of all the model's songs and L2-normalised, which is
        what every similarity in the app compares: an encoder's vectors all lie in one narrow cone
        (means of post-ReLU features have no negative entry, so every raw cosine is >= 0) and the
        shared part would dominate each cosine. Every reader goes through here, so radio, the
        index, the rating model and the map all see the same vectors.
        """
        dim = self.dim(model_id)
        cur = self._db.execute(
            "SELECT song_key, vector FROM embeddings WHERE model_id=? ORDER BY song_key", (model_id,)
        )
        wanted = set(keys) if keys is not None else None
        out_keys, vectors = [], []
        total, count = np.zeros(dim, dtype=np.float64), 0
        for key, blob in cur:
            vector = np.frombuffer(blob, dtype=np.float32)
            total += vector
            count += 1
            if wanted is None or key in wanted:
                out_keys.append(key)
                vectors.append(vector)
        if not vectors:
            return out_keys, np.zeros((0, dim), dtype=np.float32)
        if as_stored:
            return out_keys, np.stack(vectors)
        return out_keys, centred(np.stack(vectors), total / count if count > 1 else None)

    def remove(self, keys: Iterable[str]) -> int:
        """Drops the songs' vectors for every model (songs gone from the library)."""
        keys = list(keys)
        with self._db:
            cur = self._db.executemany("DELETE FROM embeddings WHERE song_key=?", [(k,) for k in keys])
            removed = cur.rowcount
            self._db.executemany("DELETE FROM extras WHERE song_key=?", [(k,) for k in keys])
        return removed

    def drop_model(self, model_id: str) -> None:
        with self._db:
            self._db.execute("DELETE FROM embeddings WHERE model_id=?", (model_id,))
            self._db.execute("DELETE FROM extras WHERE model_id=?", (model_id,))
            self._db.execute("DELETE FROM measurements WHERE model_id=?", (model_id,))
            self._db.execute("DELETE FROM models WHERE model_id=?", (model_id,))


def centred(vectors: np.ndarray, mean: np.ndarray | None) -> np.ndarray:
    """``vectors - mean``, each row L2-normalised (float32); only normalised when ``mean`` is None."""
    out = vectors.astype(np.float64) - (0.0 if mean is None else mean)
    norms = np.linalg.norm(out, axis=1, keepdims=True)
    return (out / np.maximum(norms, 1e-12)).astype(np.float32)
