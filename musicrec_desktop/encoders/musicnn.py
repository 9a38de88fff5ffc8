"""Backend ``musicnn``: the pretrained MusiCNN (Million Song Dataset tags), no training needed.

It listens to ``WINDOWS`` windows of 3 s spread over the song's middle (``listening_windows``),
decoded straight from the file (no chunk cache); a song's vector is the mean of MusiCNN's 200-d
penultimate layer over them (over every whole 3 s patch of the waves it is handed otherwise). Its
50 tag probabilities (genre and mood words, ``musicnn.tags``) are kept as the extra output "tags",
so genre playlists, the map and text search can use them for untagged songs. The weights come from
the musicnn 0.1.0 wheel (``musicnn.package``), read without TensorFlow.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np

from musicrec_desktop.audio.chunks import MIN_CHUNK_SECONDS, ChunkSpan
from musicrec_desktop.constants import EDGE_SKIP_FRACTION
from musicrec_desktop.encoders.base import Embedded
from musicrec_desktop.errors import NotReadyError
from musicrec_desktop.paths import DataDirs
from musicrec_desktop.settings import Settings

PORT_VERSION = 1  # raise when the port's output changes, so old vectors are not mixed with new
# Four windows keep the quality and make a first run faster than bliss-audio. `python
# bench/quality.py --music DIR` on the dev library (199 songs, 8 games) gives same-source
# precision@10 0.439 with them against bliss's 0.311, and 8.9 songs/s against 5.6. A one-off
# comparison (not kept) of the window count on the same songs, CPU seconds a song on one core:
# 4 windows 0.442 in 0.03 + 0.19 s; 6 windows 0.435; 8 windows 0.461 in 0.05 + 0.43 s; two
# windows of each cached 30 s chunk (8, the former default) 0.443.
WINDOWS = 4
WINDOW_S = 3.05  # one 3 s patch: 187 frames of 256 samples at 16 kHz span 2.99 s (+ a frame)


def listening_windows(begin_s: float, end_s: float) -> list[ChunkSpan]:
    """Up to ``WINDOWS`` windows of ``WINDOW_S``, not overlapping, spread evenly over the song
    ``[begin_s, end_s)`` less its first and last ``EDGE_SKIP_FRACTION`` (intros, fades); one window
    in the middle when there is room for one only, none when the song is shorter than the cache's
    shortest chunk."""
    duration = end_s - begin_s
    if duration < MIN_CHUNK_SECONDS:
        return []
    usable = duration * (1.0 - 2.0 * EDGE_SKIP_FRACTION)
    count = min(WINDOWS, int(usable // WINDOW_S))
    if count <= 1:
        length = min(duration, WINDOW_S)
        return [ChunkSpan(begin_s + (duration - length) / 2, length)]
    first = begin_s + duration * EDGE_SKIP_FRACTION
    starts = np.linspace(first, first + usable - WINDOW_S, count)
    return [ChunkSpan(float(start), WINDOW_S) for start in starts]


class MusicnnBackend:
    name = "musicnn"
    title = "Pretrained MusiCNN (Million Song Dataset)"
    needs_training = False
    listening_spans = staticmethod(listening_windows)

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

        self._embedder = MusiCNNEmbedder(resolve_device(self.settings.device if device == "auto" else device))

    @property
    def model_id(self) -> str:
        from musicrec_desktop.musicnn.package import MODEL, VERSION

        return f"musicnn-{VERSION}-{MODEL}-port{PORT_VERSION}-windows{WINDOWS}"

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
