"""Embedding recipes: how a CNN's per-layer feature maps become one global vector.

Every recipe maps a list of L feature maps ``taps[l]`` of shape (N, C_l, H_l, W_l) to (N, D); the
teacher then unit-normalises the result. Notation: ``u = f / ||f||_channels`` is the LPIPS channel
unit-normalisation at every position, ``mean``/``std`` are taken over space, and "block-normalised"
means each per-layer block is scaled to unit norm and weighted by ``1/sqrt(#blocks)``, so every layer
contributes equally to the cosine however many channels it has.

=============  ====================================================================  ============
recipe         per layer                                                             D
=============  ====================================================================  ============
``mean``       mean(u), block-normalised                                             sum C_l
``mean-std``   mean(u) and std(u), each block-normalised                             2 sum C_l
``raw-mean-std``  mean(f) and std(f) (DISTS-like texture statistics), block-normalised  2 sum C_l
``deep``       mean(f) of the last tap only                                          C_L
``lpips-mean`` sqrt(w_l) * mean(u) with the LPIPS v0.1 head weights w_l, no block    sum C_l
               normalisation (the squared distance is LPIPS with pooling moved
               before the difference)
``lpips-mean-std``  sqrt(w_l) * mean(u) and sqrt(w_l) * std(u)                       2 sum C_l
``lpips-sketch``  count sketch (a sparse Johnson-Lindenstrauss projection, seeded,  1024
               see :mod:`.sketch`) of the whole maps sqrt(w_l) * u / sqrt(H_l W_l):
               the squared distance estimates LPIPS itself (same-size images)
=============  ====================================================================  ============

With ``grid=g`` (teacher option, ``mean`` only: :func:`grid_mean_pool`) each layer adds a second block, the
mean(u) of every cell of a g x g grid (the student's cells, :func:`lipsim.layers.cell_bounds`), so the
embedding knows where features are; D = sum C_l (1 + g*g).

Example:
    >>> taps = [torch.rand(2, 4, 8, 8), torch.rand(2, 6, 4, 4)]
    >>> EMBEDDINGS["mean-std"](taps, None).shape
    torch.Size([2, 20])
"""

from __future__ import annotations

from collections.abc import Callable, Sequence

import torch
import torch.nn.functional as F

__all__ = ["EMBEDDINGS", "NEEDS_HEADS", "embedding_dim", "unit_channels", "lpips_maps", "grid_mean_pool"]

Pool = Callable[[list, list | None], torch.Tensor]

_EPS = 1e-10


def unit_channels(f: torch.Tensor) -> torch.Tensor:
    """LPIPS channel normalisation: divide each position's channel vector by its l2 norm (+1e-10)."""
    return f / (f.pow(2).sum(dim=1, keepdim=True).sqrt() + _EPS)


def _mean(f: torch.Tensor) -> torch.Tensor:
    return f.mean(dim=(2, 3))


def _std(f: torch.Tensor) -> torch.Tensor:
    return f.var(dim=(2, 3), unbiased=False).add(1e-12).sqrt()


def _blocks(blocks: list[torch.Tensor]) -> torch.Tensor:
    scale = len(blocks) ** -0.5
    return torch.cat([F.normalize(b, dim=1, eps=1e-12) * scale for b in blocks], dim=1)


def _mean_pool(taps: list, heads: list | None) -> torch.Tensor:
    return _blocks([_mean(unit_channels(f)) for f in taps])


def _mean_std_pool(taps: list, heads: list | None) -> torch.Tensor:
    units = [unit_channels(f) for f in taps]
    return _blocks([_mean(u) for u in units] + [_std(u) for u in units])


def _raw_mean_std_pool(taps: list, heads: list | None) -> torch.Tensor:
    return _blocks([_mean(f) for f in taps] + [_std(f) for f in taps])


def _cell_means(f: torch.Tensor, grid: int) -> torch.Tensor:
    """(N, C, H, W) -> (N, grid*grid*C): the mean of each grid cell (cell-major); an empty cell reads 0."""
    from ...layers.pooling import cell_bounds

    h, w = f.shape[-2:]
    cells = [
        f[..., r0:r1, c0:c1].mean(dim=(-2, -1)) if r1 > r0 and c1 > c0 else f.new_zeros(f.shape[:2])
        for r0, r1 in cell_bounds(h, grid)
        for c0, c1 in cell_bounds(w, grid)
    ]
    return torch.cat(cells, dim=1)


def grid_mean_pool(taps: list, heads: list | None, grid: int) -> torch.Tensor:
    """``mean`` with layout: per layer the block mean(u) and the block of its g x g cell means (module docstring).

    Example:
        >>> f = torch.rand(1, 4, 8, 8)
        >>> a, b = grid_mean_pool([f], None, 2), grid_mean_pool([f.flip(-1)], None, 2)
        >>> a.shape, torch.allclose(a[:, :4], b[:, :4]), torch.allclose(a, b)
        (torch.Size([1, 20]), True, False)
    """
    units = [unit_channels(f) for f in taps]
    return _blocks([b for u in units for b in (_mean(u), _cell_means(u, grid))])


def _deep_pool(taps: list, heads: list | None) -> torch.Tensor:
    return _mean(taps[-1])


def _require_heads(heads: list | None, n: int) -> list[torch.Tensor]:
    if heads is None or len(heads) != n:
        raise ValueError(
            "this embedding needs the LPIPS linear heads (one per tap); only the LPIPS-backbone teachers "
            "(vgg16, alexnet, stlpips-alex, stlpips-vgg) have them"
        )
    return [h.reshape(1, -1).clamp_min(0).sqrt() for h in heads]


def _lpips_mean_pool(taps: list, heads: list | None) -> torch.Tensor:
    w = _require_heads(heads, len(taps))
    return torch.cat([_mean(unit_channels(f)) * s for f, s in zip(taps, w)], dim=1)


def lpips_maps(taps: list, heads: list | None) -> list[torch.Tensor]:
    """Per layer ``sqrt(w_l) * u_l / sqrt(H_l W_l)``: the squared l2 distance between the stacked maps of
    two images is their LPIPS distance (heads (1, C, 1, 1) or (C,), clamped at 0)."""
    w = _require_heads(heads, len(taps))
    return [unit_channels(f) * s.view(1, -1, 1, 1) * (f.shape[2] * f.shape[3]) ** -0.5 for f, s in zip(taps, w)]


def _lpips_sketch_pool(taps: list, heads: list | None) -> torch.Tensor:
    from .sketch import SKETCH_DIM, count_sketch

    return count_sketch(lpips_maps(taps, heads), SKETCH_DIM)


def _lpips_mean_std_pool(taps: list, heads: list | None) -> torch.Tensor:
    w = _require_heads(heads, len(taps))
    units = [unit_channels(f) for f in taps]
    return torch.cat([_mean(u) * s for u, s in zip(units, w)] + [_std(u) * s for u, s in zip(units, w)], dim=1)


#: recipe name -> pooling function ``(taps, heads) -> (N, D)``.
EMBEDDINGS: dict[str, Pool] = {
    "mean": _mean_pool,
    "mean-std": _mean_std_pool,
    "raw-mean-std": _raw_mean_std_pool,
    "deep": _deep_pool,
    "lpips-mean": _lpips_mean_pool,
    "lpips-mean-std": _lpips_mean_std_pool,
    "lpips-sketch": _lpips_sketch_pool,
}

#: recipes that need LPIPS linear heads.
NEEDS_HEADS: frozenset[str] = frozenset({"lpips-mean", "lpips-mean-std", "lpips-sketch"})


def embedding_dim(recipe: str, tap_channels: Sequence[int], grid: int = 1) -> int:
    """Output width of ``recipe`` for taps with ``tap_channels`` channels (``grid``: :func:`grid_mean_pool`).

    Example:
        >>> embedding_dim("mean-std", (64, 128)), embedding_dim("mean", (64, 128), grid=2)
        (384, 960)
    """
    if grid > 1:
        return (1 + grid * grid) * int(sum(tap_channels))
    if recipe == "deep":
        return int(tap_channels[-1])
    if recipe == "lpips-sketch":
        from .sketch import SKETCH_DIM

        return SKETCH_DIM
    factor = 2 if recipe in ("mean-std", "raw-mean-std", "lpips-mean-std") else 1
    return factor * int(sum(tap_channels))
