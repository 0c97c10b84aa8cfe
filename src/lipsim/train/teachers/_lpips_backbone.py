"""Shared code of the VGG16 and AlexNet teachers (lpips_nets.py): torchvision ``features`` tapped at the LPIPS layers.

Input pixels in [0, 1] go through LPIPS v0.1 scaling: ``2x - 1`` then ``(. - shift) / scale`` with
shift (-.030, -.088, -.188) and scale (.458, .448, .450), which equals torchvision's ImageNet
mean/std normalisation to within 0.1%.

Example:
    >>> from lipsim.train.teachers.lpips_nets import VGG16Teacher
    >>> [t.shape[1] for t in VGG16Teacher().taps(torch.rand(1, 3, 32, 32))]  # doctest: +SKIP
    [64, 128, 256, 512, 512]
"""

from __future__ import annotations

from collections.abc import Sequence

import torch
from torch import nn

from .base import FeatureTeacher

__all__ = ["LPIPSBackboneTeacher", "lpips_scale"]

_SHIFT = (-0.030, -0.088, -0.188)
_SCALE = (0.458, 0.448, 0.450)


def lpips_scale(x: torch.Tensor) -> torch.Tensor:
    """Map pixels in [0, 1] to the LPIPS v0.1 network input."""
    shift = x.new_tensor(_SHIFT).view(1, 3, 1, 1)
    scale = x.new_tensor(_SCALE).view(1, 3, 1, 1)
    return (2.0 * x - 1.0 - shift) / scale


class LPIPSBackboneTeacher(FeatureTeacher):
    """A torchvision ``features`` stack read out after the ReLUs at ``tap_indices``."""

    tap_indices: tuple[int, ...] = ()

    def __init__(
        self,
        features: nn.Sequential,
        heads: Sequence[torch.Tensor],
        embedding: str,
        layers: Sequence[int] | None = None,
    ) -> None:
        super().__init__(embedding, layers=layers, heads=heads)
        # Keep the modules up to the deepest tap actually used.
        last = self.tap_indices[max(self.layers)]
        self.features = nn.Sequential(*list(features.children())[: last + 1])
        for m in self.features:
            if isinstance(m, nn.ReLU):
                m.inplace = False
        self.freeze()

    def taps(self, x: torch.Tensor) -> list[torch.Tensor]:
        out: list[torch.Tensor] = []
        h = lpips_scale(x)
        wanted = set(self.tap_indices)
        for i, module in enumerate(self.features):
            h = module(h)
            if i in wanted:
                out.append(h)
        # Taps beyond the truncated stack are never selected; pad the list so indices stay aligned.
        out.extend([out[-1]] * (len(self.tap_indices) - len(out)))
        return out
