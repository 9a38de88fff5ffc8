"""Every song's predicted rating, kept beside the library for the library map.

The recommend stage writes it with the model loaded; the map reads it with numpy alone, so that
the tray's windows never load the model (nor torch) to show it.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np

from musicrec_desktop.files import atomic_write
from musicrec_desktop.paths import DataDirs


def predictions_path(dirs: DataDirs) -> Path:
    return dirs.state / "predicted_ratings.npz"


def save_predictions(dirs: DataDirs, keys: list[str], ratings: np.ndarray | None) -> None:
    """``ratings``: N float 0..1 for the songs ``keys``; None (a recommender that predicts no
    ratings) removes the file, so the map never shows an older model's predictions."""
    path = predictions_path(dirs)
    if ratings is None:
        path.unlink(missing_ok=True)
        return
    with atomic_write(path) as tmp, open(tmp, "wb") as fh:
        np.savez(fh, keys=np.array(keys, dtype=str), ratings=np.asarray(ratings, dtype=np.float32))


def read_predictions(dirs: DataDirs) -> dict[str, float]:
    """song key -> predicted rating 0..1; empty when none were saved."""
    path = predictions_path(dirs)
    if not path.exists():
        return {}
    with np.load(path, allow_pickle=False) as data:
        return dict(zip(data["keys"].tolist(), data["ratings"].tolist(), strict=True))
