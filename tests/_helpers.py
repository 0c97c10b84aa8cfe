"""Test helpers: structured images, tiny model configs, randomised weights."""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import nn

from lipsim import LipSim
from lipsim.layers import AOLConv2d, AOLLinear, SLLConv2d, SLLLinear

# Reduced configs of both architectures (same layer types, small enough for exact numerics on CPU).
EFFICIENT_TINY = dict(widths=(8, 16), stem_factor=2, head_width=16, embed_dim=8, image_size=16)
EFFICIENT_SMALL = dict(widths=(8, 16), stem_factor=2, head_width=16, embed_dim=8, image_size=32)
# image_size 16 leaves 6 * 1 * 1 = 6 dense features, so k = 4 there; at 32 there are 6 * 2 * 2 = 24 (k = 8).
PAPER_SMALL_TINY = dict(
    channels=6, conv_inner=3, depth_conv=2, depth_linear=2, linear_inner=16, embed_dim=4, image_size=16
)
PAPER_SMALL_REDUCED = dict(PAPER_SMALL_TINY, embed_dim=8, image_size=32)
TINY = {"efficient": EFFICIENT_TINY, "paper-small": PAPER_SMALL_TINY}


def structured_images(n: int, size: int = 16, seed: int = 0, dtype: torch.dtype = torch.float64) -> torch.Tensor:
    """(n, 3, size, size) images in [0, 1]: a random colour per image, a smooth random field, mild noise.

    Uniform noise images all look alike to a random-init network (||f|| ~ 1e-4, distances ~ 1e-8);
    these differ in mean colour and low-frequency content, so distances and radii are far from 0.
    """
    g = torch.Generator().manual_seed(seed)
    offset = torch.rand(n, 3, 1, 1, generator=g) * 0.6 + 0.2
    low = torch.randn(n, 3, 3, 3, generator=g) * 0.15
    field = F.interpolate(low, size=(size, size), mode="bicubic", align_corners=False)
    noise = torch.randn(n, 3, size, size, generator=g) * 0.03
    return (offset + field + noise).clamp(0.0, 1.0).to(dtype)


def tiny_model(arch: str = "efficient", dtype: torch.dtype = torch.float64, **kwargs) -> LipSim:
    """A random-init LipSim of a reduced config, in eval mode, parameters frozen."""
    torch.manual_seed(kwargs.pop("seed", 0))
    cfg = {**TINY[arch], **kwargs}
    return LipSim(pretrained=False, arch=arch, **cfg).to(dtype).eval().requires_grad_(False)


@torch.no_grad()
def randomize_(module: nn.Module, seed: int = 0, bias_std: float = 0.5) -> nn.Module:
    """Random weights everywhere (not the near-isometric init), non-zero biases and random SLL q.

    Puts the ReLUs of SLL layers in a mixed regime and takes AOL far from the orthogonal init, so the
    Lipschitz checks are not passing only because of a benign initialisation.
    """
    g = torch.Generator().manual_seed(seed)
    for m in module.modules():
        if isinstance(m, (SLLConv2d, AOLConv2d)):
            m.kernel.copy_(torch.randn(m.kernel.shape, generator=g, dtype=m.kernel.dtype))
        if isinstance(m, (SLLLinear, AOLLinear)):
            m.weight.copy_(torch.randn(m.weight.shape, generator=g, dtype=m.weight.dtype))
        if isinstance(m, (SLLConv2d, SLLLinear, AOLConv2d, AOLLinear)) and m.bias is not None:
            m.bias.copy_(torch.randn(m.bias.shape, generator=g, dtype=m.bias.dtype) * bias_std)
        if isinstance(m, (SLLConv2d, SLLLinear)):
            m.q.copy_(torch.randn(m.q.shape, generator=g, dtype=m.q.dtype))
    return module
