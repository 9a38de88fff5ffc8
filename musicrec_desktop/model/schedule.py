"""The learning-rate schedule: linear warm-up, then cosine decay to zero (a pure function)."""

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
