"""Almost-Orthogonal Lipschitz layers (AOL; Prach & Lampert, ECCV 2022), convolutional and dense.

    W' = W diag(d),   d_j = (sum_i |(W^T W)_ij|)^{-1/2}                      (docs/layers.md, 'AOL')

diag(d) W^T W diag(d) has row sums of absolute values <= 1, so ||W'||_2 <= 1. For convolutions
(W^T W)_ij is the l1 norm of the autocorrelation of the kernels over output channels. At inference the
rescaled kernel is cached and the layer is a single convolution.

``rescale="out"`` applies the same rescaling to the adjoint (W' = diag(d) W with d from W W^T; ||W'|| =
||W'^T|| <= 1; docs/layers.md, 'AOL on the adjoint'). For a layer with fewer outputs than inputs this is the
side on which an orthogonal initialisation is exact: W W^T = I gives d = 1, while W^T W, a projection, has
absolute row sums far above 1 and would shrink every signal.
"""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import nn

from ._reparam import Reparametrized
from .pooling import pad_to_multiple

__all__ = ["AOLConv2d", "AOLLinear", "aol_scale"]

_RESCALE_SIDES = ("in", "out")


def _check_rescale(rescale: str) -> str:
    if rescale not in _RESCALE_SIDES:
        raise ValueError(f"rescale must be one of {_RESCALE_SIDES}, got {rescale!r}")
    return rescale


def aol_scale(gram_abs: torch.Tensor) -> torch.Tensor:
    """Return d_j = (sum_i |G_ij|)^{-1/2}, with 1/0 taken as 0 (an all-zero column stays zero)."""
    s = gram_abs.sum(dim=0)
    safe = torch.where(s > 0, s, torch.ones_like(s))
    return torch.where(s > 0, safe.rsqrt(), torch.zeros_like(s))


def _orthogonal_(w: torch.Tensor) -> torch.Tensor:
    """Near-isometric initialisation: a (semi-)orthogonal matrix, so AOL's rescaling starts close to 1."""
    return nn.init.orthogonal_(w)


class AOLConv2d(Reparametrized):
    """1-Lipschitz convolution (stride 1, zero padding ``kernel_size // 2``) rescaled by AOL.

    Args:
        in_channels: input channels.
        out_channels: output channels.
        kernel_size: odd kernel size.
        bias: add a learnable bias (does not change the Lipschitz constant).
        rescale: ``"in"`` rescales input channels (AOL), ``"out"`` output channels (AOL on the adjoint).
        init_noise: std of the off-centre taps at initialisation (0 starts as an exact isometry or
            co-isometry, given the matching ``rescale``).

    Example:
        >>> layer = AOLConv2d(8, 16)
        >>> layer(torch.rand(2, 8, 10, 12)).shape
        torch.Size([2, 16, 10, 12])
    """

    def __init__(
        self,
        in_channels: int,
        out_channels: int,
        kernel_size: int = 3,
        bias: bool = True,
        rescale: str = "in",
        init_noise: float = 0.01,
    ) -> None:
        super().__init__()
        if kernel_size % 2 != 1:
            raise ValueError(f"kernel_size must be odd, got {kernel_size}")
        self.in_channels, self.out_channels, self.kernel_size = in_channels, out_channels, kernel_size
        self.rescale = _check_rescale(rescale)
        self.init_noise = float(init_noise)
        self.kernel = nn.Parameter(torch.empty(out_channels, in_channels, kernel_size, kernel_size))
        self.bias = nn.Parameter(torch.zeros(out_channels)) if bias else None
        self.reset_parameters()

    def reset_parameters(self) -> None:
        # Orthogonal centre tap plus small off-centre noise: close to an isometry at initialisation.
        with torch.no_grad():
            self.kernel.zero_()
            if self.init_noise > 0:
                self.kernel.normal_(0.0, self.init_noise)
            c = self.kernel_size // 2
            self.kernel[:, :, c, c] = _orthogonal_(torch.empty(self.out_channels, self.in_channels))
            if self.bias is not None:
                self.bias.zero_()
        self.invalidate_cache()

    def compute_weights(self) -> tuple[torch.Tensor, ...]:
        k = self.kernel
        if self.rescale == "out":
            gram = F.conv2d(k, k, padding=self.kernel_size - 1)  # (out, out, 2k-1, 2k-1), summed over inputs
            return (k * aol_scale(gram.abs().sum(dim=(2, 3))).view(-1, 1, 1, 1),)
        kt = k.transpose(0, 1)  # (in, out, k, k)
        gram = F.conv2d(kt, kt, padding=self.kernel_size - 1)  # (in, in, 2k-1, 2k-1)
        return (k * aol_scale(gram.abs().sum(dim=(2, 3))).view(1, -1, 1, 1),)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        (kernel,) = self.effective_weights()
        return F.conv2d(x, kernel, self.bias, padding=self.kernel_size // 2)

    def forward_unshuffled(self, x: torch.Tensor, factor: int) -> torch.Tensor:
        """``self(SpaceToDepth(factor)(x))`` as one stride-``factor`` convolution of ``x`` itself.

        Space-to-depth puts pixel (f*r + i, f*c + j) of channel ``ch`` at position (r, c) of channel
        ``ch*f*f + i*f + j``, so a k x k kernel over the unshuffled map is an (f*k) x (f*k) kernel with stride f
        over ``x``, with f times the padding (docs/layers.md, 'Space-to-depth as a strided convolution'). Same
        values up to float rounding, without materialising the permuted copy.

        Example:
            >>> from lipsim.layers import SpaceToDepth
            >>> conv, x = AOLConv2d(12, 8), torch.rand(2, 3, 9, 10)
            >>> torch.allclose(conv.forward_unshuffled(x, 2), conv(SpaceToDepth(2)(x)), atol=1e-6)
            True
        """
        f, k = factor, self.kernel_size
        if x.shape[1] * f * f != self.in_channels:
            raise ValueError(
                f"space-to-depth by {f} of {x.shape[1]} channels gives {x.shape[1] * f * f}, but this "
                f"layer takes {self.in_channels}"
            )
        (kernel,) = self.effective_weights()
        o, c = self.out_channels, x.shape[1]
        strided = kernel.reshape(o, c, f, f, k, k).permute(0, 1, 4, 2, 5, 3).reshape(o, c, f * k, f * k)
        return F.conv2d(pad_to_multiple(x, f), strided, self.bias, stride=f, padding=f * (k // 2))

    def extra_repr(self) -> str:
        tail = ", rescale='out'" if self.rescale == "out" else ""
        return (
            f"{self.in_channels}, {self.out_channels}, kernel_size={self.kernel_size}, "
            f"bias={self.bias is not None}{tail}"
        )


class AOLLinear(Reparametrized):
    """1-Lipschitz dense layer ``x -> W' x + b`` with AOL rescaling (``rescale`` as for :class:`AOLConv2d`).

    Example:
        >>> layer = AOLLinear(16, 8)
        >>> layer(torch.rand(4, 16)).shape
        torch.Size([4, 8])
    """

    def __init__(self, in_features: int, out_features: int, bias: bool = True, rescale: str = "in") -> None:
        super().__init__()
        self.in_features, self.out_features = in_features, out_features
        self.rescale = _check_rescale(rescale)
        self.weight = nn.Parameter(torch.empty(out_features, in_features))
        self.bias = nn.Parameter(torch.zeros(out_features)) if bias else None
        self.reset_parameters()

    def reset_parameters(self) -> None:
        with torch.no_grad():
            _orthogonal_(self.weight)
            if self.bias is not None:
                self.bias.zero_()
        self.invalidate_cache()

    def compute_weights(self) -> tuple[torch.Tensor, ...]:
        w = self.weight
        if self.rescale == "out":
            return (w * aol_scale((w @ w.T).abs()).view(-1, 1),)
        return (w * aol_scale((w.T @ w).abs()).view(1, -1),)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        (weight,) = self.effective_weights()
        return F.linear(x, weight, self.bias)

    def extra_repr(self) -> str:
        tail = ", rescale='out'" if self.rescale == "out" else ""
        return f"{self.in_features}, {self.out_features}, bias={self.bias is not None}{tail}"
