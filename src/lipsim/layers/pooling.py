"""Norm-non-increasing spatial downsampling.

- SpaceToDepth: pixel_unshuffle, a permutation (norm preserving), after zero padding to a multiple.
- WindowSumPool: sum over non-overlapping w x w windows divided by sqrt(w*w) = w; by Cauchy-Schwarz
  |sum of n values| <= sqrt(n) * l2 norm, so the map is 1-Lipschitz.
- GlobalSumPool: sum over all H*W positions divided by sqrt(H*W), the same bound. With
  ``ref_positions = r``, maps with more than r positions are further scaled by sqrt(r / (H*W)) <= 1:
  the output is then sqrt(r) times the spatial mean, the same scale at every input size, and the map
  is sqrt(r / (H*W))-Lipschitz (:meth:`GlobalSumPool.gain`), a bound the certificates use.
- GridSumPool: the map cut into g x g disjoint cells (:func:`cell_bounds`), each cell's sum divided by
  sqrt(its positions), all times the global pool's gain. Per channel the cell sums are rows with disjoint
  supports and unit norm, so the map has the global pool's bound (docs/certificates.md, 'The grid pool'); it
  keeps where features are, which the global pool throws away. With g = 1 it is GlobalSumPool.
"""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import nn

__all__ = ["SpaceToDepth", "WindowSumPool", "GlobalSumPool", "GridSumPool", "cell_bounds", "pad_to_multiple"]


def pad_to_multiple(x: torch.Tensor, factor: int) -> torch.Tensor:
    """Zero-pad the last two dims (bottom/right) up to a multiple of ``factor`` (an isometry)."""
    h, w = x.shape[-2:]
    ph, pw = (-h) % factor, (-w) % factor
    return F.pad(x, [0, pw, 0, ph]) if ph or pw else x


class SpaceToDepth(nn.Module):
    """``pixel_unshuffle`` by ``factor`` for any input size (zero-padded to a multiple first).

    Example:
        >>> SpaceToDepth(2)(torch.rand(1, 3, 5, 6)).shape
        torch.Size([1, 12, 3, 3])
    """

    def __init__(self, factor: int) -> None:
        super().__init__()
        self.factor = factor

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return F.pixel_unshuffle(pad_to_multiple(x, self.factor), self.factor)

    def extra_repr(self) -> str:
        return f"factor={self.factor}"


class WindowSumPool(nn.Module):
    """Sum over ``window x window`` blocks (stride = window) divided by ``window``.

    Inputs whose size is not a multiple of ``window`` are zero-padded at the bottom/right.

    Example:
        >>> WindowSumPool(2)(torch.ones(1, 1, 4, 4))
        tensor([[[[2., 2.],
                  [2., 2.]]]])
    """

    def __init__(self, window: int) -> None:
        super().__init__()
        self.window = window

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        w = self.window
        # mean * w^2 / sqrt(w^2) = mean * w
        return F.avg_pool2d(pad_to_multiple(x, w), w, stride=w) * w

    def extra_repr(self) -> str:
        return f"window={self.window}"


class GlobalSumPool(nn.Module):
    """(N, C, H, W) -> (N, C): sum over positions divided by sqrt(H*W) (times :meth:`gain` with a reference).

    Args:
        ref_positions: None, or the number of positions r above which the output is size-normalised to
            sqrt(r) * mean (see the module docstring).

    Example:
        >>> GlobalSumPool()(torch.ones(1, 2, 3, 3))
        tensor([[3., 3.]])
        >>> GlobalSumPool(ref_positions=4)(torch.ones(1, 2, 4, 4)), GlobalSumPool(ref_positions=4).gain(16)
        (tensor([[2., 2.]]), 0.5)
    """

    def __init__(self, ref_positions: int | None = None) -> None:
        super().__init__()
        if ref_positions is not None and int(ref_positions) < 1:
            raise ValueError(f"ref_positions must be a positive int or None, got {ref_positions!r}")
        self.ref_positions = None if ref_positions is None else int(ref_positions)

    def gain(self, positions: int) -> float:
        """Lipschitz constant of the map on a map with ``positions`` = H*W positions (<= 1)."""
        if self.ref_positions is None or positions <= self.ref_positions:
            return 1.0
        return (self.ref_positions / positions) ** 0.5

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        h, w = x.shape[-2:]
        return x.sum(dim=(-2, -1)) * (self.gain(h * w) / (h * w) ** 0.5)

    def extra_repr(self) -> str:
        return "" if self.ref_positions is None else f"ref_positions={self.ref_positions}"


def cell_bounds(n: int, cells: int) -> list[tuple[int, int]]:
    """``cells`` disjoint, contiguous index ranges covering ``range(n)``: [floor(i n / g), floor((i + 1) n / g)).

    Their sizes differ by at most one; a range is empty when ``n < cells``.

    Example:
        >>> cell_bounds(7, 2), cell_bounds(1, 2)
        ([(0, 3), (3, 7)], [(0, 0), (0, 1)])
    """
    return [(i * n // cells, (i + 1) * n // cells) for i in range(cells)]


class GridSumPool(GlobalSumPool):
    """(N, C, H, W) -> (N, g*g*C): a size-normalised sum pool over each cell of a g x g grid.

    Cell (i, j) (row-major, cells of :func:`cell_bounds`) with n positions gives ``sum / sqrt(n) * gain(H*W)``
    over its positions; the output is the cells' C-vectors one after another (cell-major). The map has the
    same Lipschitz bound :meth:`gain` as :class:`GlobalSumPool` with the same ``ref_positions``, and the
    global pool is a fixed combination of the cells: ``global = sum_c sqrt(n_c / (H*W)) * cell_c``.

    Args:
        grid: cells per side g (>= 1; 1 is the global pool).
        ref_positions: as for :class:`GlobalSumPool`.

    Example:
        >>> x = torch.arange(16.0).view(1, 1, 4, 4)
        >>> GridSumPool(2)(x)
        tensor([[ 5.,  9., 21., 25.]])
        >>> GridSumPool(2)(x).norm() <= x.norm(), GridSumPool(2, ref_positions=4).gain(16)
        (tensor(True), 0.5)
    """

    def __init__(self, grid: int, ref_positions: int | None = None) -> None:
        super().__init__(ref_positions)
        if isinstance(grid, bool) or not isinstance(grid, int) or grid < 1:
            raise ValueError(f"grid must be a positive int, got {grid!r}")
        self.grid = grid

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        h, w = x.shape[-2:]
        gain = self.gain(h * w)
        cells = []
        for r0, r1 in cell_bounds(h, self.grid):
            for c0, c1 in cell_bounds(w, self.grid):
                n = (r1 - r0) * (c1 - c0)
                if n == 0:  # a map smaller than the grid: the empty cell reads zero
                    cells.append(x.new_zeros(x.shape[:-2]))
                else:
                    cells.append(x[..., r0:r1, c0:c1].sum(dim=(-2, -1)) * (gain / n**0.5))
        return torch.cat(cells, dim=-1)

    def extra_repr(self) -> str:
        ref = super().extra_repr()
        return f"grid={self.grid}" + (f", {ref}" if ref else "")
