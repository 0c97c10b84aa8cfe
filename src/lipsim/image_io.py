"""Reading image files into float tensors."""

from __future__ import annotations

import os
from pathlib import Path

import numpy as np
import torch
from PIL import Image, UnidentifiedImageError

__all__ = ["load_image", "pil_to_tensor"]


_GRAY16_MODES = ("I;16", "I;16L", "I;16B", "I;16N")


def pil_to_tensor(image: Image.Image) -> torch.Tensor:
    """(C, H, W) float32 tensor in [0, 1] from a PIL image of mode RGB, L or 16-bit grayscale (I;16)."""
    if image.mode in _GRAY16_MODES:
        # Pillow's convert("L"/"RGB") clips 16-bit values at 255 instead of rescaling: scale by hand.
        arr16 = np.asarray(image).astype(np.float32) / 65535.0
        return torch.from_numpy(arr16.copy())[None]
    arr = np.asarray(image, dtype=np.uint8)
    if arr.ndim == 2:
        arr = arr[:, :, None]
    return torch.from_numpy(arr.copy()).permute(2, 0, 1).float().div_(255.0)


def load_image(path: str | os.PathLike[str]) -> torch.Tensor:
    """Read an image file as a (3, H, W) float32 tensor in [0, 1].

    Grayscale (8- or 16-bit) and palette images are converted to RGB; an alpha channel is composited on white.

    Args:
        path: any file format Pillow reads.

    Raises:
        FileNotFoundError: the path does not exist.
        ValueError: the file is not an image Pillow can read.

    Example:
        >>> img = load_image("examples/images/astronaut.png")  # doctest: +SKIP
        >>> img.shape, img.dtype
        (torch.Size([3, 256, 256]), torch.float32)
    """
    p = Path(path)
    if not p.exists():
        raise FileNotFoundError(f"image file not found: {str(p)!r}")
    if p.is_dir():
        raise ValueError(f"expected an image file, got a directory: {str(p)!r}")
    try:
        with Image.open(p) as im:
            im.load()
            if im.mode in ("RGBA", "LA", "PA") or (im.mode == "P" and "transparency" in im.info):
                rgba = im.convert("RGBA")
                background = Image.new("RGBA", rgba.size, (255, 255, 255, 255))
                rgb = Image.alpha_composite(background, rgba).convert("RGB")
            elif im.mode in _GRAY16_MODES:
                return pil_to_tensor(im).expand(3, -1, -1).contiguous()
            else:
                rgb = im.convert("RGB")
    except (UnidentifiedImageError, OSError, SyntaxError) as e:
        raise ValueError(f"not a readable image file: {str(p)!r} ({type(e).__name__}: {e})") from None
    return pil_to_tensor(rgb)
