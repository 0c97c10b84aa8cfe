"""ST-LPIPS (Ghildyal & Liu 2022) as a reference metric, from this project's own network code.

``d(x, y) = sum_l mean_hw sum_c w_lc (u_l(x) - u_l(y))_c^2`` on the shift-tolerant AlexNet / VGG16 of
:mod:`lipsim.train.teachers.stlpips_net`, weights from ``stlpips-pytorch`` (read without importing it).
The tests compare it with the package's own ``LPIPS(variant="shift_tolerant")`` where that imports.

Example:
    >>> m = STLPIPSMetric("alex")                             # doctest: +SKIP
    >>> x = torch.rand(2, 3, 64, 64)
    >>> m(x, x)                                                # doctest: +SKIP
    tensor([0., 0.])
"""

from __future__ import annotations

import torch
from torch import nn

from ..package_weights import stlpips_net
from ..teachers.stlpips_net import STLPIPS_NETS, stlpips_distance

__all__ = ["STLPIPSMetric"]

#: Smallest accepted image side (as for the teachers; below 21 px for AlexNet and 18 px for VGG16 the
#: deepest maps get smaller than the blur-pool's reflection padding).
MIN_SIZE = 32


class STLPIPSMetric(nn.Module):
    """ST-LPIPS distance, (x0, x1) in [0, 1] of shape (N, 3, H, W) -> (N,); frozen, eval mode.

    Args:
        net: ``"alex"`` or ``"vgg"``.
    """

    def __init__(self, net: str = "alex") -> None:
        super().__init__()
        if net not in STLPIPS_NETS:
            raise ValueError(f"net must be one of {list(STLPIPS_NETS)}, got {net!r}")
        backbone, heads = stlpips_net(net)
        self.backbone = backbone
        self.heads = nn.ParameterList([nn.Parameter(h, requires_grad=False) for h in heads])
        self.net = net
        for p in self.parameters():
            p.requires_grad_(False)
        self.eval()

    def train(self, mode: bool = True) -> STLPIPSMetric:
        """A reference metric always stays in eval mode."""
        return super().train(False)

    def forward(self, x0: torch.Tensor, x1: torch.Tensor) -> torch.Tensor:
        """ST-LPIPS between images in [0, 1] (N, 3, H, W); returns (N,)."""
        if x0.shape != x1.shape or x0.ndim != 4 or x0.shape[1] != 3:
            raise ValueError(
                f"expected two (N, 3, H, W) batches of equal shape, got {tuple(x0.shape)}, {tuple(x1.shape)}"
            )
        if min(x0.shape[-2:]) < MIN_SIZE:
            raise ValueError(f"ST-LPIPS needs images of at least {MIN_SIZE}x{MIN_SIZE}, got {tuple(x0.shape[-2:])}")
        return stlpips_distance(self.backbone(x0), self.backbone(x1), list(self.heads))

    def extra_repr(self) -> str:
        return f"net={self.net!r}"
