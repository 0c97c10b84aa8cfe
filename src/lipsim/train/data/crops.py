"""Seeded square crops of photos: crop boxes, cutting and resizing, and :class:`FixedCropPool`.

A crop box is drawn from a generator (see :func:`lipsim.train.rng.seeded_generator`) with a fixed count of
draws, so it depends only on the generator's seed and the image size. :class:`FixedCropPool` crops are cached
on disk by training runs (keyed by :func:`pixels_fingerprint`): their boxes and pixels must never change.

Example:
    >>> import os, tempfile
    >>> from PIL import Image
    >>> from lipsim.train.data.crops import FixedCropPool, sample_crop_box
    >>> from lipsim.train.rng import seeded_generator
    >>> sample_crop_box(640, 480, (0.25, 1.0), seeded_generator(0)).side <= 480
    True
    >>> tmp = tempfile.TemporaryDirectory()
    >>> Image.new("RGB", (40, 30), "red").save(os.path.join(tmp.name, "photo.png"))
    >>> pool = FixedCropPool(tmp.name, n=3, size=16, seed=0)
    >>> pool.images.shape, pool.records[0][1].side <= 30
    (torch.Size([3, 3, 16, 16]), True)
    >>> tmp.cleanup()
"""

from __future__ import annotations

import hashlib
import math
import os
from dataclasses import dataclass
from pathlib import Path

import torch
from PIL import Image, ImageOps
from torch import Tensor

from ..rng import seeded_generator
from .image_files import ImageFiles, pil_to_uint8


def pixels_fingerprint(images: Tensor) -> str:
    """SHA-256 hex digest of a uint8 image tensor's shape and pixels (a cache key for teacher embeddings)."""
    h = hashlib.sha256(str(tuple(images.shape)).encode())
    h.update(images.numpy().tobytes())
    return h.hexdigest()


@dataclass(frozen=True)
class CropBox:
    """Where a square crop comes from: pixel box ``(left, top, side)`` and whether it was mirrored."""

    left: int
    top: int
    side: int
    flipped: bool


def sample_crop_box(
    width: int,
    height: int,
    scale: tuple[float, float],
    generator: torch.Generator,
    flip: bool = True,
    side_px: tuple[int, int] | None = None,
) -> CropBox:
    """Draw a square crop: area a share in ``scale`` of the largest square, uniform position.

    With ``side_px = (lo, hi)`` the side is instead uniform in ``[lo, hi]`` pixels (clipped to the
    image), so crops keep the photo's own pixel scale (used to train at the caller's resolution).

    Always draws exactly four numbers from ``generator`` so later draws do not depend on the image.

    Args:
        width: Image width in pixels.
        height: Image height in pixels.
        scale: (low, high) share of ``min(width, height) ** 2`` covered by the crop, in (0, 1].
        generator: Source of randomness.
        flip: Whether a horizontal flip may be drawn (probability 0.5).

    Returns:
        The crop box.

    Example:
        >>> sample_crop_box(640, 480, (0.25, 1.0), seeded_generator(0)).side <= 480
        True
    """
    u = torch.rand(4, generator=generator, dtype=torch.float64).tolist()
    short = min(width, height)
    if side_px is not None:
        side = min(short, max(1, round(side_px[0] + (side_px[1] - side_px[0]) * u[0])))
    else:
        lo, hi = scale
        side = min(short, max(1, round(short * math.sqrt(lo + (hi - lo) * u[0]))))
    left = min(width - side, int(u[1] * (width - side + 1)))
    top = min(height - side, int(u[2] * (height - side + 1)))
    return CropBox(left, top, side, flip and u[3] < 0.5)


def crop_resize(img: Image.Image, box: CropBox, size: int) -> Tensor:
    """Cut ``box`` out of ``img``, resize it to ``size`` (bicubic, antialiased) and apply the flip.

    Returns:
        uint8 tensor (3, size, size).
    """
    region = (box.left, box.top, box.left + box.side, box.top + box.side)
    out = img.resize((size, size), Image.Resampling.BICUBIC, box=region)
    if box.flipped:
        out = ImageOps.mirror(out)
    return pil_to_uint8(out)


def _validate_scale(scale: tuple[float, float]) -> tuple[float, float]:
    lo, hi = (float(v) for v in scale)
    if not 0.0 < lo <= hi <= 1.0:
        raise ValueError(f"scale must be (low, high) with 0 < low <= high <= 1, got {scale!r}")
    return lo, hi


class FixedCropPool:
    """A fixed, seeded list of ``n`` crops from a folder, held as one uint8 tensor (N, 3, S, S).

    Crop ``i`` comes from file ``i % len(files)`` with box and flip drawn from
    ``seeded_generator("pool", seed, i)``, so a pool of ``n`` crops is the prefix of a larger one.
    Meant for caching teacher embeddings of view A.

    Args:
        root: Folder searched recursively for images.
        n: Number of crops.
        size: Crop side in pixels.
        seed: Seed of the pool.
        scale: (low, high) share of the image's largest square covered by a crop.
        flip: Mirror crops with probability 0.5.
        on_error: ``"raise"`` or ``"skip"`` for unreadable files.
        side_px: (low, high) crop side in pixels instead of ``scale`` (see :func:`sample_crop_box`).

    Attributes:
        images: uint8 tensor (N, 3, size, size).
        records: One ``(path, CropBox)`` per crop.

    Example:
        >>> import tempfile
        >>> tmp = tempfile.TemporaryDirectory()
        >>> for i, colour in enumerate(["red", "navy"]):
        ...     Image.new("RGB", (40, 30), colour).save(os.path.join(tmp.name, f"photo{i}.png"))
        >>> pool = FixedCropPool(tmp.name, n=5, size=16, seed=0)
        >>> pool.images.shape, pool.images.dtype, len(pool.fingerprint())
        (torch.Size([5, 3, 16, 16]), torch.uint8, 64)
        >>> tmp.cleanup()
    """

    def __init__(
        self,
        root: str | os.PathLike,
        n: int,
        size: int = 224,
        seed: int = 0,
        scale: tuple[float, float] = (0.08, 1.0),
        flip: bool = True,
        on_error: str = "raise",
        side_px: tuple[int, int] | None = None,
    ) -> None:
        if not isinstance(n, int) or n < 1:
            raise ValueError(f"n must be a positive int, got {n!r}")
        if not isinstance(size, int) or size < 1:
            raise ValueError(f"size must be a positive int, got {size!r}")
        folder = ImageFiles(root, on_error, verify=False, cache=False)
        self.size = size
        self.seed = int(seed)
        scale = _validate_scale(scale)
        if side_px is not None and not 1 <= int(side_px[0]) <= int(side_px[1]):
            raise ValueError(f"side_px must be (low, high) with 1 <= low <= high, got {side_px!r}")
        n_files = len(folder.files)
        self.records: list[tuple[Path, CropBox]] = []
        for i in range(n):
            width, height = folder.sizes[i % n_files]
            box = sample_crop_box(width, height, scale, seeded_generator("pool", self.seed, i), flip, side_px)
            self.records.append((folder.files[i % n_files], box))
        self.images = torch.empty((n, 3, size, size), dtype=torch.uint8)
        for file_idx in range(min(n, n_files)):  # decode each file once
            img = folder.image(file_idx)
            for i in range(file_idx, n, n_files):
                self.images[i] = crop_resize(img, self.records[i][1], size)

    def __len__(self) -> int:
        return self.images.shape[0]

    def __getitem__(self, index: int) -> Tensor:
        return self.images[index]

    def fingerprint(self) -> str:
        """SHA-256 hex digest of the pool's shape and pixels (a cache key for teacher embeddings)."""
        return pixels_fingerprint(self.images)
