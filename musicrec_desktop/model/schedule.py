"""The schedules: the learning rate (linear warm-up, then cosine decay to zero) and the key encoder's
momentum for a run of a given length (pure functions)."""

from __future__ import annotations

import math


def cosine_lr(step: int, total_steps: int, warmup_steps: int, base_lr: float) -> float:
    """Learning rate at optimiser step ``step`` (0-based) of ``total_steps``.

    Warm-up rises linearly from ``base_lr / warmup_steps`` at step 0 to ``base_lr`` at step
    ``warmup_steps - 1``; then a half cosine falls from ``base_lr`` to 0 at ``total_steps``.
    Steps past the end stay at 0.
    """
    if step < warmup_steps:
        return base_lr * (step + 1) / warmup_steps
    decay_steps = max(total_steps - warmup_steps, 1)
    progress = min((step - warmup_steps) / decay_steps, 1.0)
    return base_lr * 0.5 * (1.0 + math.cos(math.pi * progress))


MOMENTUM_WINDOW_SHARE = 0.05  # the key encoder averages the query encoder over 5 % of the run
MIN_MOMENTUM_WINDOW = 2.0  # steps


def key_momentum(total_steps: int, ceiling: float) -> float:
    """MoCo's key-encoder momentum ``m`` for a run of ``total_steps`` optimiser steps.

    The key encoder is an exponential average of the query encoder over about ``1 / (1 - m)``
    steps, and after ``t`` steps ``m ** t`` of it is still its random initialisation. MoCo's 0.999
    averages over 1,000 of its ~800,000 steps; over the few hundred steps of a run on a personal
    library it would leave the key encoder mostly random (0.999 ** 300 = 0.74). So the window is
    ``MOMENTUM_WINDOW_SHARE`` of the run (at least ``MIN_MOMENTUM_WINDOW`` steps), and never longer
    than ``ceiling``'s: long runs keep the configured momentum.
    """
    window = max(total_steps * MOMENTUM_WINDOW_SHARE, MIN_MOMENTUM_WINDOW)
    if ceiling < 1.0:
        window = min(window, 1.0 / (1.0 - ceiling))
    return 1.0 - 1.0 / window
