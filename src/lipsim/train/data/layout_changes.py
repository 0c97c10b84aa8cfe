"""Layout changes of a photo: the same pixels, moved. A metric that knows where things are calls these different.

Used only to *measure* layout sensitivity (``lipsim-train layout``); training never sees them. Every change maps
a (3, H, W) image to one of the same size and keeps its pixel values (a permutation of positions, apart from
the uncovered strip of an odd-sized quadrant or tile grid, which stays where it was).

==================  =====================================================================
change              what moves
==================  =====================================================================
``hflip``           mirror left-right
``vflip``           mirror top-bottom
``rot180``          rotate by 180 degrees
``quadrant_swap``   the top-left and top-right quadrants trade places
``quadrant_rotate`` the four quadrants move one place clockwise
``tile_shuffle``    the 4 x 4 tiles in a seeded random order (never the identity)
``roll_half``       a cyclic translation by half the width (the halves trade places)
==================  =====================================================================

Example:
    >>> x = torch.arange(16.0).view(1, 4, 4).expand(3, 4, 4)
    >>> change_layout(x, "quadrant_rotate")[0]
    tensor([[ 8.,  9.,  0.,  1.],
            [12., 13.,  4.,  5.],
            [10., 11.,  2.,  3.],
            [14., 15.,  6.,  7.]])
    >>> sorted(change_layout(x, "tile_shuffle")[0].flatten().tolist()) == list(range(16))
    True
"""

from __future__ import annotations

import torch
from torch import Tensor

from ...errors import UnknownNameError

__all__ = ["LAYOUT_CHANGES", "change_layout"]

#: the layout changes, in the order reports list them
LAYOUT_CHANGES: tuple[str, ...] = (
    "hflip",
    "vflip",
    "rot180",
    "quadrant_swap",
    "quadrant_rotate",
    "tile_shuffle",
    "roll_half",
)


def _tiles(img: Tensor, k: int) -> tuple[Tensor, int, int]:
    """(k*k, 3, th, tw) tiles of the top-left k*th x k*tw region, row-major, and the tile size."""
    c, h, w = img.shape
    th, tw = h // k, w // k
    t = img[:, : k * th, : k * tw].reshape(c, k, th, k, tw).permute(1, 3, 0, 2, 4)
    return t.reshape(k * k, c, th, tw), th, tw


def _place(img: Tensor, tiles: Tensor, order: list[int], k: int) -> Tensor:
    """``img`` with tile ``order[i]`` written at position ``i`` (row-major)."""
    n, c, th, tw = tiles.shape
    moved = tiles[order].reshape(k, k, c, th, tw).permute(2, 0, 3, 1, 4).reshape(c, k * th, k * tw)
    out = img.clone()
    out[:, : k * th, : k * tw] = moved
    return out


def _tile_order(seed: int) -> list[int]:
    g = torch.Generator().manual_seed(seed)
    while True:
        order = torch.randperm(16, generator=g).tolist()
        if order != list(range(16)):
            return order


def change_layout(img: Tensor, change: str, seed: int = 0) -> Tensor:
    """Apply the layout change ``change`` (module docstring) to a (3, H, W) image; ``seed`` orders the tiles.

    Raises:
        UnknownNameError: ``change`` is not one of :data:`LAYOUT_CHANGES`.
    """
    if change == "hflip":
        return img.flip(-1)
    if change == "vflip":
        return img.flip(-2)
    if change == "rot180":
        return img.flip(-2).flip(-1)
    if change == "roll_half":
        return img.roll(img.shape[-1] // 2, dims=-1)
    if change == "quadrant_swap":
        tiles, _, _ = _tiles(img, 2)
        return _place(img, tiles, [1, 0, 2, 3], 2)
    if change == "quadrant_rotate":  # clockwise: bottom-left -> top-left -> top-right -> bottom-right
        tiles, _, _ = _tiles(img, 2)
        return _place(img, tiles, [2, 0, 3, 1], 2)
    if change == "tile_shuffle":
        tiles, _, _ = _tiles(img, 4)
        return _place(img, tiles, _tile_order(seed), 4)
    raise UnknownNameError(f"unknown layout change {change!r}; choose one of {', '.join(LAYOUT_CHANGES)}")
