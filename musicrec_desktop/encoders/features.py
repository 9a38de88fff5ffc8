"""What the hand-made feature backends (``dsp``, ``mfcc``) share: no weights, the CPU, and
features of different scales standardised over the library once every song is in."""

from __future__ import annotations

import numpy as np

from musicrec_desktop.paths import DataDirs
from musicrec_desktop.settings import Settings
from musicrec_desktop.store.embeddings import EmbeddingStore

RAW = "raw"  # the extra output: unstandardised song features, kept for ``refit``


class FeatureBackend:
    """Base of a backend whose vectors are computed features: subclasses set ``name``, ``title``,
    ``DIMENSION`` and ``model_id``, and write ``embed`` (returning the features as the extra RAW
    too)."""

    needs_training = False
    DIMENSION = 0

    def __init__(self, settings: Settings, dirs: DataDirs) -> None:
        self._device = "cpu"

    def unavailable(self) -> str | None:
        return None

    def load(self, device: str) -> None:
        self._device = "cpu"  # numpy work: a GPU would not pay its transfers

    @property
    def dimension(self) -> int:
        return self.DIMENSION

    @property
    def device(self) -> str:
        return self._device

    def disk_bytes(self) -> int:
        return 0  # no weights

    def refit(self, store: EmbeddingStore, model_id: str) -> None:
        standardise(store, model_id)


def standardise(store: EmbeddingStore, model_id: str) -> None:
    """Rewrites every song's vector as its raw features (the extra ``RAW``) z-scored over all the
    model's songs: features of different scales then count alike in a cosine."""
    raw = store.load_extras(model_id, RAW)
    if not raw:
        return
    keys = sorted(raw)
    matrix = np.stack([raw[k] for k in keys]).astype(np.float64)
    std = matrix.std(axis=0)
    z = (matrix - matrix.mean(axis=0)) / np.where(std > 1e-9, std, 1.0)
    store.put(model_id, zip(keys, z.astype(np.float32), strict=True))
