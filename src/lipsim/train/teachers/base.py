"""The teacher protocol: a frozen network mapping images to unit-norm embeddings.

A teacher is an ``nn.Module`` that stays in eval mode with every parameter frozen, has ``name: str``
and ``embed_dim: int``, and maps ``x`` of shape (N, 3, H, W), pixels in [0, 1], any H, W >= 32, to an
(N, embed_dim) embedding of unit l2 norm. The student regresses that embedding (docs/training.md, 'Distillation'),
and ``d = 1 - <t(x), t(y)>`` is the teacher's own perceptual distance.

Example:
    >>> class Mean(Teacher):
    ...     name, embed_dim = "mean", 3
    ...     def embed(self, x):
    ...         return x.mean(dim=(2, 3))
    >>> Mean()(torch.rand(2, 3, 32, 32)).norm(dim=1).allclose(torch.ones(2))
    True
"""

from __future__ import annotations

import functools
from collections.abc import Sequence

import torch
import torch.nn.functional as F
from torch import nn

__all__ = ["Teacher", "FeatureTeacher", "MIN_SIZE"]

#: Smallest accepted image side.
MIN_SIZE = 32


class Teacher(nn.Module):
    """Base class: subclasses implement :meth:`embed`; :meth:`forward` validates and normalises.

    ``train()`` is a no-op (a teacher never leaves eval mode) and all parameters are frozen by
    :meth:`freeze`, which subclasses call at the end of ``__init__``.
    """

    name: str = "teacher"
    embed_dim: int = 0

    def embed(self, x: torch.Tensor) -> torch.Tensor:
        """Un-normalised embedding (N, embed_dim) of pixels in [0, 1]."""
        raise NotImplementedError

    def freeze(self) -> Teacher:
        """Freeze every parameter and switch to eval mode; returns ``self``."""
        for p in self.parameters():
            p.requires_grad_(False)
        return super().train(False)

    def train(self, mode: bool = True) -> Teacher:
        """Teachers always stay in eval mode (batch norm statistics and dropout are fixed)."""
        return super().train(False)

    @staticmethod
    def check_input(x: torch.Tensor) -> None:
        """Raise ``ValueError`` unless ``x`` is a float (N, 3, H, W) batch with H, W >= 32."""
        if x.ndim != 4 or x.shape[1] != 3:
            raise ValueError(f"expected images of shape (N, 3, H, W), got {tuple(x.shape)}")
        if min(x.shape[-2:]) < MIN_SIZE:
            raise ValueError(f"images must be at least {MIN_SIZE}x{MIN_SIZE}, got {tuple(x.shape[-2:])}")
        if not x.is_floating_point():
            raise ValueError(f"expected float pixels in [0, 1], got dtype {x.dtype}")

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """Unit-norm embedding (N, embed_dim) of ``x`` (N, 3, H, W) in [0, 1]."""
        self.check_input(x)
        return F.normalize(self.embed(x), dim=1, eps=1e-12)

    def extra_repr(self) -> str:
        return f"name={self.name!r}, embed_dim={self.embed_dim}"


class FeatureTeacher(Teacher):
    """A CNN teacher: per-layer feature maps (``taps``) pooled by a named embedding recipe.

    Subclasses implement :meth:`taps` and set ``all_tap_channels``; ``embedding`` picks a recipe from
    :data:`lipsim.train.teachers.embeddings.EMBEDDINGS` and ``layers`` a subset of the taps (default all);
    ``grid`` > 1 adds each layer's g x g cell means (``mean`` only; :func:`~.embeddings.grid_mean_pool`).
    """

    all_tap_channels: tuple[int, ...] = ()

    def __init__(
        self,
        embedding: str,
        layers: Sequence[int] | None = None,
        heads: Sequence[torch.Tensor] | None = None,
        grid: int = 1,
    ) -> None:
        super().__init__()
        from .embeddings import EMBEDDINGS, NEEDS_HEADS, embedding_dim, grid_mean_pool

        if embedding not in EMBEDDINGS:
            raise ValueError(f"unknown embedding {embedding!r}; choose one of {sorted(EMBEDDINGS)}")
        n = len(self.all_tap_channels)
        self.layers = tuple(range(n)) if layers is None else tuple(int(i) for i in layers)
        if not self.layers or any(not 0 <= i < n for i in self.layers):
            raise ValueError(f"layers must be a non-empty subset of 0..{n - 1}, got {layers!r}")
        if embedding in NEEDS_HEADS and heads is None:
            raise ValueError(f"embedding {embedding!r} needs LPIPS heads, which {type(self).__name__} lacks")
        if isinstance(grid, bool) or not isinstance(grid, int) or grid < 1:
            raise ValueError(f"grid must be a positive int, got {grid!r}")
        if grid > 1 and embedding != "mean":
            raise ValueError(f"grid={grid} needs the 'mean' embedding, got {embedding!r}")
        self.embedding = embedding
        self.grid = grid
        self._pool = functools.partial(grid_mean_pool, grid=grid) if grid > 1 else EMBEDDINGS[embedding]
        kept = [heads[i] for i in self.layers] if heads is not None else []
        self.heads = nn.ParameterList([nn.Parameter(h.detach().clone(), requires_grad=False) for h in kept])
        self.tap_channels = tuple(self.all_tap_channels[i] for i in self.layers)
        self.embed_dim = embedding_dim(embedding, self.tap_channels, grid)

    def taps(self, x: torch.Tensor) -> list[torch.Tensor]:
        """Feature maps at every tap layer for pixels in [0, 1]."""
        raise NotImplementedError

    def embed(self, x: torch.Tensor) -> torch.Tensor:
        taps = self.taps(x)
        return self._pool([taps[i] for i in self.layers], list(self.heads) or None)

    def extra_repr(self) -> str:
        grid = f", grid={self.grid}" if self.grid > 1 else ""
        return f"{super().extra_repr()}, embedding={self.embedding!r}, layers={self.layers}{grid}"
