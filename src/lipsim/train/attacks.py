"""Projected gradient descent on the reference image of 2AFC triplets (l2 or l_inf), any differentiable metric."""

from __future__ import annotations

from collections.abc import Callable
from typing import Literal

import torch

__all__ = ["pgd_two_afc", "DistanceFn"]

DistanceFn = Callable[[torch.Tensor, torch.Tensor], torch.Tensor]


def _project(delta: torch.Tensor, eps: float, norm: str) -> torch.Tensor:
    if norm == "linf":
        return delta.clamp(-eps, eps)
    n = delta.flatten(1).norm(dim=1).clamp_min(1e-12).view(-1, *[1] * (delta.dim() - 1))
    return delta * torch.clamp(eps / n, max=1.0)


def pgd_two_afc(
    dist: DistanceFn,
    ref: torch.Tensor,
    x0: torch.Tensor,
    x1: torch.Tensor,
    eps: float,
    norm: Literal["l2", "linf"] = "l2",
    steps: int = 20,
    step_size: float | None = None,
    seed: int = 0,
) -> torch.Tensor:
    """Perturb ``ref`` within the ``eps`` ball (and [0, 1]) to flip each triplet's current choice.

    The objective is d(ref', x_c) - d(ref', x_other) for the clean choice c: pushing it above 0 flips it.
    Steps are normalised gradients (l2) or signs (l_inf) of size ``step_size`` (default 2.5 eps / steps),
    starting from a small random point in the ball; the most adversarial iterate is returned.

    Returns:
        The attacked references, same shape as ``ref``.
    """
    if norm not in ("l2", "linf"):
        raise ValueError(f"norm must be 'l2' or 'linf', got {norm!r}")
    if eps <= 0 or steps <= 0:
        return ref.detach().clone()
    alpha = step_size if step_size is not None else 2.5 * eps / steps
    with torch.no_grad():
        sign = torch.where(dist(ref, x0) < dist(ref, x1), 1.0, -1.0)  # +1: x0 chosen -> raise d0 - d1
    g = torch.Generator(device="cpu").manual_seed(seed)
    delta = _project(torch.randn(ref.shape, generator=g).to(ref) * 1e-3, eps, norm)
    best = ref.detach().clone()
    best_obj = torch.full((ref.shape[0],), -float("inf"), device=ref.device)
    for _ in range(steps):
        delta.requires_grad_(True)
        adv = (ref + delta).clamp(0, 1)
        obj = sign * (dist(adv, x0) - dist(adv, x1))
        (grad,) = torch.autograd.grad(obj.sum(), delta)
        with torch.no_grad():
            better = obj.detach() > best_obj
            best[better] = adv.detach()[better]
            best_obj = torch.where(better, obj.detach(), best_obj)
            if norm == "linf":
                step = alpha * grad.sign()
            else:
                gn = grad.flatten(1).norm(dim=1).clamp_min(1e-12).view(-1, *[1] * (grad.dim() - 1))
                step = alpha * grad / gn
            delta = _project(delta + step, eps, norm)
            delta = (ref + delta).clamp(0, 1) - ref
    with torch.no_grad():
        adv = (ref + delta).clamp(0, 1)
        obj = sign * (dist(adv, x0) - dist(adv, x1))
        better = obj > best_obj
        best[better] = adv[better]
    return best
