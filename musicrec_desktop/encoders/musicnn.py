"""Backend ``musicnn``: the pretrained MusiCNN (Million Song Dataset tags), no training needed.

A chunk's vector is the mean of MusiCNN's 200-d penultimate layer over its 3 s patches (every
fifth: ``PATCH_STRIDE``); its 50 tag probabilities (genre and mood words, ``musicnn.tags``) are
kept as the extra output "tags", so genre playlists, the map and text search can use them for
untagged songs. The weights
come from the musicnn 0.1.0 wheel (``musicnn.package``), read without TensorFlow.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np

from musicrec_desktop.encoders.base import Embedded
from musicrec_desktop.errors import NotReadyError
from musicrec_desktop.paths import DataDirs
from musicrec_desktop.settings import Settings

PORT_VERSION = 1  # raise when the port's output changes, so old vectors are not mixed with new
# Every fifth 3 s patch of a chunk (2 of its 10): on the dev library (199 songs, 8 sources) the
# same-source precision@10 was 0.461 with them, 0.460 with every third, 0.452 with all ten and
# 0.439 with every tenth; 0.33 s of one core a song against 0.66 s with every third
# (each stride embedding the same cached chunks; leave-one-out P@10 by folder, bench/quality.py's).
PATCH_STRIDE = 5


class MusicnnBackend:
    name = "musicnn"
    title = "Pretrained MusiCNN (Million Song Dataset)"
    needs_training = False

    def __init__(self, settings: Settings, dirs: DataDirs) -> None:
        self.settings = settings
        self._embedder: Any = None

    def unavailable(self) -> str | None:
        from musicrec_desktop.musicnn.package import checkpoint_prefix

        try:
            checkpoint_prefix()
        except NotReadyError as exc:
            return str(exc)
        return None

    def load(self, device: str) -> None:
        from musicrec_desktop.model.device import resolve_device
        from musicrec_desktop.musicnn.embedder import MusiCNNEmbedder

        self._embedder = MusiCNNEmbedder(resolve_device(self.settings.device if device == "auto" else device),
                                         patch_stride=PATCH_STRIDE)

    @property
    def model_id(self) -> str:
        from musicrec_desktop.musicnn.package import MODEL, VERSION

        return f"musicnn-{VERSION}-{MODEL}-port{PORT_VERSION}-every{PATCH_STRIDE}"

    @property
    def dimension(self) -> int:
        from musicrec_desktop.musicnn.network import EMBEDDING_DIM

        return EMBEDDING_DIM

    @property
    def device(self) -> str:
        return str(self._embedder.device)

    def disk_bytes(self) -> int | None:
        """The checkpoint files it reads (the rest of the wheel is unused)."""
        from musicrec_desktop.musicnn.package import checkpoint_prefix

        try:
            prefix = checkpoint_prefix()
        except NotReadyError:
            return None
        return sum(Path(prefix + s).stat().st_size for s in (".index", ".data-00000-of-00001"))

    def describe(self) -> str:
        return "MusiCNN MSD_musicnn (musicnn 0.1.0, ISC licence), 200-d penultimate layer, 50 tags"

    def embed(self, waves: Sequence[np.ndarray]) -> Embedded:
        features, tags = self._embedder(waves)
        return Embedded(features, {"tags": tags})
