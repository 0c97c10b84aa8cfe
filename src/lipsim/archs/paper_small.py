"""``paper-small``: the architecture of the LipSim authors' released checkpoints (docs/layers.md, 'Architectures').

Input 3x224x224 in [0, 1] (no normalisation) -> zero-pad channels 3 -> 45 -> 20 SLL convs (45 channels,
inner width 5, 3x3, the conv-q quirk) -> two 4x4 window-sum/4 pools (224 -> 56 -> 14) -> channel-major
flatten (45*14*14 = 8820) -> 7 SLL dense layers (inner width 1024) -> first 1792 coordinates.

This is the layout of the authors' network (their ``L2LipschitzNetwork``): zero channel padding, the 20
conv layers followed by both pools, flatten, the dense layers, then truncation to the first k coordinates.

Eval-mode inference (no autograd recording) takes a faster route with the same function: every weight-only
quantity is cached by the layers (T of the dense layers is ~65 GMAC), the conv stack runs in channels_last
layout (oneDNN's fast path for these 45 -> 5 -> 45 channel convs), a few images at a time so that the
activations stay in the CPU cache.
"""

from __future__ import annotations

import torch
from torch import nn

from ..layers import FirstK, SLLConv2d, SLLLinear, WindowSumPool, ZeroChannelPad
from ..layers.sll import inference_only
from .backbone import Backbone

__all__ = ["PaperSmall"]


class PaperSmall(Backbone, arch="paper-small"):
    """The LipSim paper's small network (63.3 M parameters, about 4.2 GMAC per image).

    Attributes:
        inference_chunk: images pushed through the conv stack at a time on the eval inference path
            (memory and cache locality; it does not change the result).
    """

    inference_chunk: int = 8

    def __init__(
        self,
        channels: int = 45,
        conv_inner: int = 5,
        depth_conv: int = 20,
        depth_linear: int = 7,
        linear_inner: int = 1024,
        embed_dim: int = 1792,
        image_size: int = 224,
        paper_q_quirk: bool = True,
    ) -> None:
        super().__init__()
        side = image_size // 16
        if side * 16 != image_size:
            raise ValueError(f"paper-small needs an image_size divisible by 16, got {image_size}")
        features = channels * side * side
        self.embed_dim = embed_dim
        self.image_size = image_size
        self.input_size = (image_size, image_size)
        self.pad = ZeroChannelPad(channels)
        self.convs = nn.Sequential(
            *[SLLConv2d(channels, conv_inner, 3, paper_q_quirk=paper_q_quirk) for _ in range(depth_conv)]
        )
        self.pool = nn.Sequential(WindowSumPool(4), WindowSumPool(4))
        self.linear = nn.Sequential(*[SLLLinear(features, linear_inner) for _ in range(depth_linear)])
        self.project = FirstK(embed_dim)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        if inference_only(self, x):
            return self._forward_inference(x)
        x = self.pool(self.convs(self.pad(x)))
        return self.project(self.linear(x.flatten(1)))

    def _forward_inference(self, x: torch.Tensor) -> torch.Tensor:
        feats = []
        for xc in x.split(max(1, int(self.inference_chunk))):
            h = self.pad(xc).contiguous(memory_format=torch.channels_last)
            for layer in self.convs:
                h = layer(h)
            # Not fused into one 16x16 window: a 256-term float32 sum is ~3x less accurate than 16 + 16.
            feats.append(self.pool(h).flatten(1))  # flatten follows the logical (channel-major) order
        f = torch.cat(feats) if len(feats) > 1 else feats[0]
        for layer in self.linear:
            f = layer(f)
        return self.project(f)
