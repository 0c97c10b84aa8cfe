"""Learning-rate schedule: linear warm-up then cosine decay to ``final_ratio * lr``."""

from __future__ import annotations

import math

import torch

__all__ = ["warmup_cosine", "resolve_warmup"]


def warmup_cosine(
    optimizer: torch.optim.Optimizer, total_steps: int, warmup_steps: int, final_ratio: float = 0.0
) -> torch.optim.lr_scheduler.LambdaLR:
    """LambdaLR with factor (s+1)/warmup during warm-up, then 0.5(1+cos(pi t)) decay to ``final_ratio``."""
    total_steps = max(1, total_steps)
    warmup_steps = max(0, min(warmup_steps, total_steps - 1))

    def factor(step: int) -> float:
        if step < warmup_steps:
            return (step + 1) / warmup_steps
        t = (step - warmup_steps) / max(1, total_steps - warmup_steps)
        return final_ratio + (1 - final_ratio) * 0.5 * (1 + math.cos(math.pi * min(1.0, t)))

    return torch.optim.lr_scheduler.LambdaLR(optimizer, factor)


def resolve_warmup(warmup_steps: int, total_steps: int) -> int:
    """``warmup_steps``, or when negative the default: 5% of ``total_steps``, at least 1.

    Examples:
        >>> resolve_warmup(-1, 1000), resolve_warmup(-1, 10), resolve_warmup(80, 1000)
        (50, 1, 80)
    """
    return warmup_steps if warmup_steps >= 0 else max(1, total_steps // 20)
