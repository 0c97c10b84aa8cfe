"""Where two images differ: a per-location map from the backbone's feature maps (a visual aid, not a certificate).

The network's convolutional stages keep a spatial layout until the pool sums it away. For each stage s (the last
feature map at each resolution of ``backbone.features``), each position holds a feature vector; the map of that
stage is, per position, the squared distance between the two images' channel-normalised vectors,
``|| a / ||a|| - b / ||b|| ||^2`` in [0, 4] (LPIPS's ``spatial=True`` without its learned channel weights). Each
stage map is upsampled (bilinear) to the network input, the stages are averaged, and the result is resized to the
caller's image size.

The map says where the feature maps of the two images disagree, and how much, relative to the rest of the image.
It carries **no certificate**: only the distance and its radii are certified, and a perturbation can move the map
freely.
"""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import nn

from .layers import SpaceToDepth
from .resize import resize

__all__ = ["difference_map", "stage_features"]

#: added to a feature vector's norm before dividing by it (a vector of zeros stays zero instead of NaN)
_NORM_EPS = 1e-10


def stage_features(features: nn.Module, x: torch.Tensor) -> list[tuple[torch.Tensor, int]]:
    """(feature map, cell size in input pixels) of each stage of ``features`` on ``x``.

    With an ``nn.Sequential`` holding :class:`~lipsim.layers.SpaceToDepth` layers, a stage is the last output at
    each resolution after the first space-to-depth (the raw pixels are not a stage); its cell size is the product
    of the space-to-depth factors so far. Any other module gives one stage, its output, whose cell size is taken
    from the input and output heights.

    Example:
        >>> from lipsim.archs import build_arch
        >>> net = build_arch("efficient", widths=(8, 16), stem_factor=2, head_width=16, embed_dim=8)
        >>> [(tuple(f.shape), cell) for f, cell in stage_features(net.features, torch.rand(1, 3, 16, 16))]
        [((1, 8, 8, 8), 2), ((1, 16, 4, 4), 4)]
    """
    layers = list(features) if isinstance(features, nn.Sequential) else []
    if not any(isinstance(layer, SpaceToDepth) for layer in layers):
        out = features(x)
        return [(out, max(1, -(-int(x.shape[-2]) // int(out.shape[-2]))))]
    stages: list[tuple[torch.Tensor, int]] = []
    cell = 1
    for i, layer in enumerate(layers):
        if isinstance(layer, SpaceToDepth) and cell > 1 and i > 0:
            stages.append((x, cell))  # the last map at this resolution
        x = layer(x)
        if isinstance(layer, SpaceToDepth):
            cell *= int(layer.factor)
    stages.append((x, cell))
    return stages


def _stage_map(a: torch.Tensor, b: torch.Tensor) -> torch.Tensor:
    """(N, 1, h, w): per position, the squared distance of the channel-normalised feature vectors, in [0, 4]."""
    ua = a / (a.norm(dim=1, keepdim=True) + _NORM_EPS)
    ub = b / (b.norm(dim=1, keepdim=True) + _NORM_EPS)
    return (ua - ub).pow(2).sum(dim=1, keepdim=True)


def difference_map(features: nn.Module, x0: torch.Tensor, x1: torch.Tensor, size: tuple[int, int]) -> torch.Tensor:
    """(N, 1, H, W) map of where network inputs ``x0`` and ``x1`` differ, resized to ``size`` = (H, W).

    Args:
        features: the convolutional part of the backbone (``backbone.features``).
        x0: (N, 3, h, w) network inputs (as :meth:`lipsim.LipSim.prepare` gives them).
        x1: network inputs of the same shape as ``x0`` (or a batch of one, compared with every image of ``x0``).
        size: (H, W) of the returned map (the caller's image size).

    Returns:
        The mean over stages of the per-position squared distance of channel-normalised features, each upsampled
        (bilinear) to the network input; values in [0, 4], 0 where the features agree. Differentiable.

    Example:
        >>> from lipsim.archs import build_arch
        >>> net = build_arch("efficient", widths=(8, 16), stem_factor=2, head_width=16, embed_dim=8)
        >>> x = torch.rand(1, 3, 16, 16)
        >>> m = difference_map(net.features, x, x, (20, 20)).detach()   # an image against itself: zero everywhere
        >>> m.shape, float(m.max())
        (torch.Size([1, 1, 20, 20]), 0.0)
    """
    n = max(x0.shape[0], x1.shape[0])
    h, w = int(x0.shape[-2]), int(x0.shape[-1])
    joint = x0.shape == x1.shape
    if joint:  # one pass over both
        both = stage_features(features, torch.cat([x0, x1]))
        pairs = [(f[: x0.shape[0]], f[x0.shape[0] :], cell) for f, cell in both]
    else:
        pairs = [(a, b, cell) for (a, cell), (b, _) in zip(stage_features(features, x0), stage_features(features, x1))]
    total = x0.new_zeros(n, 1, h, w)
    for a, b, cell in pairs:
        m = _stage_map(a, b)
        up = F.interpolate(m, size=(m.shape[-2] * cell, m.shape[-1] * cell), mode="bilinear", align_corners=False)
        total = total + up[..., :h, :w]  # the cells past the input are the space-to-depth zero padding
    return resize(total / len(pairs), size).clamp_min(0)
