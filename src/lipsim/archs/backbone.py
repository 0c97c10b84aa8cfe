"""Common base of the 1-Lipschitz feature extractors f: [0,1]^{3xHxW} -> R^k."""

from __future__ import annotations

from typing import Any

import torch
from torch import nn

from ..layers._reparam import Reparametrized

__all__ = ["Backbone"]


class Backbone(nn.Module):
    """A 1-Lipschitz network with the metadata needed to rebuild it.

    Attributes:
        arch: registry name of the architecture.
        config: keyword arguments that rebuild it with :func:`lipsim.archs.build_arch`.
        embed_dim: size k of the embedding f(x).
        input_size: the (H, W) the network requires, or None when any size works.
        image_size: the resolution images are resized to by default.
    """

    arch: str
    config: dict[str, Any]
    embed_dim: int
    input_size: tuple[int, int] | None
    image_size: int

    def invalidate_cache(self) -> None:
        """Drop every cached eval-time re-parameterisation (rebuilt on the next eval call)."""
        for m in self.modules():
            if isinstance(m, Reparametrized):
                m.invalidate_cache()

    def network_size(self, in_size: tuple[int, int]) -> tuple[int, int]:
        """The (H, W) a caller's (H, W) image is resized to before the network (default: ``image_size``)."""
        return (self.image_size, self.image_size)

    def lipschitz_bound(self, size: tuple[int, int]) -> float:
        """An upper bound (<= 1) on the Lipschitz constant of the network on (H, W) inputs (default 1)."""
        return 1.0

    def forward(self, x: torch.Tensor) -> torch.Tensor:  # pragma: no cover - abstract
        raise NotImplementedError
