"""``efficient``: the package's default staged 1-Lipschitz network.

Early space-to-depth (pixel_unshuffle) keeps every layer narrow at full resolution; each stage is
space-to-depth -> AOL 1x1 (channel mixing) -> MaxMin -> AOL 3x3 -> MaxMin; then a global sum/sqrt(HW)
pool and a dense AOL head with MaxMin. Every block is 1-Lipschitz (design.md, section 4), so the whole
network is, for any input size.
"""

from __future__ import annotations

from typing import Sequence

import torch
from torch import nn

from ..layers import AOLConv2d, AOLLinear, Center, GlobalSumPool, MaxMin, SpaceToDepth
from .backbone import Backbone

__all__ = ["Efficient"]


class Efficient(Backbone):
    """Staged AOL + MaxMin network.

    Args:
        widths: channels of each stage (each even, for MaxMin).
        stem_factor: space-to-depth factor of the first stage (later stages use 2).
        head_width: width of the hidden dense layer (even).
        embed_dim: embedding size k (set it to the teacher's).
        image_size: default resolution images are resized to.
    """

    def __init__(
        self,
        widths: Sequence[int] = (32, 64, 128, 256),
        stem_factor: int = 4,
        head_width: int = 1024,
        embed_dim: int = 512,
        image_size: int = 224,
    ) -> None:
        super().__init__()
        widths = [int(w) for w in widths]
        for w in [*widths, head_width]:
            if w % 2:
                raise ValueError(f"efficient: widths and head_width must be even (MaxMin), got {w}")
        self.arch = "efficient"
        self.config = dict(
            widths=widths, stem_factor=stem_factor, head_width=head_width, embed_dim=embed_dim, image_size=image_size
        )
        self.embed_dim = embed_dim
        self.image_size = image_size
        self.input_size = None
        layers: list[nn.Module] = [Center(0.5)]
        cin = 3
        for i, w in enumerate(widths):
            f = stem_factor if i == 0 else 2
            layers += [SpaceToDepth(f)]
            cin *= f * f
            if i > 0:
                layers += [AOLConv2d(cin, w, kernel_size=1), MaxMin()]
                cin = w
            layers += [AOLConv2d(cin, w, kernel_size=3), MaxMin()]
            cin = w
        self.features = nn.Sequential(*layers)
        self.pool = GlobalSumPool()
        self.head = nn.Sequential(AOLLinear(cin, head_width), MaxMin(), AOLLinear(head_width, embed_dim))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.head(self.pool(self.features(x)))
