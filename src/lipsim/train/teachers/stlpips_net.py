"""ST-LPIPS (Ghildyal & Liu, ECCV 2022, "Shift-tolerant Perceptual Similarity Metric", arXiv 2207.13686).

ST-LPIPS is LPIPS v0.1 (channel-unit-normalised features of five layers, squared differences weighted by
learned non-negative per-channel weights, spatially averaged, summed over layers) on a backbone made
tolerant to small shifts:

* every stride-2 step is replaced by its anti-aliased form (Zhang 2019): the stride-1 version of the
  operation, then a **blur-pool**: reflection padding by 2 on every side, a depthwise 3x3 binomial filter
  ``[1, 2, 1]^T [1, 2, 1] / 16``, stride 2 (output side ``floor((n + 1) / 2) + 1``);
* AlexNet: conv1 runs at stride 1 (11x11, zero padding 2) and is followed by a blur-pool *before* its
  ReLU; each 3x3/stride-2 max-pool becomes a 3x3/stride-1 max-pool followed by a blur-pool;
* VGG16: each 2x2/stride-2 max-pool becomes a 2x2/stride-1 max-pool followed by a blur-pool;
* taps: AlexNet relu1 .. relu5 (64, 192, 384, 256, 256 channels), VGG16 relu1_2, relu2_2, relu3_3,
  relu4_3, relu5_3 (64, 128, 256, 512, 512); the weights are the network retrained with the LPIPS heads
  on BAPPS human judgements (file ``vST0.0/{alex,vgg}_shift_tolerant.pth`` of ``stlpips-pytorch``).

Input pixels in [0, 1] become ``2x - 1`` and then LPIPS's ``(. - shift) / scale``. With
``u = f / (||f||_channels + 1e-10)`` per position and head weights ``w_l >= 0``,

    d(x, y) = sum_l mean_{h,w} sum_c w_lc (u_l(x) - u_l(y))_c^2,

which is ``||e(x) - e(y)||^2`` for ``e(x) = concat_l sqrt(w_l) * u_l(x) / sqrt(H_l W_l)``.

Example:
    >>> net = STLPIPSNet("alex").eval()      # random weights; see lipsim.train.package_weights.stlpips_net
    >>> [t.shape[1:] for t in net(torch.rand(1, 3, 64, 64))][:2]
    [torch.Size([64, 30, 30]), torch.Size([192, 15, 15])]
"""

from __future__ import annotations

from collections.abc import Sequence

import torch
import torch.nn.functional as F
from torch import nn

from ._lpips_backbone import lpips_scale
from .embeddings import unit_channels

__all__ = ["BlurPool2d", "STLPIPSNet", "STLPIPS_NETS", "STLPIPS_CHANNELS", "binomial_filter", "stlpips_distance"]

#: Backbones with ST-LPIPS weights.
STLPIPS_NETS: tuple[str, ...] = ("alex", "vgg")
#: Channels of the five taps.
STLPIPS_CHANNELS: dict[str, tuple[int, ...]] = {
    "alex": (64, 192, 384, 256, 256),
    "vgg": (64, 128, 256, 512, 512),
}
# conv (out channels, kernel, zero padding) per tap. AlexNet's conv1 stride is 1 here (anti-aliased).
_ALEX_CONVS = (((64, 11, 2),), ((192, 5, 2),), ((384, 3, 1),), ((256, 3, 1),), ((256, 3, 1),))
_VGG_CONVS = (
    ((64, 3, 1), (64, 3, 1)),
    ((128, 3, 1), (128, 3, 1)),
    ((256, 3, 1),) * 3,
    ((512, 3, 1),) * 3,
    ((512, 3, 1),) * 3,
)


def binomial_filter() -> torch.Tensor:
    """The 3x3 blur-pool kernel ``[1, 2, 1]^T [1, 2, 1] / 16``.

    Example:
        >>> binomial_filter()[1]
        tensor([0.1250, 0.2500, 0.1250])
    """
    a = torch.tensor([1.0, 2.0, 1.0])
    return torch.outer(a, a) / 16.0


class BlurPool2d(nn.Module):
    """Anti-aliased stride-2 subsampling: reflection pad 2, depthwise 3x3 binomial blur, stride 2.

    Example:
        >>> BlurPool2d()(torch.ones(1, 2, 8, 7)).shape
        torch.Size([1, 2, 5, 5])
        >>> bool(BlurPool2d()(torch.ones(1, 2, 8, 7)).eq(1).all())
        True
    """

    kernel: torch.Tensor

    def __init__(self) -> None:
        super().__init__()
        self.register_buffer("kernel", binomial_filter()[None, None])

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        c = x.shape[1]
        return F.conv2d(F.pad(x, (2, 2, 2, 2), mode="reflect"), self.kernel.expand(c, 1, 3, 3), stride=2, groups=c)


class STLPIPSNet(nn.Module):
    """The shift-tolerant backbone: pixels in [0, 1] -> the five ReLU taps.

    Args:
        net: ``"alex"`` or ``"vgg"``.

    Parameters are ``convs.{i}.weight/bias`` in network order; :func:`lipsim.train.package_weights.stlpips_net`
    fills them from the package file.
    """

    def __init__(self, net: str = "alex") -> None:
        super().__init__()
        if net not in STLPIPS_NETS:
            raise ValueError(f"net must be one of {list(STLPIPS_NETS)}, got {net!r}")
        self.net = net
        plan = _ALEX_CONVS if net == "alex" else _VGG_CONVS
        #: whether a tap starts with the anti-aliased downsampling (AlexNet: taps 1, 2; VGG16: 1..4).
        self.downsample_before: tuple[bool, ...] = (
            (False, True, True, False, False) if net == "alex" else (False, True, True, True, True)
        )
        convs: list[nn.Conv2d] = []
        self.convs_per_tap: tuple[int, ...] = tuple(len(stage) for stage in plan)
        c_in = 3
        for stage in plan:
            for c_out, k, pad in stage:
                convs.append(nn.Conv2d(c_in, c_out, k, stride=1, padding=pad))
                c_in = c_out
        self.convs = nn.ModuleList(convs)
        self.blur = BlurPool2d()

    def _downsample(self, h: torch.Tensor) -> torch.Tensor:
        """Between taps: the stride-1 max-pool (3x3 AlexNet, 2x2 VGG16), then blur-pool."""
        return self.blur(F.max_pool2d(h, 3 if self.net == "alex" else 2, stride=1))

    def forward(self, x: torch.Tensor, last: int = 4) -> list[torch.Tensor]:
        """The taps 0..``last`` for pixels ``x`` in [0, 1] of shape (N, 3, H, W)."""
        h = lpips_scale(x)
        taps: list[torch.Tensor] = []
        i = 0
        for t, n in enumerate(self.convs_per_tap):
            if self.downsample_before[t]:
                h = self._downsample(h)
            for _ in range(n):
                h = self.convs[i](h)
                i += 1
                if self.net == "alex" and t == 0:
                    h = self.blur(h)  # anti-aliased stride of conv1, before its ReLU
                h = F.relu(h)
            taps.append(h)
            if t == last:
                break
        return taps

    def extra_repr(self) -> str:
        return f"net={self.net!r}"


def stlpips_distance(
    taps0: Sequence[torch.Tensor], taps1: Sequence[torch.Tensor], heads: Sequence[torch.Tensor]
) -> torch.Tensor:
    """``sum_l mean_hw sum_c w_lc (u_l0 - u_l1)_c^2`` for per-layer taps and heads (1, C, 1, 1); (N,).

    Example:
        >>> t = [torch.rand(2, 4, 5, 5)]
        >>> stlpips_distance(t, t, [torch.ones(1, 4, 1, 1)])
        tensor([0., 0.])
    """
    total = taps0[0].new_zeros(taps0[0].shape[0])
    for f0, f1, w in zip(taps0, taps1, heads):
        diff = (unit_channels(f0) - unit_channels(f1)).pow(2)
        total = total + (diff * w.reshape(1, -1, 1, 1)).sum(dim=1).mean(dim=(1, 2))
    return total
