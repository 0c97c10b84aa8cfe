"""Norm-preserving activations."""

from __future__ import annotations

import torch
from torch import nn

from ._maxmin_grad import MaxMinFunction

__all__ = ["MaxMin", "max_min"]


def max_min(x: torch.Tensor, dim: int = 1) -> torch.Tensor:
    """GroupSort-2: split ``dim`` into halves (a, b) and return (max(a, b), min(a, b)).

    Each output pair is a permutation of its input pair, so the map is 1-Lipschitz and norm preserving.
    """
    if x.shape[dim] % 2 != 0:
        raise ValueError(f"MaxMin needs an even number of channels along dim {dim}, got {x.shape[dim]}")
    if x.requires_grad and torch.is_grad_enabled():  # one autograd node with a cheap backward, same gradients
        return MaxMinFunction.apply(x, dim)
    a, b = x.chunk(2, dim=dim)
    return torch.cat([torch.maximum(a, b), torch.minimum(a, b)], dim=dim)


class MaxMin(nn.Module):
    """Module form of :func:`max_min` along the channel dimension.

    Example:
        >>> MaxMin()(torch.tensor([[1.0, -2.0, 3.0, 0.5]]))
        tensor([[ 3.0000,  0.5000,  1.0000, -2.0000]])
    """

    def __init__(self, dim: int = 1) -> None:
        super().__init__()
        self.dim = dim

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return max_min(x, self.dim)
