"""Parametric image distortions with a severity knob, for synthetic 2AFC severity triplets.

Each family maps ``strength`` in (0, 1] (1 = strongest) to a distortion whose visible effect grows
with strength; strength 0.2 and 0.8 are clearly different to a person. Random parts (noise values,
directions, warp fields) are drawn from the given ``torch.Generator`` independently of ``strength``,
so the same generator state at two strengths gives the same distortion "direction", only stronger.

Families and their parameter at strength ``s``:
    noise     additive gaussian noise, sigma = 0.2 * s
    blur      gaussian blur, sigma = 4 * s pixels (replicate border)
    jpeg      PIL JPEG round trip, quality = round(80 * (3 / 80) ** s), i.e. 41 at 0.2, 6 at 0.8, 3 at 1
    color     contrast x (1 +- 0.6 s), saturation x (1 +- 0.8 s), hue +- 0.15 s turns (random signs)
    pixelate  area-average down by 1 + 9 s, nearest-neighbour back up
    quantize  round(2 ** (1 + 4 (1 - s))) levels per channel (2 levels at s = 1)
    shift     sub-pixel translation up to 0.04 s * min(H, W) plus a smooth warp of amplitude
              0.05 s * min(H, W) (bilinear resampling, border padding)

Example:
    >>> g = torch.Generator().manual_seed(0)
    >>> y = distort(torch.rand(3, 32, 32), "blur", 0.5, g)
    >>> y.shape
    torch.Size([3, 32, 32])
"""

from __future__ import annotations

import io
import math

import numpy as np
import torch
import torch.nn.functional as F
from PIL import Image
from torch import Tensor
from torchvision.transforms.v2 import functional as TF

FAMILIES: tuple[str, ...] = ("noise", "blur", "jpeg", "color", "pixelate", "quantize", "shift")
#: the families a copy of a photo may carry at mild strength and still be "the same photo"
MILD_FAMILIES: tuple[str, ...] = ("noise", "blur", "jpeg", "color", "shift")


def _noise(img: Tensor, s: float, gen: torch.Generator) -> Tensor:
    noise = torch.randn(img.shape, generator=gen, dtype=torch.float32).to(img)
    return img + (0.2 * s) * noise


def _blur(img: Tensor, s: float, gen: torch.Generator) -> Tensor:
    sigma = 4.0 * s
    radius = max(1, math.ceil(3.0 * sigma))
    t = torch.arange(-radius, radius + 1, dtype=img.dtype, device=img.device)
    k = torch.exp(-0.5 * (t / sigma) ** 2)
    k = k / k.sum()
    x = img[None]
    x = F.conv2d(F.pad(x, (radius, radius, 0, 0), mode="replicate"), k.view(1, 1, 1, -1).expand(3, 1, 1, -1), groups=3)
    x = F.conv2d(F.pad(x, (0, 0, radius, radius), mode="replicate"), k.view(1, 1, -1, 1).expand(3, 1, -1, 1), groups=3)
    return x[0]


def _jpeg(img: Tensor, s: float, gen: torch.Generator) -> Tensor:
    quality = max(1, min(95, round(80.0 * (3.0 / 80.0) ** s)))
    arr = (img.detach().cpu().clamp(0, 1) * 255.0).round().to(torch.uint8).permute(1, 2, 0).numpy()
    buf = io.BytesIO()
    Image.fromarray(arr).save(buf, format="JPEG", quality=quality, subsampling=2, optimize=False)
    buf.seek(0)
    with Image.open(buf) as decoded:
        out = np.asarray(decoded.convert("RGB"), dtype=np.float32) / 255.0
    return torch.from_numpy(out.copy()).permute(2, 0, 1).to(img)


def _color(img: Tensor, s: float, gen: torch.Generator) -> Tensor:
    signs = (torch.rand(3, generator=gen) < 0.5).tolist()
    sign = [1.0 if b else -1.0 for b in signs]
    out = TF.adjust_contrast(img, 1.0 + sign[0] * 0.6 * s)
    out = TF.adjust_saturation(out.clamp(0, 1), 1.0 + sign[1] * 0.8 * s)
    return TF.adjust_hue(out.clamp(0, 1), sign[2] * 0.15 * s)


def _pixelate(img: Tensor, s: float, gen: torch.Generator) -> Tensor:
    h, w = img.shape[-2:]
    factor = 1.0 + 9.0 * s
    small = (max(1, round(h / factor)), max(1, round(w / factor)))
    x = F.interpolate(img[None], size=small, mode="area")
    return F.interpolate(x, size=(h, w), mode="nearest")[0]


def _quantize(img: Tensor, s: float, gen: torch.Generator) -> Tensor:
    levels = max(2, round(2.0 ** (1.0 + 4.0 * (1.0 - s))))
    return torch.round(img.clamp(0, 1) * (levels - 1)) / (levels - 1)


def _shift(img: Tensor, s: float, gen: torch.Generator) -> Tensor:
    h, w = img.shape[-2:]
    short = min(h, w)
    angle = 2.0 * math.pi * torch.rand(1, generator=gen, dtype=torch.float64).item()
    field = torch.randn((1, 2, 4, 4), generator=gen, dtype=torch.float32)
    field = F.interpolate(field, size=(h, w), mode="bicubic", align_corners=True)
    field = field / field.abs().amax().clamp_min(1e-6)  # smooth field, max |displacement| 1
    shift_px = 0.04 * s * short
    warp_px = 0.05 * s * short
    dx = shift_px * math.cos(angle) + warp_px * field[0, 0]
    dy = shift_px * math.sin(angle) + warp_px * field[0, 1]
    ys = torch.arange(h, dtype=torch.float32)
    xs = torch.arange(w, dtype=torch.float32)
    gy, gx = torch.meshgrid(ys, xs, indexing="ij")
    # grid_sample with align_corners=False: normalised coordinate of pixel centre i is (2 i + 1) / n - 1
    sx = (2.0 * (gx + dx) + 1.0) / w - 1.0
    sy = (2.0 * (gy + dy) + 1.0) / h - 1.0
    grid = torch.stack((sx, sy), dim=-1)[None].to(img)
    return F.grid_sample(img[None], grid, mode="bilinear", padding_mode="border", align_corners=False)[0]


_IMPL = {
    "noise": _noise,
    "blur": _blur,
    "jpeg": _jpeg,
    "color": _color,
    "pixelate": _pixelate,
    "quantize": _quantize,
    "shift": _shift,
}


def distort(img: Tensor, family: str, strength: float, generator: torch.Generator) -> Tensor:
    """Apply one distortion family at a given strength.

    Args:
        img: Float tensor (3, H, W) with values in [0, 1].
        family: One of :data:`FAMILIES`.
        strength: Severity in (0, 1]; 1 is the strongest.
        generator: CPU ``torch.Generator``; the result is a pure function of (img, family, strength,
            generator state). Families without randomness (jpeg, pixelate, quantize, blur) do not
            advance it.

    Returns:
        Float tensor (3, H, W) in [0, 1], same dtype and device as ``img``.

    Raises:
        TypeError: If ``img`` is not a floating tensor or ``generator`` is not a ``torch.Generator``.
        ValueError: On a wrong shape, an unknown family or a strength outside (0, 1].

    Example:
        >>> g = torch.Generator().manual_seed(0)
        >>> distort(torch.full((3, 8, 8), 0.6), "quantize", 1.0, g).unique().tolist()
        [1.0]
    """
    if not isinstance(img, Tensor) or not img.is_floating_point():
        raise TypeError(
            f"img must be a floating-point torch.Tensor, got {type(img).__name__}"
            + (f" of dtype {img.dtype}" if isinstance(img, Tensor) else "")
        )
    if img.ndim != 3 or img.shape[0] != 3:
        raise ValueError(f"img must have shape (3, H, W), got {tuple(img.shape)}")
    if family not in _IMPL:
        raise ValueError(f"unknown distortion family {family!r}; expected one of {FAMILIES}")
    if isinstance(strength, bool) or not isinstance(strength, (int, float)) or not 0.0 < float(strength) <= 1.0:
        raise ValueError(f"strength must be a number in (0, 1], got {strength!r}")
    if not isinstance(generator, torch.Generator):
        raise TypeError(f"generator must be a torch.Generator, got {type(generator).__name__}")
    return _IMPL[family](img, float(strength), generator).clamp(0.0, 1.0)
