"""Embedding chunks and songs with a trained encoder (evaluation and ``embed`` share this)."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Sequence

import numpy as np
import torch

from musicrec_desktop.model.device import autocast
from musicrec_desktop.model.frontend import CQTFrontEnd
from musicrec_desktop.model.moco import MoCo


@torch.no_grad()
def embed_waves(model: MoCo, frontend: CQTFrontEnd, waves: Sequence[np.ndarray], device: torch.device,
                batch_size: int = 32) -> tuple[np.ndarray, np.ndarray]:
    """Mono waves (each (n_i,) float32) -> (len(waves) x D embeddings, len(waves) x C genre
    probabilities), both float32, in input order. Waves of equal length share a batch."""
    model.eval()
    by_length: dict[int, list[int]] = defaultdict(list)
    for i, wave in enumerate(waves):
        by_length[wave.shape[-1]].append(i)
    embeddings = np.zeros((len(waves), model.embedding_dim), dtype=np.float32)
    probabilities = np.zeros((len(waves), model.genre_head.out_features), dtype=np.float32)
    for indexes in by_length.values():
        for start in range(0, len(indexes), batch_size):
            part = indexes[start:start + batch_size]
            batch = torch.from_numpy(np.stack([waves[i] for i in part])).to(device)
            images = frontend(batch)  # B x 1 x bins x frames
            with autocast(device):
                features = model.embed(images)  # B x D
                logits = model.genre_head(features)  # B x C
            embeddings[part] = features.float().cpu().numpy()
            probabilities[part] = torch.sigmoid(logits.float()).cpu().numpy()
    return embeddings, probabilities


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
