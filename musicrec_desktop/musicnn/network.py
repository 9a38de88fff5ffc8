"""MusiCNN (Pons & Serra 2019, the MSD_musicnn model of musicnn 0.1.0) ported from TensorFlow 1 to torch.

The layers follow musicnn's ``models.build_musicnn`` one for one, in inference mode (batch norm on
its moving averages, no dropout). TensorFlow's layers are channels-last; here everything is
channels-first, and ``load_weights`` transposes the kernels. The TensorFlow variable names are the
automatic ones of ``tf.compat.v1.layers`` in creation order (conv2d, conv2d_1, ...), listed in
``_CONVS`` and ``_NORMS`` beside the layer each one fills.
"""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import nn

from musicrec_desktop.musicnn.mel import N_MELS
from musicrec_desktop.musicnn.tags import MSD_TAGS
from musicrec_desktop.musicnn.tf_checkpoint import CheckpointError, TFCheckpoint

EPSILON = 1e-3  # tf.compat.v1.layers.batch_normalization's default
TIMBRAL_FILTERS = int(1.6 * 128)  # 204 per timbral block
TEMPORAL_FILTERS = int(1.6 * 32)  # 51 per temporal block
TIMBRAL_KERNELS = ((7, int(0.4 * N_MELS)), (7, int(0.7 * N_MELS)))  # time x mel: 7x38, 7x67
TEMPORAL_KERNELS = (128, 64, 32)  # time frames, one mel band
MIDEND_FILTERS = 64
EMBEDDING_DIM = 200  # the penultimate dense layer
FRONTEND_DIM = 2 * TIMBRAL_FILTERS + 3 * TEMPORAL_FILTERS  # 561
POOLED_DIM = FRONTEND_DIM + 3 * MIDEND_FILTERS  # 753



def _norm(channels: int) -> nn.BatchNorm1d:
    return nn.BatchNorm1d(channels, eps=EPSILON)


class MusiCNN(nn.Module):
    """log-mel patches P x T x 96 -> (penultimate P x 200, tag probabilities P x 50).

    T is 187 frames (3 s) for the trained model; any T of at least 32 frames runs.
    """

    def __init__(self, n_tags: int = len(MSD_TAGS)) -> None:
        super().__init__()
        self.input_norm = nn.BatchNorm2d(1, eps=EPSILON)
        self.timbral = nn.ModuleList(nn.Conv2d(1, TIMBRAL_FILTERS, k) for k in TIMBRAL_KERNELS)
        self.temporal = nn.ModuleList(nn.Conv2d(1, TEMPORAL_FILTERS, (k, 1)) for k in TEMPORAL_KERNELS)
        self.frontend_norms = nn.ModuleList(
            nn.BatchNorm2d(c, eps=EPSILON) for c in (TIMBRAL_FILTERS,) * 2 + (TEMPORAL_FILTERS,) * 3)
        self.midend = nn.ModuleList(nn.Conv1d(c, MIDEND_FILTERS, 7, padding=3)
                                    for c in (FRONTEND_DIM, MIDEND_FILTERS, MIDEND_FILTERS))
        self.midend_norms = nn.ModuleList(_norm(MIDEND_FILTERS) for _ in range(3))
        self.pool_norm = _norm(2 * POOLED_DIM)
        self.dense = nn.Linear(2 * POOLED_DIM, EMBEDDING_DIM)
        self.dense_norm = _norm(EMBEDDING_DIM)
        self.tagger = nn.Linear(EMBEDDING_DIM, n_tags)

    def forward(self, log_mel: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        x = self.input_norm(log_mel.unsqueeze(1))  # P x 1 x T x 96
        features = self._frontend(x)  # P x 561 x T
        features = self._midend(features)  # P x 753 x T
        # max and mean over time, interleaved per channel as TensorFlow flattens P x 753 x 2
        pooled = torch.stack([features.amax(dim=2), features.mean(dim=2)], dim=2).flatten(1)
        penultimate = self.dense_norm(F.relu(self.dense(self.pool_norm(pooled))))  # P x 200
        return penultimate, torch.sigmoid(self.tagger(penultimate))

    def _frontend(self, x: torch.Tensor) -> torch.Tensor:
        maps = []
        padded = F.pad(x, (0, 0, 3, 3))  # time only: 'same' length for the 7-frame timbral kernels
        for conv in self.timbral:
            maps.append(conv(padded))
        for conv in self.temporal:
            k = conv.kernel_size[0]
            maps.append(conv(F.pad(x, (0, 0, (k - 1) // 2, k - 1 - (k - 1) // 2))))  # TF 'same'
        return torch.cat([_relu_norm_max(m, norm) for m, norm in zip(maps, self.frontend_norms, strict=True)],
                         dim=1)

    def _midend(self, frontend: torch.Tensor) -> torch.Tensor:
        layers = [frontend]
        x = self.midend_norms[0](F.relu(self.midend[0](frontend)))
        layers.append(x)
        for conv, norm in zip(self.midend[1:], self.midend_norms[1:], strict=True):
            x = norm(F.relu(conv(x))) + x  # residual
            layers.append(x)
        return torch.cat(layers, dim=1)

    def load_weights(self, checkpoint: TFCheckpoint) -> None:
        """Copies musicnn's trained variables in; a missing or misshapen one raises CheckpointError."""
        convs = [*self.timbral, *self.temporal, *self.midend]
        norms = [self.input_norm, *self.frontend_norms, *self.midend_norms, self.pool_norm, self.dense_norm]
        with torch.no_grad():
            for index, conv in enumerate(convs):
                name = f"conv2d_{index}" if index else "conv2d"
                kernel = torch.from_numpy(checkpoint.read(f"{name}/kernel"))  # kh x kw x in x out
                if isinstance(conv, nn.Conv1d):  # TF saw the channels as a 1-channel image's width
                    kernel = kernel[:, :, 0, :].permute(2, 1, 0)
                else:
                    kernel = kernel.permute(3, 2, 0, 1)
                _copy(conv.weight, kernel, name, checkpoint)
                _copy(conv.bias, torch.from_numpy(checkpoint.read(f"{name}/bias")), name, checkpoint)
            for index, norm in enumerate(norms):
                name = f"batch_normalization_{index}" if index else "batch_normalization"
                for ours, theirs in (("weight", "gamma"), ("bias", "beta"),
                                     ("running_mean", "moving_mean"), ("running_var", "moving_variance")):
                    _copy(getattr(norm, ours), torch.from_numpy(checkpoint.read(f"{name}/{theirs}")), name,
                          checkpoint)
            for name, dense in (("dense", self.dense), ("dense_1", self.tagger)):
                _copy(dense.weight, torch.from_numpy(checkpoint.read(f"{name}/kernel")).T, name, checkpoint)
                _copy(dense.bias, torch.from_numpy(checkpoint.read(f"{name}/bias")), name, checkpoint)


def _relu_norm_max(maps: torch.Tensor, norm: nn.BatchNorm2d) -> torch.Tensor:
    """musicnn's conv -> relu -> batch norm -> max over every mel band, P x C x T x F -> P x C x T,
    with the pooling first: inference batch norm is a per-channel ``a x + b`` and relu is monotonic,
    so the max is ``a relu(max) + b`` where ``a >= 0`` and ``a relu(min) + b`` where ``a < 0``.
    Exact, and it spares two passes over the largest maps (40 % of the time)."""
    scale = (norm.weight / torch.sqrt(norm.running_var + norm.eps))[None, :, None]
    shift = norm.bias[None, :, None] - norm.running_mean[None, :, None] * scale
    low, high = torch.aminmax(maps, dim=3)
    pooled = torch.where(scale >= 0, high, low)
    return F.relu(pooled) * scale + shift


def _copy(target: torch.Tensor, value: torch.Tensor, name: str, checkpoint: TFCheckpoint) -> None:
    if tuple(value.shape) != tuple(target.shape):
        raise CheckpointError(checkpoint.index_path,
                              f"{name}: shape {tuple(value.shape)}, the port expects {tuple(target.shape)}")
    target.copy_(value)
