"""Count sketch: a fixed, seeded sparse Johnson-Lindenstrauss projection of stacked feature maps.

For maps ``v_l`` of shape (N, C_l, H_l, W_l), every coordinate ``(l, c, h, w)`` is added, with a random
sign ``s``, to one of ``k`` buckets chosen at random (Charikar et al. 2002; Weinberger et al. 2009):

    S(v)_b = sum_{l, i : bucket_l(i) = b} sign_l(i) v_l[i].

``S`` is linear and ``E ||S v||^2 = ||v||^2``; the relative standard deviation of ``||S v||^2`` is at
most ``sqrt(2 / k)`` (4.4% at k = 1024) for a vector whose energy is spread over many coordinates.
So with ``v`` the LPIPS maps of :func:`.embeddings.lpips_maps`, ``||S v(x) - S v(y)||^2`` estimates
the LPIPS distance between same-size images at a cost of O(sum C_l H_l W_l) per image.
Buckets and signs depend only on (layer position, C, H, W) and :data:`SKETCH_SEED`, through a
``torch.Generator`` (deterministic across runs and machines); tables are cached per shape.

Example:
    >>> v = [torch.randn(2, 8, 16, 16)]
    >>> a, b = count_sketch(v, 64), count_sketch(v, 64)
    >>> a.shape, bool(torch.equal(a, b))
    (torch.Size([2, 64]), True)
    >>> bool(torch.allclose(count_sketch([2 * v[0]], 64), 2 * a))
    True
"""

from __future__ import annotations

import functools
from collections.abc import Sequence

import torch

__all__ = ["SKETCH_DIM", "SKETCH_SEED", "count_sketch", "sketch_tables"]

#: Default sketch width (``lpips-sketch`` embedding dimension).
SKETCH_DIM = 1024
#: Seed of every bucket/sign table.
SKETCH_SEED = 20220728


@functools.lru_cache(maxsize=20)  # 4 image sizes x 5 layers; 8 bytes per coordinate
def sketch_tables(
    layer: int, shape: tuple[int, int, int], k: int, seed: int = SKETCH_SEED
) -> tuple[torch.Tensor, torch.Tensor]:
    """Buckets (int32 in [0, k)) and signs (+-1 float32) for the ``C*H*W`` coordinates of one layer.

    Example:
        >>> idx, sign = sketch_tables(0, (2, 3, 3), 8)
        >>> idx.shape, int(idx.max()) < 8, sorted(set(sign.tolist()))
        (torch.Size([18]), True, [-1.0, 1.0])
    """
    c, h, w = shape
    g = torch.Generator().manual_seed(seed + 1_000_003 * layer + 8191 * c + 127 * h + w)
    n = c * h * w
    idx = torch.randint(0, k, (n,), generator=g).to(torch.int32)
    sign = torch.randint(0, 2, (n,), generator=g).float().mul_(2).sub_(1)
    return idx, sign


def count_sketch(maps: Sequence[torch.Tensor], k: int = SKETCH_DIM, seed: int = SKETCH_SEED) -> torch.Tensor:
    """Sketch the stacked maps ``maps[l]`` (N, C_l, H_l, W_l) to (N, k); differentiable, linear.

    Raises:
        ValueError: ``k < 1`` or a map is not 4-d.
    """
    if k < 1:
        raise ValueError(f"sketch width must be >= 1, got {k}")
    if not maps or any(m.ndim != 4 for m in maps):
        raise ValueError(f"expected a non-empty list of (N, C, H, W) maps, got shapes {[tuple(m.shape) for m in maps]}")
    first = maps[0]
    out = first.new_zeros(first.shape[0], k)
    for layer, m in enumerate(maps):
        idx, sign = sketch_tables(layer, tuple(int(s) for s in m.shape[1:]), k, seed)  # type: ignore[arg-type]
        out = out.index_add(1, idx.to(m.device), m.flatten(1) * sign.to(m.device, m.dtype))
    return out
