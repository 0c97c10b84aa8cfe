"""Validation and conversion of user images to float (N, 3, H, W) batches in [0, 1]."""

from __future__ import annotations

import os
from collections.abc import Sequence

import torch
from PIL import Image

from .image_io import load_image, pil_to_tensor

__all__ = ["ImageInput", "to_batch"]

ImageInput = torch.Tensor | Image.Image | str | os.PathLike | Sequence

_FLOAT_DTYPES = (torch.float16, torch.bfloat16, torch.float32, torch.float64)
_GRAY_PIL_MODES = ("L", "I", "I;16", "I;16B", "I;16L", "F", "1")


def _from_pil(image: Image.Image, name: str, expand_gray: bool) -> torch.Tensor:
    if image.mode in ("RGBA", "LA", "PA"):
        raise ValueError(
            f"{name}: PIL image has an alpha channel (mode {image.mode!r}); expected RGB. "
            "Use image.convert('RGB') or lipsim.load_image(path)"
        )
    if image.mode in _GRAY_PIL_MODES:
        if not expand_gray:
            raise ValueError(
                f"{name}: expected an RGB image, got a grayscale PIL image (mode {image.mode!r}); "
                "pass expand_gray=True to replicate it over 3 channels"
            )
        return pil_to_tensor(image).expand(3, -1, -1)  # every gray depth by its real range
    return pil_to_tensor(image.convert("RGB"))


def _check_tensor(x: torch.Tensor, name: str, expand_gray: bool) -> torch.Tensor:
    from_uint8 = x.dtype == torch.uint8
    if from_uint8:
        x = x.float() / 255.0
    elif x.dtype not in _FLOAT_DTYPES:
        raise TypeError(f"{name}: expected a float tensor in [0, 1] or a uint8 tensor in [0, 255], got dtype {x.dtype}")
    if x.dim() == 3:
        x = x.unsqueeze(0)
    if x.dim() != 4:
        raise ValueError(f"{name}: expected shape (C, H, W) or (N, C, H, W), got {tuple(x.shape)} (rank {x.dim()})")
    n, c, h, w = x.shape
    if n == 0 or h == 0 or w == 0:
        raise ValueError(f"{name}: empty image batch of shape {tuple(x.shape)}")
    if c == 1:
        if not expand_gray:
            raise ValueError(
                f"{name}: expected 3 channels (RGB), got 1 in shape {tuple(x.shape)}; "
                "pass expand_gray=True to replicate grayscale over 3 channels"
            )
        x = x.expand(n, 3, h, w)
    elif c != 3:
        hint = " (channels-last? use x.permute(0, 3, 1, 2))" if x.shape[-1] in (1, 3) else ""
        raise ValueError(f"{name}: expected 3 channels (RGB) in dim 1, got {c} in shape {tuple(x.shape)}{hint}")
    if from_uint8:
        return x  # k / 255 with k in 0..255: finite and in [0, 1] by construction
    xd = x.detach()
    # One pass over the pixels: min and max propagate NaN, and an inf lands on one of them, so the common
    # case (finite, in range) is settled by two comparisons; the counts are only needed for the message.
    lo_t, hi_t = torch.aminmax(xd)
    lo, hi = float(lo_t), float(hi_t)
    if 0.0 <= lo and hi <= 1.0:
        return x
    if not bool(torch.isfinite(xd).all()):
        n_nan = int(torch.isnan(xd).sum())
        n_inf = int(torch.isinf(xd).sum())
        raise ValueError(f"{name}: contains non-finite values ({n_nan} NaN, {n_inf} inf); expected values in [0, 1]")
    if lo < 0.0 or hi > 1.0:
        hint = "; images in [-1, 1] (LPIPS convention) convert with (x + 1) / 2" if lo >= -1.0 and lo < 0 else ""
        hint = hint or ("; uint8-range floats convert with x / 255" if hi > 1.0 and hi <= 255.0 else "")
        raise ValueError(f"{name}: float values must be in [0, 1], got min={lo:.6g}, max={hi:.6g}{hint}")
    return x


def to_batch(image: ImageInput, name: str = "image", expand_gray: bool = False) -> torch.Tensor:
    """Convert one image or a batch to a float (N, 3, H, W) tensor in [0, 1], validating it.

    Accepted: float tensors in [0, 1] (CHW or NCHW), uint8 tensors (divided by 255), PIL images, paths
    (read with :func:`lipsim.load_image`), and lists of those with equal sizes.

    Args:
        image: the input.
        name: how the input is called in error messages.
        expand_gray: accept one-channel images and replicate them to RGB.

    Raises:
        TypeError: unsupported type or dtype.
        ValueError: wrong rank or channel count, NaN/inf, values outside [0, 1], empty or mismatched batch.

    Example:
        >>> to_batch(torch.zeros(3, 8, 8, dtype=torch.uint8)).shape
        torch.Size([1, 3, 8, 8])
    """
    if isinstance(image, torch.Tensor):
        return _check_tensor(image, name, expand_gray)
    if isinstance(image, Image.Image):
        return _from_pil(image, name, expand_gray).unsqueeze(0)
    if isinstance(image, (str, os.PathLike)):
        return load_image(image).unsqueeze(0)
    if isinstance(image, (list, tuple)):
        if not image:
            raise ValueError(f"{name}: empty list of images")
        items = [to_batch(im, f"{name}[{i}]", expand_gray) for i, im in enumerate(image)]
        sizes = {tuple(t.shape[-2:]) for t in items}
        if len(sizes) > 1:
            raise ValueError(f"{name}: images in a list must share one size, got sizes {sorted(sizes)}")
        dtypes = {t.dtype for t in items}
        dtype = torch.float64 if torch.float64 in dtypes else torch.float32
        return torch.cat([t.to(dtype) for t in items])
    raise TypeError(
        f"{name}: expected a torch.Tensor, PIL.Image.Image, path or list of those, got {type(image).__name__}"
        + ("; for numpy arrays use torch.from_numpy(a).permute(2, 0, 1)" if type(image).__module__ == "numpy" else "")
    )
