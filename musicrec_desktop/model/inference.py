"""Embedding chunks and songs with a trained encoder (evaluation and ``embed`` share this)."""

from __future__ import annotations

import logging
from collections import defaultdict
from collections.abc import Sequence

import numpy as np
import torch

from musicrec_desktop.errors import ModelError
from musicrec_desktop.model.device import autocast
from musicrec_desktop.model.frontend import CQTFrontEnd
from musicrec_desktop.model.moco import MoCo

log = logging.getLogger(__name__)


class ChunkEmbedder:
    """Embeds mono waves with the query encoder, up to ``batch_size`` waves at a time.

    A batch that runs out of GPU memory is halved with a warning and tried again; the smaller size
    is kept for later calls, so a library is not retried at the size that failed for every song.
    """

    def __init__(self, model: MoCo, frontend: CQTFrontEnd, device: torch.device,
                 batch_size: int = 32) -> None:
        self.model, self.frontend, self.device = model, frontend, device
        self.batch_size = batch_size

    def __call__(self, waves: Sequence[np.ndarray]) -> tuple[np.ndarray, np.ndarray]:
        """Waves (each (n_i,) float32) -> (len(waves) x D embeddings, len(waves) x C genre
        probabilities), both float32, in input order. Waves of equal length share a batch."""
        self.model.eval()
        by_length: dict[int, list[int]] = defaultdict(list)
        for i, wave in enumerate(waves):
            by_length[wave.shape[-1]].append(i)
        embeddings = np.zeros((len(waves), self.model.embedding_dim), dtype=np.float32)
        probabilities = np.zeros((len(waves), self.model.genre_head.out_features), dtype=np.float32)
        for indexes in by_length.values():
            start = 0
            while start < len(indexes):
                part = indexes[start:start + self.batch_size]
                if self._try_batch(waves, part, embeddings, probabilities):
                    start += len(part)
                else:
                    self._halve()  # outside the handler, whose traceback holds the batch's tensors
        return embeddings, probabilities

    def _try_batch(self, waves: Sequence[np.ndarray], part: list[int], embeddings: np.ndarray,
                   probabilities: np.ndarray) -> bool:
        """Embeds ``waves[part]`` into the output rows ``part``; False when it ran out of memory."""
        try:
            embeddings[part], probabilities[part] = self._embed_batch([waves[i] for i in part])
        except torch.OutOfMemoryError as exc:
            if self.batch_size == 1:
                raise ModelError(f"out of memory on {self.device} embedding a single chunk") from exc
            return False
        return True

    @torch.no_grad()
    def _embed_batch(self, waves: list[np.ndarray]) -> tuple[np.ndarray, np.ndarray]:
        batch = torch.from_numpy(np.stack(waves)).to(self.device)
        images = self.frontend(batch)  # B x 1 x bins x frames
        with autocast(self.device):
            features = self.model.embed(images)  # B x D
            logits = self.model.genre_head(features)  # B x C
        return features.float().cpu().numpy(), torch.sigmoid(logits.float()).cpu().numpy()

    def _halve(self) -> None:
        if self.device.type == "cuda":
            torch.cuda.empty_cache()
        half = self.batch_size // 2
        log.warning("out of memory on %s embedding %d chunks at a time; going on with %d",
                    self.device, self.batch_size, half)
        self.batch_size = half


def song_vectors(chunk_vectors: np.ndarray, owners: Sequence[int], n_songs: int) -> np.ndarray:
    """Mean of each song's chunk vectors, L2-normalised. chunk_vectors: M x D; owners: M song
    indexes in range(n_songs). Returns n_songs x D float32 (zero rows for songs without chunks)."""
    sums = np.zeros((n_songs, chunk_vectors.shape[1]), dtype=np.float64)
    np.add.at(sums, np.asarray(owners, dtype=np.int64), chunk_vectors)
    norms = np.linalg.norm(sums, axis=1, keepdims=True)
    return (sums / np.maximum(norms, 1e-12)).astype(np.float32)


def song_means(chunk_values: np.ndarray, owners: Sequence[int], n_songs: int) -> np.ndarray:
    """Plain mean per song (genre probabilities). Returns n_songs x C float32."""
    sums = np.zeros((n_songs, chunk_values.shape[1]), dtype=np.float64)
    counts = np.zeros(n_songs, dtype=np.float64)
    owners = np.asarray(owners, dtype=np.int64)
    np.add.at(sums, owners, chunk_values)
    np.add.at(counts, owners, 1.0)
    return (sums / np.maximum(counts, 1.0)[:, None]).astype(np.float32)
