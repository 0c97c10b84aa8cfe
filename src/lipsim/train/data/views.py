"""LipSim's view B: seeded colour jitter and random grayscale of view A, one image or a batch.

The random draws of :func:`jitter_view` and :func:`jitter_views` are the same per generator (six uniforms,
then a permutation of the four adjustments). Training runs cache ``jitter_views`` outputs on disk, so
their draws and arithmetic must never change.

Example:
    >>> import torch
    >>> from lipsim.train.data.views import jitter_view, jitter_views
    >>> from lipsim.train.rng import seeded_generator
    >>> a = torch.rand(2, 3, 8, 8, generator=torch.Generator().manual_seed(0))
    >>> b = jitter_views(a, [seeded_generator("views", 0), seeded_generator("views", 1)])
    >>> b.shape, bool(b.min() >= 0) and bool(b.max() <= 1)
    (torch.Size([2, 3, 8, 8]), True)
    >>> jitter_view(a[0], seeded_generator("views", 0), p_jitter=0.0, p_gray=0.0).equal(a[0])
    True
"""

from __future__ import annotations

import torch
from torch import Tensor
from torchvision.transforms.v2 import functional as TF


def jitter_view(
    view_a: Tensor,
    generator: torch.Generator,
    brightness: float = 0.4,
    contrast: float = 0.4,
    saturation: float = 0.2,
    hue: float = 0.1,
    p_jitter: float = 0.8,
    p_gray: float = 0.2,
) -> Tensor:
    """LipSim view B from view A: ColorJitter (applied with ``p_jitter``) then RandomGrayscale.

    Mirrors torchvision's ``ColorJitter`` (factors uniform in ``[1-b, 1+b]``, hue in ``[-h, h]``,
    the four adjustments in a random order) but draws from ``generator``, always the same count
    of numbers.

    Args:
        view_a: Float tensor (3, H, W) in [0, 1].
        generator: Source of randomness.
        brightness: Brightness jitter amount.
        contrast: Contrast jitter amount.
        saturation: Saturation jitter amount.
        hue: Hue jitter amount (at most 0.5).
        p_jitter: Probability of applying the colour jitter.
        p_gray: Probability of converting to (3-channel) grayscale.

    Returns:
        Float tensor (3, H, W) in [0, 1].

    Example:
        >>> from lipsim.train.rng import seeded_generator
        >>> b = jitter_view(torch.rand(3, 8, 8), seeded_generator(1))
        >>> b.shape
        torch.Size([3, 8, 8])
    """
    u = torch.rand(6, generator=generator, dtype=torch.float64).tolist()
    order = torch.randperm(4, generator=generator).tolist()
    out = view_a
    if u[0] < p_jitter:
        factors = (
            1.0 + brightness * (2.0 * u[1] - 1.0),
            1.0 + contrast * (2.0 * u[2] - 1.0),
            1.0 + saturation * (2.0 * u[3] - 1.0),
            hue * (2.0 * u[4] - 1.0),
        )
        ops = (TF.adjust_brightness, TF.adjust_contrast, TF.adjust_saturation, TF.adjust_hue)
        for k in order:
            out = ops[k](out, factors[k])
    if u[5] < p_gray:
        out = TF.rgb_to_grayscale(out, num_output_channels=3)
    return out.clamp(0.0, 1.0)


def _gray(x: Tensor) -> Tensor:
    return 0.299 * x[:, 0:1] + 0.587 * x[:, 1:2] + 0.114 * x[:, 2:3]


# RGB <-> YIQ: hue is the angle of the (I, Q) chroma vector, so a hue shift is a rotation about the grey axis
_YIQ = torch.tensor([[0.299, 0.587, 0.114], [0.596, -0.274, -0.322], [0.211, -0.523, 0.312]])
_RGB = torch.linalg.inv(_YIQ)


def jitter_views(
    views_a: Tensor,
    generators: list[torch.Generator],
    brightness: float = 0.4,
    contrast: float = 0.4,
    saturation: float = 0.2,
    hue: float = 0.1,
    p_jitter: float = 0.8,
    p_gray: float = 0.2,
) -> Tensor:
    """Batched view B: :func:`jitter_view`'s random draws per image, applied to the whole batch at once.

    Brightness, contrast and saturation are torchvision's formulas; the hue shift is a rotation of the
    YIQ chroma plane by ``2 pi h`` (a fast linear stand-in for the HSV round trip, exact on the grey axis).
    Each image still gets its own factors and its own order of the four adjustments.

    Args:
        views_a: float (N, 3, H, W) in [0, 1].
        generators: one generator per image.

    Example:
        >>> from lipsim.train.rng import seeded_generator
        >>> b = jitter_views(torch.rand(2, 3, 8, 8), [seeded_generator(1), seeded_generator(2)])
        >>> b.shape, bool(b.min() >= 0) and bool(b.max() <= 1)
        (torch.Size([2, 3, 8, 8]), True)
    """
    n = views_a.shape[0]
    if len(generators) != n:
        raise ValueError(f"need one generator per image: {n} images, {len(generators)} generators")
    draws = [torch.rand(6, generator=g, dtype=torch.float64).tolist() for g in generators]
    orders = torch.tensor([torch.randperm(4, generator=g).tolist() for g in generators])
    u = torch.tensor(draws, dtype=views_a.dtype)
    on = (u[:, 0] < p_jitter).view(n, 1, 1, 1)
    fac = torch.stack(
        [
            1 + brightness * (2 * u[:, 1] - 1),
            1 + contrast * (2 * u[:, 2] - 1),
            1 + saturation * (2 * u[:, 3] - 1),
            hue * (2 * u[:, 4] - 1),
        ],
        dim=1,
    )
    out = views_a
    yiq, rgb = _YIQ.to(out), _RGB.to(out)
    for slot in range(4):
        k = orders[:, slot]
        f = fac[torch.arange(n), k].view(n, 1, 1, 1)
        bright = (out * f).clamp(0, 1)
        gray_now = _gray(out)
        mean_gray = gray_now.mean(dim=(1, 2, 3), keepdim=True)
        contr = ((out - mean_gray) * f + mean_gray).clamp(0, 1)
        satur = ((out - gray_now) * f + gray_now).clamp(0, 1)
        c, s = torch.cos(2 * torch.pi * f), torch.sin(2 * torch.pi * f)
        q = torch.einsum("ij,njhw->nihw", yiq, out)
        i2, q2 = c[:, :, :, :] * q[:, 1:2] - s * q[:, 2:3], s * q[:, 1:2] + c * q[:, 2:3]
        hued = torch.einsum("ij,njhw->nihw", rgb, torch.cat([q[:, 0:1], i2, q2], dim=1)).clamp(0, 1)
        kk = k.view(n, 1, 1, 1)
        step = torch.where(kk == 0, bright, torch.where(kk == 1, contr, torch.where(kk == 2, satur, hued)))
        out = torch.where(on, step, out)
    gray = (u[:, 5] < p_gray).view(n, 1, 1, 1)
    return torch.where(gray, _gray(out).expand_as(out), out).clamp(0.0, 1.0)
