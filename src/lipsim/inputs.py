"""Validation and conversion of user images to float (N, 3, H, W) batches in [0, 1].

Float tensors hold values in [0, 1] by default; ``value_range=(-1, 1)`` takes them in [-1, 1] instead (the LPIPS
convention) and maps them linearly onto [0, 1]. uint8 tensors, PIL images and files carry their own range
(0..255 or the file's depth) and are converted to [0, 1] whatever ``value_range`` says.
"""

from __future__ import annotations

import math
import os
from collections.abc import Sequence

import torch
from PIL import Image

from .image_io import load_image, pil_to_tensor

__all__ = ["DEFAULT_VALUE_RANGE", "ImageInput", "check_value_range", "to_batch"]

ImageInput = torch.Tensor | Image.Image | str | os.PathLike | Sequence

#: The range of float pixels unless a caller says otherwise.
DEFAULT_VALUE_RANGE: tuple[float, float] = (0.0, 1.0)

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


def check_value_range(value_range: object) -> tuple[float, float]:
    """``value_range`` as a (low, high) pair of floats, or a ValueError saying what a range must be.

    Example:
        >>> check_value_range((-1, 1))
        (-1.0, 1.0)
    """
    pair: list[float] = []
    if isinstance(value_range, (tuple, list)) and len(value_range) == 2:
        pair = [float(v) for v in value_range if isinstance(v, (int, float)) and not isinstance(v, bool)]
    if len(pair) != 2 or not all(math.isfinite(v) for v in pair) or not pair[0] < pair[1]:
        raise ValueError(
            f"value_range must be (low, high) with finite numbers low < high, such as (0, 1) or (-1, 1); "
            f"got {value_range!r}"
        )
    return pair[0], pair[1]


def _show_range(value_range: tuple[float, float]) -> str:
    return f"[{value_range[0]:g}, {value_range[1]:g}]"


def _check_tensor(
    x: torch.Tensor, name: str, expand_gray: bool, value_range: tuple[float, float] = DEFAULT_VALUE_RANGE
) -> torch.Tensor:
    rng = _show_range(value_range)
    from_uint8 = x.dtype == torch.uint8
    if from_uint8:
        x = x.float() / 255.0
    elif x.dtype not in _FLOAT_DTYPES:
        raise TypeError(f"{name}: expected a float tensor in {rng} or a uint8 tensor in [0, 255], got dtype {x.dtype}")
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
    low, high = value_range
    if low <= lo and hi <= high:
        # (x - low) / (high - low) rounds monotonically, so it stays in [0, 1]; for (-1, 1) it is exact up to x + 1
        return x if value_range == DEFAULT_VALUE_RANGE else (x - low) / (high - low)
    if not bool(torch.isfinite(xd).all()):
        n_nan = int(torch.isnan(xd).sum())
        n_inf = int(torch.isinf(xd).sum())
        raise ValueError(f"{name}: contains non-finite values ({n_nan} NaN, {n_inf} inf); expected values in {rng}")
    hint = ""
    if value_range == DEFAULT_VALUE_RANGE:
        if -1.0 <= lo < 0:
            hint = "; images in [-1, 1] (the LPIPS convention): pass value_range=(-1, 1) to LipSim, or use (x + 1) / 2"
        elif 1.0 < hi <= 255.0:
            hint = "; uint8-range floats convert with x / 255"
    raise ValueError(f"{name}: float values must be in {rng}, got min={lo:.6g}, max={hi:.6g}{hint}")


def to_batch(
    image: ImageInput,
    name: str = "image",
    expand_gray: bool = False,
    value_range: tuple[float, float] = DEFAULT_VALUE_RANGE,
) -> torch.Tensor:
    """Convert one image or a batch to a float (N, 3, H, W) tensor in [0, 1], validating it.

    Accepted: float tensors in ``value_range`` (CHW or NCHW; mapped linearly onto [0, 1]), uint8 tensors (divided
    by 255), PIL images, paths (read with :func:`lipsim.load_image`), and lists of those with equal sizes.

    Args:
        image: the input.
        name: how the input is called in error messages.
        expand_gray: accept one-channel images and replicate them to RGB.
        value_range: (low, high) of float tensors: (0, 1) by default, (-1, 1) for the LPIPS convention.

    Raises:
        TypeError: unsupported type or dtype.
        ValueError: wrong rank or channel count, NaN/inf, values outside ``value_range``, empty or mismatched batch.

    Example:
        >>> to_batch(torch.zeros(3, 8, 8, dtype=torch.uint8)).shape
        torch.Size([1, 3, 8, 8])
        >>> to_batch(torch.tensor([-1.0, 0.0, 1.0]).view(1, 3, 1, 1), value_range=(-1, 1)).flatten().tolist()
        [0.0, 0.5, 1.0]
    """
    if value_range != DEFAULT_VALUE_RANGE:
        value_range = check_value_range(value_range)
    if isinstance(image, torch.Tensor):
        return _check_tensor(image, name, expand_gray, value_range)
    if isinstance(image, Image.Image):
        return _from_pil(image, name, expand_gray).unsqueeze(0)
    if isinstance(image, (str, os.PathLike)):
        return load_image(image).unsqueeze(0)
    if isinstance(image, (list, tuple)):
        if not image:
            raise ValueError(f"{name}: empty list of images")
        items = [to_batch(im, f"{name}[{i}]", expand_gray, value_range) for i, im in enumerate(image)]
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
