"""MoCo v2 (He et al. 2020; Chen et al. 2020) with a genre head, on one device.

Input are CQT images (``frontend.py``); the module holds the query encoder, the momentum key
encoder, the queue of negative keys and the genre head. The queue and its pointer are registered
buffers, so a checkpoint of ``state_dict()`` holds them. See ``splitbn.py`` for how batch norm is
kept from leaking between query and key without several GPUs.
"""

from __future__ import annotations

import copy
from dataclasses import dataclass

import torch
import torch.nn.functional as F
from torch import nn

from musicrec_desktop.model.config import EncoderConfig
from musicrec_desktop.model.resnet import build_backbone
from musicrec_desktop.model.splitbn import cross_group_permutation, set_splits


@dataclass
class MocoOutput:
    logits: torch.Tensor  # N x (1+K) float32: positive key in column 0, then the queue
    genre_logits: torch.Tensor  # N x C float32, from the query's embedding


def projection_head(dim: int, out_dim: int) -> nn.Sequential:
    """The MoCo v2 MLP: d -> d -> ReLU -> out_dim."""
    return nn.Sequential(nn.Linear(dim, dim), nn.ReLU(inplace=True), nn.Linear(dim, out_dim))


class MoCo(nn.Module):
    def __init__(self, config: EncoderConfig) -> None:
        super().__init__()
        self.config = config
        self.backbone_q = build_backbone(config.backbone, config.width, config.pooling)
        dim = self.backbone_q.embedding_dim
        self.head_q = projection_head(dim, config.projection_dim)
        self.backbone_k = copy.deepcopy(self.backbone_q)
        self.head_k = copy.deepcopy(self.head_q)
        for p in (*self.backbone_k.parameters(), *self.head_k.parameters()):
            p.requires_grad = False  # moved by the momentum update only
        self.genre_head = nn.Linear(dim, max(len(config.genre_categories), 1))
        queue = F.normalize(torch.randn(config.projection_dim, config.queue_size), dim=0)
        self.register_buffer("queue", queue)  # D x K, unit columns
        # The song of each queued key (-1: none). A library smaller than the queue leaves several
        # keys of a song in it; as negatives they would push the song away from itself.
        self.register_buffer("queue_songs", torch.full((config.queue_size,), -1, dtype=torch.long))
        self.register_buffer("queue_ptr", torch.zeros((), dtype=torch.long))

    @property
    def embedding_dim(self) -> int:
        return self.backbone_q.embedding_dim

    def embed(self, images: torch.Tensor) -> torch.Tensor:
        """(N, 1, bins, frames) -> (N, embedding_dim): the query backbone, the song embedding."""
        return self.backbone_q(images)

    def forward(self, images_q: torch.Tensor, images_k: torch.Tensor,
                generator: torch.Generator | None = None, songs: torch.Tensor | None = None) -> MocoOutput:
        """Two views of the same N songs, (N, 1, bins, frames) each; in training mode this also
        moves the key encoder and pushes the keys into the queue. songs: N int64 song ids; queued
        keys of the same song are left out of a query's negatives."""
        n = images_q.shape[0]
        splits = self.bn_splits_for(n)
        set_splits(self, splits)
        features = self.backbone_q(images_q)  # N x d
        q = F.normalize(self.head_q(features).float(), dim=1)  # N x D
        with torch.no_grad():
            if self.training:
                self._momentum_update()
            k = self._keys(images_k, splits, generator)  # N x D
        # Similarities in float32 even under autocast: divided by 0.07, bf16 rounding would show.
        with torch.autocast(q.device.type, enabled=False):
            pos = (q * k).sum(dim=1, keepdim=True)  # N x 1
            neg = q @ self.queue.clone()  # N x K; clone: the queue is overwritten below
            if songs is not None:
                same = songs.to(neg.device)[:, None] == self.queue_songs[None, :]  # N x K
                neg = neg.masked_fill(same, -torch.inf)  # exp(-inf) = 0: no weight in the softmax
            logits = torch.cat([pos, neg], dim=1) / self.config.temperature  # N x (1+K)
        if self.training:
            self._enqueue(k, songs)
        return MocoOutput(logits, self.genre_head(features).float())

    def bn_splits_for(self, n: int) -> int:
        """The most sub-batches, up to ``config.bn_splits``, that divide ``n`` into parts of 2 or more."""
        for s in range(min(self.config.bn_splits, n // 2), 1, -1):
            if n % s == 0:
                return s
        return 1

    def _keys(self, images_k: torch.Tensor, splits: int, generator: torch.Generator | None) -> torch.Tensor:
        perm = cross_group_permutation(images_k.shape[0], splits, generator).to(images_k.device)
        k = F.normalize(self.head_k(self.backbone_k(images_k[perm])).float(), dim=1)
        return k[torch.argsort(perm)]  # back in the queries' order

    @torch.no_grad()
    def _momentum_update(self) -> None:
        m = self.config.momentum
        for q_part, k_part in ((self.backbone_q, self.backbone_k), (self.head_q, self.head_k)):
            for p_q, p_k in zip(q_part.parameters(), k_part.parameters(), strict=True):
                p_k.mul_(m).add_(p_q.detach(), alpha=1 - m)

    @torch.no_grad()
    def _enqueue(self, keys: torch.Tensor, songs: torch.Tensor | None = None) -> None:
        """Writes N keys (and their song ids, -1 when unknown) at the pointer, wrapping around the
        end; the oldest keys are dropped."""
        size = self.queue.shape[1]
        keys = keys[-size:]  # a batch longer than the queue keeps its last keys
        n = keys.shape[0]
        ptr = int(self.queue_ptr)
        slots = (ptr + torch.arange(n, device=keys.device)) % size
        self.queue[:, slots] = keys.T.to(self.queue.dtype)
        self.queue_songs[slots] = -1 if songs is None else songs[-size:].to(self.queue_songs.device)
        self.queue_ptr.fill_((ptr + n) % size)

    def _load_from_state_dict(self, state_dict, prefix, *args, **kwargs) -> None:
        # checkpoints from before the queue knew its songs: no song known
        state_dict.setdefault(prefix + "queue_songs", torch.full_like(self.queue_songs, -1))
        super()._load_from_state_dict(state_dict, prefix, *args, **kwargs)


def moco_loss(logits: torch.Tensor) -> torch.Tensor:
    """InfoNCE: the positive is class 0 of every row. logits: N x (1+K)."""
    target = torch.zeros(logits.shape[0], dtype=torch.long, device=logits.device)
    return F.cross_entropy(logits, target)


def genre_loss(genre_logits: torch.Tensor, targets: torch.Tensor, labelled: torch.Tensor) -> torch.Tensor:
    """Multi-label BCE over the songs that have a genre; 0 (with a gradient path) when none has.

    Summed over the categories and averaged over the labelled songs: a mean over categories too
    would shrink the genre signal C times (7 by default) against the MoCo loss, and the head then
    learns little more than how common each category is.
    genre_logits, targets: N x C float; labelled: N bool.
    """
    if not bool(labelled.any()):
        return genre_logits.sum() * 0.0
    per_song = F.binary_cross_entropy_with_logits(genre_logits[labelled], targets[labelled],
                                                  reduction="none").sum(dim=1)  # L
    return per_song.mean()
