"""Batch norm over sub-batches, and the shuffle that keeps MoCo's query and key apart on one device.

Why: batch norm computes its statistics over the batch. If a query and its positive key are
normalised with statistics of the same set of songs, the encoder can recognise the positive by
those statistics instead of by the music ("cheating" in He et al. 2020, section 3.3). MoCo avoids it
across GPUs: each GPU normalises its own part of the batch, and the keys are shuffled across GPUs
before the key encoder, so a query and its key are normalised with two different sets of songs.

How it is done here, on one device, in one process:

- Every batch-norm layer of both encoders normalises ``splits`` groups of the batch on their own
  (the sample at position ``i`` is in group ``i % splits``), as ``splits`` GPUs would. Groups hold
  ``m = n / splits`` songs each.
- The query encoder sees the batch in order: query group ``g`` is the songs at ``g, g+splits, ...``.
  It is split too, like MoCo's per-GPU query batch norm. Statistics over the whole batch would
  contain every song of every key group.
- The key encoder sees ``batch[p]`` with ``p = cross_group_permutation(n, splits)``, which deals
  the songs of each query group out over all key groups: no key group holds more than
  ``ceil(m / splits)`` songs of any one query group. The keys are put back in order after the key
  encoder (``argsort(p)``).

So the statistics that normalise query ``i`` and those that normalise key ``i`` share at most
``ceil(m / splits)`` of their ``m`` songs (song ``i`` itself among them: its two views are in both,
as on MoCo's GPUs), about a quarter with the default 4 groups. A key encoder that is not shuffled,
or that moves whole groups, shares all ``m``. The bound is the same as the share a random shuffle
over ``splits`` GPUs gives on average, held for every song. The fewer the groups the larger the
share: with 2 groups it is half, and a batch of fewer than 4 songs has one group and no protection.

Running statistics are the mean over the groups; in evaluation the layer is plain batch norm.
"""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import nn


class SplitBatchNorm2d(nn.BatchNorm2d):
    """``nn.BatchNorm2d`` whose training statistics come from ``splits`` interleaved sub-batches."""

    def __init__(self, num_features: int, splits: int = 1, **kwargs) -> None:
        super().__init__(num_features, **kwargs)
        self.splits = splits

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        g = self.splits
        if not self.training or g == 1:
            return super().forward(x)
        n, c, h, w = x.shape
        if n % g:
            raise ValueError(f"batch of {n} does not split into {g} equal sub-batches")
        mean = self.running_mean.repeat(g)
        var = self.running_var.repeat(g)
        # N x C -> N/g x (g*C): sample i lands in channel block i % g, normalised on its own.
        out = F.batch_norm(x.reshape(n // g, c * g, h, w), mean, var, self.weight.repeat(g),
                           self.bias.repeat(g), True, self.momentum, self.eps)
        with torch.no_grad():
            self.running_mean.copy_(mean.view(g, c).mean(0))
            self.running_var.copy_(var.view(g, c).mean(0))
            self.num_batches_tracked.add_(1)
        return out.view(n, c, h, w)


def set_splits(module: nn.Module, splits: int) -> None:
    """Sets the number of sub-batches of every ``SplitBatchNorm2d`` inside ``module``."""
    for m in module.modules():
        if isinstance(m, SplitBatchNorm2d):
            m.splits = splits


def cross_group_permutation(n: int, splits: int, generator: torch.Generator | None = None) -> torch.Tensor:
    """A permutation ``p`` of ``range(n)`` (int64, shape n) for the key encoder's input ``batch[p]``
    that deals every query group out over all key groups.

    Position ``j`` of ``batch[p]`` holds song ``p[j]``: its key group is ``j % splits``, its query
    group ``p[j] % splits``. Member ``j`` (in a random order) of query group ``g`` goes to key group
    ``(g + j) % splits``, so every key group gets ``ceil(m / splits)`` or fewer songs of each query
    group (``m = n / splits``), in a random order. Needs ``n % splits == 0``; with one split it is
    only a random order.
    """
    if splits == 1:
        return torch.randperm(n, generator=generator)
    if n % splits:
        raise ValueError(f"batch of {n} does not split into {splits} equal sub-batches")
    per_group = n // splits
    dealt: list[list[torch.Tensor]] = [[] for _ in range(splits)]  # key group -> songs
    for g in range(splits):
        members = torch.arange(g, n, splits)[torch.randperm(per_group, generator=generator)]
        for offset in range(min(splits, per_group)):
            dealt[(g + offset) % splits].append(members[offset::splits])
    perm = torch.empty(n, dtype=torch.long)
    for h, parts in enumerate(dealt):
        songs = torch.cat(parts)  # per_group songs: one share from each of the query groups
        perm[h::splits] = songs[torch.randperm(per_group, generator=generator)]
    return perm
