"""The rating network, its training loop and its file format: the part of the rating model that
needs torch. ``rating`` imports this module only when a model is trained, used, saved or loaded,
so that the tray and the companion can import the recommendations without loading torch.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import torch
from torch import nn

from musicrec_desktop.files import atomic_write
from musicrec_desktop.progress import CancelToken
from musicrec_desktop.recommend.torch_parts import Dropout, linear, one_thread


class RatingNet(nn.Module):
    """Scaled features (embedding ++ implicit signals) -> rating 0..1. Its start and its dropout
    masks come from ``generator`` (``torch_parts``), not torch's global random state."""

    def __init__(self, in_features: int, hidden: int, dropout: float,
                 generator: torch.Generator | None = None) -> None:
        super().__init__()
        generator = generator if generator is not None else torch.Generator()  # loading: weights follow
        self.layers = nn.Sequential(
            Dropout(dropout, generator),  # on the input too, so no single embedding dimension dominates
            linear(in_features, hidden, generator),
            nn.GELU(),
            Dropout(dropout, generator),
            linear(hidden, 1, generator),
        )

    @property
    def in_features(self) -> int:
        return self.layers[1].in_features

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        # x: B x F -> B ratings
        return torch.sigmoid(self.layers(x).squeeze(-1))


def fit(x: np.ndarray, y: np.ndarray, *, hidden: int, dropout: float, epochs: int, learning_rate: float,
        weight_decay: float, batch_size: int, seed: int, cancel: CancelToken | None = None) -> RatingNet:
    """Trains a net on ``x`` (R x F float32 features) to predict ``y`` (R ratings 0..1)."""
    generator = torch.Generator().manual_seed(seed)
    net = RatingNet(x.shape[1], hidden, dropout, generator)
    features, targets = torch.from_numpy(x), torch.from_numpy(y.astype(np.float32))
    optimiser = torch.optim.AdamW(net.parameters(), lr=learning_rate, weight_decay=weight_decay)
    net.train()
    with one_thread():
        for _ in range(epochs):
            if cancel is not None:
                cancel.check()
            for batch in torch.randperm(len(targets), generator=generator).split(batch_size):
                loss = nn.functional.mse_loss(net(features[batch]), targets[batch])
                optimiser.zero_grad()
                loss.backward()
                optimiser.step()
    return net.eval()


def predict(net: RatingNet, x: np.ndarray) -> np.ndarray:
    """N float32 ratings for ``x`` (N x F float32 features)."""
    with torch.no_grad(), one_thread():
        return torch.cat([net(part) for part in torch.from_numpy(x).split(8192)]).numpy()


def from_state(state_dict: dict, in_features: int, hidden: int, dropout: float) -> RatingNet:
    net = RatingNet(in_features, hidden, dropout)
    net.load_state_dict(state_dict)
    return net.eval()


def save(path: Path, payload: dict) -> None:
    """Writes ``payload`` with ``torch.save`` so that readers see the old file or the new one: a
    temporary file of its own (two writers never share one) renamed over ``path``."""
    # Through a Python file: a full disk is then an OSError, not torch's own RuntimeError.
    with atomic_write(path) as tmp, open(tmp, "wb") as fh:
        torch.save(payload, fh)


def load(path: Path) -> dict:
    # weights_only=False: the payload holds numpy arrays and the report; the file is our own
    return torch.load(path, weights_only=False)
