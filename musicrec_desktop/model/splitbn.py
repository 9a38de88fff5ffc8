"""Batch norm over sub-batches, and the shuffle that keeps MoCo's query and key apart on one device.

Why: batch norm computes its statistics over the batch. If a query and its positive key are
normalised with statistics of the same set of songs, the encoder can find the positive through those
statistics instead of through the music ("cheating" in He et al. 2020, section 3.3). MoCo solves it
across GPUs: each GPU normalises its own part of the batch and the keys are shuffled across GPUs.

On one device we do the same thing in one process. Every batch-norm layer normalises ``splits``
sub-batches separately (sample ``i`` belongs to sub-batch ``i % splits``), exactly as ``splits``
GPUs would. The query encoder sees the batch in order; the key encoder sees it through
``cross_group_permutation``, which puts every key into a different sub-batch than its query (a
strict version of MoCo's random shuffle, where a pair still shares a GPU with chance 1/GPUs). After
the key encoder the keys are put back in order. So the statistics that normalise query ``i`` and
those that normalise key ``i`` never come from the same group of songs.

Running statistics are the mean over the sub-batches; in evaluation the layer is plain batch norm.
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
    """A permutation ``p`` of ``range(n)`` (int64, shape n) such that the key encoder, fed
    ``batch[p]``, normalises every sample in another sub-batch than the query encoder did.

    Sample ``p[j]`` sits at position ``j``: its key sub-batch is ``j % splits``, its query sub-batch
    ``p[j] % splits``. Query group ``g`` is sent, in random order, to group ``(g + s) % splits`` for
    one random shift ``s`` in ``1 .. splits-1``. Needs ``n % splits == 0``; with one split it is
    only a random order.
    """
    if splits == 1:
        return torch.randperm(n, generator=generator)
    if n % splits:
        raise ValueError(f"batch of {n} does not split into {splits} equal sub-batches")
    shift = int(torch.randint(1, splits, (1,), generator=generator))
    per_group = n // splits
    perm = torch.empty(n, dtype=torch.long)
    for g in range(splits):
        members = torch.arange(g, n, splits)[torch.randperm(per_group, generator=generator)]
        target = (g + shift) % splits
        perm[target::splits] = members
    return perm
