"""2AFC scores with soft labels, certified scores and their curves (docs/training.md, 'Evaluation')."""

from __future__ import annotations

import torch

from ..certificates import CERTIFIED_EPS

__all__ = ["two_afc_score", "per_triplet_score", "certified_score", "certified_curve", "CERTIFIED_EPS"]


def per_triplet_score(d0: torch.Tensor, d1: torch.Tensor, p: torch.Tensor) -> torch.Tensor:
    """(d0<d1)(1-p) + (d1<d0)p + 0.5(d0==d1), with p the share of people preferring x1."""
    d0, d1, p = d0.double(), d1.double(), p.double()
    return (d0 < d1).double() * (1 - p) + (d1 < d0).double() * p + 0.5 * (d0 == d1).double()


def two_afc_score(d0: torch.Tensor, d1: torch.Tensor, p: torch.Tensor) -> float:
    """Mean soft-label 2AFC agreement.

    Example:
        >>> two_afc_score(torch.tensor([0.1, 0.3]), torch.tensor([0.2, 0.2]), torch.tensor([0.0, 0.25]))
        0.625
    """
    return float(per_triplet_score(d0, d1, p).mean())


def certified_score(d0: torch.Tensor, d1: torch.Tensor, p: torch.Tensor, radius: torch.Tensor, eps: float) -> float:
    """Share of agreement that is also certified: score_i * [R_i > eps], averaged."""
    return float((per_triplet_score(d0, d1, p) * (radius.double() > eps).double()).mean())


def certified_curve(
    d0: torch.Tensor, d1: torch.Tensor, p: torch.Tensor, radius: torch.Tensor, eps_values: torch.Tensor
) -> list[float]:
    """Certified score at each eps of ``eps_values``."""
    s = per_triplet_score(d0, d1, p)
    r = radius.double()
    return [float((s * (r > float(e)).double()).mean()) for e in eps_values]
