"""ST-LPIPS teachers (``stlpips-alex``, ``stlpips-vgg``): the shift-tolerant LPIPS networks, trained on
BAPPS human 2AFC judgements, as embeddings.

The default recipe ``lpips-sketch`` is a seeded count sketch (sparse Johnson-Lindenstrauss projection,
:mod:`.sketch`) to 1024 dimensions of ``e(x) = concat_l sqrt(w_l) * u_l(x) / sqrt(H_l W_l)``, whose
squared distance ``||e(x) - e(y)||^2`` is exactly ST-LPIPS: :meth:`embed` (before the unit
normalisation of ``forward``) estimates ST-LPIPS between same-size images by ``||embed(x) - embed(y)||^2``.
The pooled recipes (``lpips-mean``, ``mean``, ...) apply as for the other LPIPS-backbone teachers.

Measured with ``benchmarks/stlpips_sketch.py`` (seed 0; photos from BSDS500 val and ImageNet samples,
each paired with 7 distortions and another photo; ST-LPIPS d from 0.002 to 0.79):

==============  =====  =======================  ==========================================
net, size       pairs  abs(d_sketch / d - 1)    Spearman with d: sketch, sketch 1-cos,
                       median / p90 / max       ``lpips-mean`` (pooled) 1-cos
==============  =====  =======================  ==========================================
alex, 64 px     320    .030 / .072 / .144       .999, .997, .968
vgg, 64 px      160    .030 / .070 / .120       .997, .993, .913
alex, 224 px    96     .036 / .078 / .115       .998, .994, .925
==============  =====  =======================  ==========================================

The median error matches the count sketch's ``sqrt(2 / 1024) = 4.4%`` spread; the unit-normalised
``1 - cos`` a student regresses keeps the ranking almost as well, where pooling before the difference
(``lpips-mean``) loses much of it.

Example:
    >>> t = STLPIPSAlexTeacher()                          # doctest: +SKIP
    >>> t(torch.rand(2, 3, 64, 64)).shape                 # doctest: +SKIP
    torch.Size([2, 1024])
"""

from __future__ import annotations

import os
from collections.abc import Sequence

import torch

from ..package_weights import stlpips_net
from .base import FeatureTeacher
from .stlpips_net import STLPIPS_CHANNELS

__all__ = ["STLPIPSTeacher", "STLPIPSAlexTeacher", "STLPIPSVGGTeacher"]


class STLPIPSTeacher(FeatureTeacher):
    """ST-LPIPS backbone taps pooled by a recipe; subclasses fix ``net``, ``name`` and the channels.

    Args:
        embedding: pooling recipe name (default ``lpips-sketch``).
        layers: subset of the 5 taps (default all; the ST-LPIPS distance uses all five).
        path: explicit ``{net}_shift_tolerant.pth`` instead of the installed package's.
    """

    net_name = ""

    def __init__(
        self,
        embedding: str = "lpips-sketch",
        layers: Sequence[int] | None = None,
        path: str | os.PathLike | None = None,
    ) -> None:
        backbone, heads = stlpips_net(self.net_name, path)
        super().__init__(embedding, layers=layers, heads=heads)
        self.net = backbone
        self.freeze()

    def taps(self, x: torch.Tensor) -> list[torch.Tensor]:
        taps = self.net(x, last=max(self.layers))
        return taps + [taps[-1]] * (len(self.all_tap_channels) - len(taps))  # unused entries keep indices


class STLPIPSAlexTeacher(STLPIPSTeacher):
    """ST-LPIPS AlexNet (anti-aliased, stride-1 conv1); taps relu1 .. relu5."""

    name = "stlpips-alex"
    net_name = "alex"
    all_tap_channels = STLPIPS_CHANNELS["alex"]


class STLPIPSVGGTeacher(STLPIPSTeacher):
    """ST-LPIPS VGG16 (anti-aliased max-pools); taps relu1_2 .. relu5_3."""

    name = "stlpips-vgg"
    net_name = "vgg"
    all_tap_channels = STLPIPS_CHANNELS["vgg"]
