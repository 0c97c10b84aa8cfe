"""Training losses of the LipSim recipe (docs/training.md, 'Distillation' and 'Hinge fine-tuning')."""

from __future__ import annotations

import torch

__all__ = ["rmse", "distillation_loss", "hinge_two_afc_loss", "labels_from_judgements", "two_afc_accuracy"]


def rmse(pred: torch.Tensor, target: torch.Tensor) -> torch.Tensor:
    """Per-sample root mean squared error over the feature dim, averaged over the batch."""
    return (pred - target).pow(2).mean(dim=1).sqrt().mean()


def distillation_loss(f_a: torch.Tensor, f_b: torch.Tensor, t_a: torch.Tensor) -> torch.Tensor:
    """0.5 * [RMSE(f(A), t(A)) + RMSE(f(B), t(A))]: both views regress the teacher's embedding of view A.

    Example:
        >>> t = torch.ones(2, 4)
        >>> distillation_loss(t, t, t)
        tensor(0.)
    """
    return 0.5 * (rmse(f_a, t_a) + rmse(f_b, t_a))


def labels_from_judgements(p: torch.Tensor) -> torch.Tensor:
    """y = 2 * round(p) - 1: +1 when people judged x1 closer (p = share preferring x1), else -1."""
    return 2.0 * torch.round(p) - 1.0


def hinge_two_afc_loss(d0: torch.Tensor, d1: torch.Tensor, p: torch.Tensor, margin: float) -> torch.Tensor:
    """mean(max(0, m - y * (d0 - d1))) with y from :func:`labels_from_judgements`.

    Example:
        >>> hinge_two_afc_loss(torch.tensor([0.5]), torch.tensor([0.1]), torch.tensor([1.0]), margin=0.2)
        tensor(0.)
    """
    y = labels_from_judgements(p)
    return torch.clamp(margin - y * (d0 - d1), min=0).mean()


def two_afc_accuracy(d0: torch.Tensor, d1: torch.Tensor, p: torch.Tensor) -> torch.Tensor:
    """Agreement with the judgements p (share preferring x1), weighted by p: mean((d0 < d1)(1 - p) + (d1 < d0) p).

    Example:
        >>> two_afc_accuracy(torch.tensor([0.1, 0.3]), torch.tensor([0.2, 0.2]), torch.tensor([0.0, 0.0]))
        tensor(0.5000)
    """
    return ((d0 < d1).float() * (1 - p) + (d1 < d0).float() * p).mean()
