"""A batch ready for the network: validated, on the model's device and dtype, resized, with its resize norm."""

from __future__ import annotations

from dataclasses import dataclass

import torch

from .archs import Backbone
from .inputs import DEFAULT_VALUE_RANGE, ImageInput, to_batch
from .resize import resize, resize_operator_norm

__all__ = ["PreparedBatch", "prepare_batch"]


@dataclass(frozen=True)
class PreparedBatch:
    """Images as the network takes them, with the factor the certificates need.

    Attributes:
        pixels: (N, C, H, W) network input, on the model's device and in its dtype.
        resize_norm: c such that moving a caller's image by delta (l2, pixels in the caller's value range: [0, 1]
            by default) moves the network output by at most c * ||delta||: the resize operator norm times the
            network's Lipschitz bound at that size (docs/certificates.md, 'Resizing and the size-normalised
            pool'), divided by the width of the value range (2 for [-1, 1]: the map onto [0, 1] halves distances).
        input_size: (H, W) of the caller's images, before any resize (the pixels' own size when not given).
    """

    pixels: torch.Tensor
    resize_norm: float
    input_size: tuple[int, int] = (0, 0)

    def __post_init__(self) -> None:
        if self.input_size == (0, 0):  # built by hand from network-ready pixels
            object.__setattr__(self, "input_size", (int(self.pixels.shape[-2]), int(self.pixels.shape[-1])))


def prepare_batch(
    image: ImageInput,
    backbone: Backbone,
    name: str = "image",
    *,
    resize_inputs: bool = True,
    expand_gray: bool = False,
    value_range: tuple[float, float] = DEFAULT_VALUE_RANGE,
) -> PreparedBatch:
    """Validate ``image``, move it to ``backbone``'s device and dtype, and resize it to the network size.

    Args:
        image: what :func:`lipsim.inputs.to_batch` accepts (tensors, PIL images, paths).
        backbone: the network the batch is for.
        name: how errors name the input.
        resize_inputs: resize to :meth:`~lipsim.archs.Backbone.network_size`; without it, an arch with a fixed
            input size refuses other sizes.
        expand_gray: accept one-channel images and replicate them to RGB.
        value_range: (low, high) of the caller's float pixels, mapped onto [0, 1]; the returned ``resize_norm``
            is divided by ``high - low``, so that budgets and radii stay in the caller's units.

    Example:
        >>> from lipsim.archs import build_arch
        >>> p = prepare_batch(torch.rand(1, 3, 128, 128), build_arch(image_size=64))
        >>> tuple(p.pixels.shape), round(p.resize_norm, 3)
        ((1, 3, 64, 64), 0.501)
        >>> q = prepare_batch(torch.rand(1, 3, 128, 128) * 2 - 1, build_arch(image_size=64), value_range=(-1, 1))
        >>> p.resize_norm / q.resize_norm                 # [-1, 1] pixels: half the factor, radii twice as large
        2.0
    """
    x = to_batch(image, name, expand_gray, value_range)
    scale = 1.0 / (float(value_range[1]) - float(value_range[0]))  # caller units -> [0, 1] units
    p = next(backbone.parameters())
    x = x.to(device=p.device, dtype=p.dtype if p.is_floating_point() else torch.float32)
    in_size = (int(x.shape[-2]), int(x.shape[-1]))
    if resize_inputs:
        size = backbone.network_size(in_size)
        # a caller perturbation delta moves phi by at most ||P|| * L(size) * ||delta||
        norm = resize_operator_norm(in_size, size) * backbone.lipschitz_bound(size) * scale
        return PreparedBatch(resize(x, size), norm, in_size)
    need = backbone.input_size
    if need is not None and in_size != tuple(need):
        raise ValueError(
            f"{name}: arch {backbone.arch!r} needs {need[0]}x{need[1]} images, got "
            f"{x.shape[-2]}x{x.shape[-1]}; use resize=True"
        )
    return PreparedBatch(x, backbone.lipschitz_bound(in_size) * scale, in_size)
