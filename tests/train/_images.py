"""Synthetic images for the training tests (numpy uint8 arrays or float tensors; nothing is downloaded)."""

from __future__ import annotations

import numpy as np
import pytest
import torch
import torch.nn.functional as F


def noise_image(seed: int, h: int, w: int) -> np.ndarray:
    """(h, w, 3) uint8 uniform noise from ``np.random.default_rng(seed)`` (a pure function of its arguments)."""
    return np.random.default_rng(seed).integers(0, 256, size=(h, w, 3), dtype=np.uint8)


def smooth_photo(rng: np.random.Generator, h: int, w: int) -> np.ndarray:
    """(h, w, 3) uint8 'photo': a low-frequency colour field plus an edge and mild noise.

    Unlike uniform noise, crops of it have structure a teacher and a student can regress, and their luminance
    varies enough for :func:`lipsim.train.data.make_two_afc` to keep them.
    """
    yy, xx = np.mgrid[0:h, 0:w] / max(h, w)
    img = np.zeros((h, w, 3))
    for c in range(3):
        for _ in range(4):
            fx, fy, ph = rng.uniform(1, 8, 2).tolist() + [rng.uniform(0, 6.3)]
            img[..., c] += np.sin(2 * np.pi * (fx * xx + fy * yy) + ph) * rng.uniform(0.05, 0.2)
    img += (xx > rng.uniform(0.3, 0.7))[..., None] * rng.uniform(-0.3, 0.3, 3)
    img = 0.5 + img + rng.normal(0, 0.02, img.shape)
    return (np.clip(img, 0, 1) * 255).astype(np.uint8)


def skimage_photo(name: str, size: int | tuple[int, int] = 64) -> torch.Tensor:
    """A ``skimage.data`` colour photo (shipped with scikit-image) as (1, 3, H, W) in [0, 1], area-resized."""
    data = pytest.importorskip("skimage.data")
    a = getattr(data, name)()
    x = torch.from_numpy(np.ascontiguousarray(a[..., :3])).permute(2, 0, 1).float()[None] / 255
    size = (size, size) if isinstance(size, int) else size
    return F.interpolate(x, size=size, mode="area").clamp(0, 1)
