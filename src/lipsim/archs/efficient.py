"""``efficient``: the package's default staged 1-Lipschitz network.

Early space-to-depth (pixel_unshuffle) keeps every layer narrow at full resolution; each stage is
space-to-depth -> AOL 1x1 (channel mixing) -> MaxMin -> AOL 3x3 -> MaxMin; then a global sum/sqrt(HW)
pool, or with ``grid=g`` a g x g grid of such pools (:class:`~lipsim.layers.GridSumPool`, which keeps where
features are: flips and rearrangements move the embedding), and a dense AOL head with MaxMin. Every block is
1-Lipschitz (docs/layers.md), so the whole network is, for any input size.

Native resolution (``native_resolution=True``): the network runs at the caller's own size instead of
resizing every image to ``image_size``, so fine detail (noise, blocking, blur) reaches it at the scale people
see it. Images whose short side is below ``image_size`` are upscaled to it and images whose long side exceeds
``max_size`` are downscaled to it (aspect kept); the pool is size-normalised against the number of positions
at ``image_size`` (:class:`~lipsim.layers.GlobalSumPool` with ``ref_positions``), so embeddings keep their
scale at every size and the network is ``sqrt(r / (H*W))``-Lipschitz there (:meth:`Efficient.lipschitz_bound`).

Isometric layers (``isometric=True``): every AOL layer starts as an exact isometry (square or widening) or
co-isometry (narrowing): narrowing layers rescale their outputs (AOL on the adjoint) and kernels start with their
centre tap only. With the plain AOL rescaling each narrowing layer and each noisy 3x3 kernel shrinks signals
3-4x at initialisation, and differences between photos reach the embedding about 10^5 times smaller than they
entered (docs/layers.md, 'AOL on the adjoint').
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from typing import ClassVar

import torch
from torch import nn

from ..layers import AOLConv2d, AOLLinear, Center, GlobalSumPool, GridSumPool, MaxMin, SpaceToDepth
from .backbone import Backbone

__all__ = ["Efficient", "head_for_grid"]


class Efficient(Backbone, arch="efficient"):
    """Staged AOL + MaxMin network.

    Args:
        widths: channels of each stage (each even, for MaxMin).
        stem_factor: space-to-depth factor of the first stage (later stages use 2).
        head_width: width of the hidden dense layer (even).
        embed_dim: embedding size k (set it to the teacher's).
        image_size: default resolution images are resized to (the training resolution).
        native_resolution: run at the caller's image size (see the module docstring).
        max_size: with ``native_resolution``, the longest side the network sees.
        isometric: narrowing AOL layers rescale their outputs and kernels start noise-free (module docstring).
        grid: cells per side of the pooling grid (1: the global pool alone; module docstring).

    Example:
        >>> Efficient(widths=(8, 16), head_width=16, embed_dim=8).config
        {'widths': [8, 16], 'stem_factor': 4, 'head_width': 16, 'embed_dim': 8, 'image_size': 224}
        >>> Efficient(native_resolution=True).config["max_size"]
        512
        >>> Efficient(widths=(8, 16), head_width=16, embed_dim=8, grid=2).config["grid"]
        2
    """

    # options added after the first weights were published: written only when switched on
    config_only_when: ClassVar[Mapping[str, str]] = {
        "native_resolution": "native_resolution",
        "max_size": "native_resolution",
        "isometric": "isometric",
    }
    config_unless_default: ClassVar[frozenset[str]] = frozenset({"grid"})

    def __init__(
        self,
        widths: Sequence[int] = (32, 64, 128, 256),
        stem_factor: int = 4,
        head_width: int = 1024,
        embed_dim: int = 512,
        image_size: int = 224,
        native_resolution: bool = False,
        max_size: int = 512,
        isometric: bool = False,
        grid: int = 1,
    ) -> None:
        super().__init__()
        widths = [int(w) for w in widths]
        for w in [*widths, head_width]:
            if w % 2:
                raise ValueError(f"efficient: widths and head_width must be even (MaxMin), got {w}")
        if native_resolution and max_size < image_size:
            raise ValueError(f"efficient: max_size {max_size} is below image_size {image_size}")
        self.native_resolution = bool(native_resolution)
        self.max_size = int(max_size)
        self.factors = [stem_factor] + [2] * (len(widths) - 1)
        self.embed_dim = embed_dim
        self.image_size = image_size
        self.input_size = None

        def side(cin: int, cout: int) -> str:
            return "out" if isometric and cout < cin else "in"

        noise = 0.0 if isometric else 0.01
        layers: list[nn.Module] = [Center(0.5)]
        cin = 3
        for i, w in enumerate(widths):
            f = stem_factor if i == 0 else 2
            layers += [SpaceToDepth(f)]
            cin *= f * f
            if i > 0:
                layers += [AOLConv2d(cin, w, kernel_size=1, rescale=side(cin, w), init_noise=noise), MaxMin()]
                cin = w
            layers += [AOLConv2d(cin, w, kernel_size=3, rescale=side(cin, w), init_noise=noise), MaxMin()]
            cin = w
        self.features = nn.Sequential(*layers)
        ref = self._positions((image_size, image_size)) if native_resolution else None
        self.grid = int(grid)
        self.pool = GridSumPool(self.grid, ref) if self.grid > 1 else GlobalSumPool(ref)
        cin *= self.grid**2
        self.head = nn.Sequential(
            AOLLinear(cin, head_width, rescale=side(cin, head_width)),
            MaxMin(),
            AOLLinear(head_width, embed_dim, rescale=side(head_width, embed_dim)),
        )

    def _positions(self, size: tuple[int, int]) -> int:
        h, w = size
        for f in self.factors:  # each SpaceToDepth zero-pads up to a multiple of its factor
            h, w = -(-h // f), -(-w // f)
        return h * w

    def network_size(self, in_size: tuple[int, int]) -> tuple[int, int]:
        if not self.native_resolution:
            return super().network_size(in_size)
        h, w = in_size
        scale = 1.0
        if min(h, w) < self.image_size:
            scale = self.image_size / min(h, w)
        elif max(h, w) > self.max_size:
            scale = self.max_size / max(h, w)
        if scale == 1.0:
            return (h, w)
        # short side never below image_size, long side never above max_size (up to rounding)
        fit = math.floor if scale < 1 else math.ceil
        return (max(1, fit(h * scale)), max(1, fit(w * scale)))

    def lipschitz_bound(self, size: tuple[int, int]) -> float:
        return self.pool.gain(self._positions(size))

    #: images per chunk of a no-grad forward (activations of a few images stay in the CPU caches)
    inference_chunk: ClassVar[int] = 16

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        recording = torch.is_grad_enabled() and (x.requires_grad or any(p.requires_grad for p in self.parameters()))
        if recording:  # the plain layers: their backward is faster than the strided convolutions'
            return self.head(self.pool(self.features(x)))
        return torch.cat([self.head(self.pool(self._features(c))) for c in x.split(self.inference_chunk)])

    def _features(self, x: torch.Tensor) -> torch.Tensor:
        """``self.features(x)`` with each space-to-depth and the convolution after it as one strided convolution."""
        layers = list(self.features)
        i = 0
        while i < len(layers):
            layer, after = layers[i], layers[i + 1] if i + 1 < len(layers) else None
            if isinstance(layer, SpaceToDepth) and isinstance(after, AOLConv2d):
                x = after.forward_unshuffled(x, layer.factor)
                i += 2
            else:
                x = layer(x)
                i += 1
        return x


def head_for_grid(weight: torch.Tensor, grid: int) -> torch.Tensor:
    """The first head layer's weight of a ``grid`` network from a global-pool network's weight ``W`` (out, C).

    ``[W/g, ..., W/g]`` (g*g copies, cell-major like :class:`~lipsim.layers.GridSumPool`) applied to the cells
    gives ``W`` applied to their mean, which is the global pool when the cells are equal in size
    (``global = sum_c cell_c / g`` there), and AOL's input rescaling is unchanged: the columns' absolute Gram
    row sums stay those of ``W``. This holds for AOL's input-side rescaling, which an isometric network uses when the
    head is at least as wide as its g*g*C inputs; a network widened this way starts as the global-pool network.

    Example:
        >>> w, cells = torch.randn(4, 3), torch.randn(4, 3)  # 4 cells of 3 channels; their global pool:
        >>> torch.allclose(head_for_grid(w, 2) @ cells.flatten(), w @ (cells.sum(0) / 2), atol=1e-6)
        True
    """
    if grid < 1:
        raise ValueError(f"grid must be a positive int, got {grid!r}")
    return weight.repeat(1, grid * grid) / grid
