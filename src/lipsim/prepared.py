"""A batch ready for the network: validated, on the model's device and dtype, resized, with its resize norm."""

from __future__ import annotations

from dataclasses import dataclass

import torch

from .archs import Backbone
from .inputs import ImageInput, to_batch
from .resize import resize, resize_operator_norm

__all__ = ["PreparedBatch", "prepare_batch"]


@dataclass(frozen=True)
class PreparedBatch:
    """Images as the network takes them, with the factor the certificates need.

    Attributes:
        pixels: (N, C, H, W) network input, on the model's device and in its dtype.
        resize_norm: c such that moving a caller's image by delta (l2, pixels in [0, 1]) moves the network
            output by at most c * ||delta||: the resize operator norm times the network's Lipschitz bound at
            that size (docs/certificates.md, 'Resizing and the size-normalised pool').
    """

    pixels: torch.Tensor
    resize_norm: float


def prepare_batch(
    image: ImageInput, backbone: Backbone, name: str = "image", *, resize_inputs: bool = True, expand_gray: bool = False
) -> PreparedBatch:
    """Validate ``image``, move it to ``backbone``'s device and dtype, and resize it to the network size.

    Args:
        image: what :func:`lipsim.inputs.to_batch` accepts (tensors, PIL images, paths).
        backbone: the network the batch is for.
        name: how errors name the input.
        resize_inputs: resize to :meth:`~lipsim.archs.Backbone.network_size`; without it, an arch with a fixed
            input size refuses other sizes.
        expand_gray: accept one-channel images and replicate them to RGB.

    Example:
        >>> from lipsim.archs import build_arch
        >>> p = prepare_batch(torch.rand(1, 3, 128, 128), build_arch(image_size=64))
        >>> tuple(p.pixels.shape), round(p.resize_norm, 3)
        ((1, 3, 64, 64), 0.501)
    """
    x = to_batch(image, name, expand_gray)
    p = next(backbone.parameters())
    x = x.to(device=p.device, dtype=p.dtype if p.is_floating_point() else torch.float32)
    in_size = (int(x.shape[-2]), int(x.shape[-1]))
    if resize_inputs:
        size = backbone.network_size(in_size)
        # a caller perturbation delta moves phi by at most ||P|| * L(size) * ||delta||
        return PreparedBatch(resize(x, size), resize_operator_norm(in_size, size) * backbone.lipschitz_bound(size))
    need = backbone.input_size
    if need is not None and in_size != tuple(need):
        raise ValueError(
            f"{name}: arch {backbone.arch!r} needs {need[0]}x{need[1]} images, got "
            f"{x.shape[-2]}x{x.shape[-1]}; use resize=True"
        )
    return PreparedBatch(x, backbone.lipschitz_bound(in_size))
