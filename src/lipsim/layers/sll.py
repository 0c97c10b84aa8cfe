"""SDP-based Lipschitz layers (SLL; Araujo et al., ICLR 2023), convolutional and dense.

    h(x) = x - 2 W^T T^{-1} relu(W x + b),   T = diag(t),
    t_i = sum_j |(W W^T)_ij| q_j / q_i,      q_i = exp(q_param_i)          (docs/layers.md, 'SLL')

T - W W^T is diagonally dominant with positive diagonal (a weighted Schur test), hence PSD, which makes
h 1-Lipschitz in l2 for any slope-restricted activation in [0, 1]. For a 3x3 convolution the entries
(W W^T)_ij are replaced by the l1 norm over the 5x5 autocorrelation conv2d(K, K, padding=2), which bounds
the corresponding block of the (zero-padded) convolution operator.

Inference fast path: in eval mode, when autograd records nothing (grad mode off, or neither the input nor
any parameter requires grad), the layers use the cached scaling and fuse what the maths allows: the bias
enters the first conv/GEMM, ``-2 T^{-1}`` is folded into the transposed kernel (conv) or the activations
(dense), and the ReLU and the residual addition run in place on fresh buffers. Same function, float
rounding only (measured against float64: as accurate as the plain form); train mode and calls that
autograd records use the plain form.
"""

from __future__ import annotations

import math

import torch
import torch.nn.functional as F
from torch import nn

from ._reparam import Reparametrized

__all__ = ["SLLConv2d", "SLLLinear", "sll_scale", "inference_only"]


def inference_only(module: nn.Module, x: torch.Tensor) -> bool:
    """True when ``module`` is in eval mode and autograd will record nothing for this call.

    Then in-place operations on intermediate buffers are safe and the fused inference path may be used.
    """
    if module.training:
        return False
    if not torch.is_grad_enabled():
        return True
    return not x.requires_grad and not any(p.requires_grad for p in module.parameters())


def sll_scale(gram_abs: torch.Tensor, q: torch.Tensor | None) -> torch.Tensor:
    """Return 2 / t for the absolute Gram matrix ``gram_abs`` (inner x inner), with 1/0 taken as 0.

    ``q`` holds the log-weights; ``None`` means all weights equal (the paper's conv-layer quirk).
    """
    if q is None:
        t = gram_abs.sum(dim=1)
    else:
        # t_i = sum_j |G_ij| exp(q_j) / exp(q_i); subtract max(q) first for numerical range.
        e = torch.exp(q - q.max())
        t = (gram_abs @ e) / e
    safe = torch.where(t > 0, t, torch.ones_like(t))
    return torch.where(t > 0, 2.0 / safe, torch.zeros_like(t))


class SLLConv2d(Reparametrized):
    """1-Lipschitz residual convolution ``x - 2 K^T T^{-1} relu(K x + b)`` (stride 1, zero padding).

    Args:
        channels: input and output channels.
        inner_channels: channels of the inner convolution ``K`` (defaults to ``channels``).
        kernel_size: odd kernel size.
        paper_q_quirk: reproduce the LipSim authors' conv layer, where ``q`` cancels and
            ``t_i = sum_{j,u,v} |G_ij[u, v]|``. Only for the paper-parity architecture.

    Example:
        >>> layer = SLLConv2d(8, inner_channels=4)
        >>> layer(torch.rand(2, 8, 16, 16)).shape
        torch.Size([2, 8, 16, 16])
    """

    def __init__(
        self,
        channels: int,
        inner_channels: int | None = None,
        kernel_size: int = 3,
        paper_q_quirk: bool = False,
    ) -> None:
        super().__init__()
        if kernel_size % 2 != 1:
            raise ValueError(f"kernel_size must be odd, got {kernel_size}")
        inner = channels if inner_channels is None else inner_channels
        self.channels, self.inner_channels, self.kernel_size = channels, inner, kernel_size
        self.paper_q_quirk = paper_q_quirk
        self.kernel = nn.Parameter(torch.empty(inner, channels, kernel_size, kernel_size))
        self.bias = nn.Parameter(torch.empty(1, inner, 1, 1))
        self.q = nn.Parameter(torch.zeros(inner))
        self.reset_parameters()

    def reset_parameters(self) -> None:
        nn.init.xavier_normal_(self.kernel)
        bound = 1.0 / math.sqrt(self.channels * self.kernel_size**2)
        nn.init.uniform_(self.bias, -bound, bound)
        nn.init.zeros_(self.q)
        self.invalidate_cache()

    def compute_weights(self) -> tuple[torch.Tensor, ...]:
        k = self.kernel
        gram = F.conv2d(k, k, padding=self.kernel_size - 1)  # (inner, inner, 2k-1, 2k-1)
        gram_abs = gram.abs().sum(dim=(2, 3))
        scale = sll_scale(gram_abs, None if self.paper_q_quirk else self.q)
        return k, self.bias, scale.view(1, -1, 1, 1)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        kernel, bias, scale = self.effective_weights()
        pad = self.kernel_size // 2
        if inference_only(self, x):
            # conv_transpose(relu(y) * s, K) == conv_transpose(relu(y), s * K): s scales K's inner axis;
            # with -s the residual becomes one in-place add (out= ops would break forward-mode AD).
            z = F.conv2d(x, kernel, bias.reshape(-1), padding=pad).relu_()
            out = F.conv_transpose2d(z, kernel * scale.reshape(-1, 1, 1, 1).neg(), padding=pad)
            return out.add_(x) if out.shape == x.shape else x + out
        z = F.relu(F.conv2d(x, kernel, padding=pad) + bias) * scale
        return x - F.conv_transpose2d(z, kernel, padding=pad)

    def extra_repr(self) -> str:
        quirk = ", paper_q_quirk=True" if self.paper_q_quirk else ""
        return f"{self.channels}, inner_channels={self.inner_channels}, kernel_size={self.kernel_size}{quirk}"


class SLLLinear(Reparametrized):
    """1-Lipschitz residual dense layer ``x - 2 W^T T^{-1} relu(W x + b)``.

    Args:
        features: input and output features.
        inner_features: rows of ``W`` (defaults to ``features``).

    Example:
        >>> layer = SLLLinear(16, inner_features=32)
        >>> layer(torch.rand(4, 16)).shape
        torch.Size([4, 16])
    """

    def __init__(self, features: int, inner_features: int | None = None) -> None:
        super().__init__()
        inner = features if inner_features is None else inner_features
        self.features, self.inner_features = features, inner
        self.weight = nn.Parameter(torch.empty(inner, features))
        self.bias = nn.Parameter(torch.empty(1, inner))
        self.q = nn.Parameter(torch.zeros(inner))
        self.reset_parameters()

    def reset_parameters(self) -> None:
        nn.init.xavier_normal_(self.weight)
        bound = 1.0 / math.sqrt(self.features)
        nn.init.uniform_(self.bias, -bound, bound)
        nn.init.zeros_(self.q)
        self.invalidate_cache()

    def compute_weights(self) -> tuple[torch.Tensor, ...]:
        w = self.weight
        scale = sll_scale((w @ w.T).abs(), self.q)
        return w, self.bias, scale.view(1, -1)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        weight, bias, scale = self.effective_weights()
        if x.dim() == 2 and inference_only(self, x):
            z = F.linear(x, weight, bias.reshape(-1)).relu_().mul_(scale.neg())
            # Not addmm(x, z, W, alpha=-1): for one row it is ~40x less accurate in float32 (torch 2.14, MKL).
            return (z @ weight).add_(x)
        z = F.relu(F.linear(x, weight) + bias) * scale
        return x - z @ weight

    def extra_repr(self) -> str:
        return f"{self.features}, inner_features={self.inner_features}"
