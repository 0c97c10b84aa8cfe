"""l2 PGD on an image, for checking certified answers of lipsim.index (tests only)."""

from __future__ import annotations

from typing import Callable

import torch


def pgd_l2(x: torch.Tensor, objective: Callable[[torch.Tensor], torch.Tensor], budget: float, steps: int = 60,
           restarts: int = 2, seed: int = 0) -> torch.Tensor:
    """Maximise ``objective(x + delta)`` (a scalar) over ||delta||_2 <= budget, x + delta in [0, 1].

    Normalised-gradient steps of 2.5 budget / steps, projection onto the ball and the box, random starts
    after the first (which starts at 0); returns the best point found.
    """
    g = torch.Generator().manual_seed(seed)
    best_x, best_v = x.clone(), float(objective(x))
    step = 2.5 * budget / steps
    for r in range(restarts):
        delta = torch.zeros_like(x)
        if r:
            delta = torch.randn(x.shape, generator=g, dtype=x.dtype)
            delta *= budget * float(torch.rand(1, generator=g)) / delta.norm()
        for _ in range(steps):
            delta.requires_grad_(True)
            v = objective((x + delta).clamp(0, 1))
            (grad,) = torch.autograd.grad(v, delta)
            with torch.no_grad():
                delta = delta + step * grad / grad.norm().clamp_min(1e-30)
                n = delta.norm()
                if n > budget:
                    delta = delta * (budget / n)
                delta = (x + delta).clamp(0, 1) - x
                val = float(objective(x + delta))
                if val > best_v:
                    best_v, best_x = val, (x + delta).clone()
    assert float((best_x - x).norm()) <= budget * (1 + 1e-9)
    return best_x
