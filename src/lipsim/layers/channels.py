"""Channel-count changes that are isometries or projections: zero padding and taking the first k."""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import nn

__all__ = ["ZeroChannelPad", "FirstK", "Center"]


class ZeroChannelPad(nn.Module):
    """Append zero channels up to ``out_channels`` (an isometric embedding).

    Example:
        >>> ZeroChannelPad(5)(torch.ones(1, 3, 2, 2)).shape
        torch.Size([1, 5, 2, 2])
    """

    def __init__(self, out_channels: int) -> None:
        super().__init__()
        self.out_channels = out_channels

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        c = x.shape[1]
        if c > self.out_channels:
            raise ValueError(f"ZeroChannelPad: input has {c} channels, more than out_channels={self.out_channels}")
        pad = [0, 0] * (x.dim() - 2) + [0, self.out_channels - c]
        return F.pad(x, pad)

    def extra_repr(self) -> str:
        return f"out_channels={self.out_channels}"


class FirstK(nn.Module):
    """Keep the first ``k`` features of a (N, F) tensor (an orthogonal projection).

    Example:
        >>> FirstK(2)(torch.arange(4.0).view(1, 4))
        tensor([[0., 1.]])
    """

    def __init__(self, k: int) -> None:
        super().__init__()
        self.k = k

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        if x.shape[1] < self.k:
            raise ValueError(f"FirstK: input has {x.shape[1]} features, fewer than k={self.k}")
        return x[:, : self.k]

    def extra_repr(self) -> str:
        return f"k={self.k}"


class Center(nn.Module):
    """Subtract a constant (a translation: Lipschitz constant exactly 1). Pixels in [0,1] -> [-0.5, 0.5]."""

    def __init__(self, value: float = 0.5) -> None:
        super().__init__()
        self.value = value

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return x - self.value

    def extra_repr(self) -> str:
        return f"value={self.value}"
