"""What the torch models that learn beside the app's other work share (the recommenders, the
rating net, the text search's alignment).

Layers drawn from a ``torch.Generator`` of the recommender's own, never from the global random
state: that belongs to whatever else runs in the process (the tray trains on a worker thread
beside the radio), and a recommender's seed must give the same model whatever ran before. And one
torch thread for work too small to share between cores.

Imported only while a recommender learns or predicts (it imports torch).
"""

from __future__ import annotations

import math
from collections.abc import Iterator
from contextlib import contextmanager

import torch


def linear(inputs: int, outputs: int, generator: torch.Generator, bias: bool = True) -> torch.nn.Linear:
    """A Linear layer started as torch starts one (weights and bias uniform within
    ±1/sqrt(inputs)), drawn from ``generator``."""
    # skip_init: torch's own start would draw from the global random state first
    layer = torch.nn.utils.skip_init(torch.nn.Linear, inputs, outputs, bias=bias)
    bound = 1 / math.sqrt(inputs)
    with torch.no_grad():
        for parameter in layer.parameters():
            parameter.uniform_(-bound, bound, generator=generator)
    return layer


class Residual(torch.nn.Module):
    """x + W·relu(V·x + b) (M x D -> M x D, V: hidden x D), W zero at the start: the identity
    until it learns, so a net over frozen vectors starts as the cosine of the vectors themselves."""

    def __init__(self, dimension: int, hidden: int, generator: torch.Generator) -> None:
        super().__init__()
        self.inner = linear(dimension, hidden, generator)
        self.outer = linear(hidden, dimension, generator, bias=False)
        with torch.no_grad():
            self.outer.weight.zero_()

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return x + self.outer(torch.relu(self.inner(x)))


def dropout(x: torch.Tensor, p: float, generator: torch.Generator, training: bool) -> torch.Tensor:
    """Inverted dropout (as ``torch.nn.functional.dropout``) with the mask drawn from
    ``generator``, which must live on ``x``'s device."""
    if not training or p == 0.0:
        return x
    keep = torch.rand(x.shape, generator=generator, device=x.device) >= p
    return x * keep / (1 - p)


class Dropout(torch.nn.Module):
    """``torch.nn.Dropout`` with its masks drawn from ``generator`` (no parameters: a model's saved
    weights read the same with either)."""

    def __init__(self, p: float, generator: torch.Generator) -> None:
        super().__init__()
        self.p, self.generator = p, generator

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return dropout(x, self.p, self.generator, self.training)


@contextmanager
def one_thread() -> Iterator[None]:
    """Runs torch on one thread meanwhile. Batches of 32 songs through a 64-unit layer are too
    small to share: on a busy two-core machine the second thread waits for a core and a
    cross-validated training took 9.7 s instead of 0.3 s (measured, 40 ratings); BERT4Rec's
    10 epochs of 200 short sessions 0.9 s on one thread against about 8 s on two (busy machine).
    torch's thread count is process-wide, so it is restored at once."""
    before = torch.get_num_threads()
    torch.set_num_threads(1)
    try:
        yield
    finally:
        torch.set_num_threads(before)
