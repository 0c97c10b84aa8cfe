"""The last check of loaded weights: the embedding must depend on the image.

Weights that pass every file check can still be useless: all-zero weights (or any network whose output is one
constant) map every image to the same embedding, so every pair gets d = 0, "same", and a large certified radius,
an answer that looks valid and means nothing. :func:`check_embeddings_vary` embeds three fixed images (black,
white and a colour pattern) and refuses the weights when the three embeddings coincide. It draws no random numbers
and costs three small forward passes.

Example:
    >>> from lipsim import LipSim
    >>> model = LipSim(pretrained=False, widths=(8, 16), head_width=16, embed_dim=8).eval()
    >>> check_embeddings_vary(model, "fresh")   # a freshly initialised network depends on its input
    >>> for p in model.parameters():
    ...     _ = p.data.zero_()
    >>> model.backbone.invalidate_cache()
    >>> check_embeddings_vary(model, "zeros")
    Traceback (most recent call last):
    ...
    lipsim.errors.WeightsError: weights 'zeros' embed every image alike: black, white and a colour pattern all get \
the same embedding (they differ by at most 0 in l2), so every distance would be 0; the weights are zero, constant \
or broken
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import torch

from ..errors import WeightsError

if TYPE_CHECKING:
    from ..model import LipSim

__all__ = ["check_embeddings_vary", "probe_images"]

#: Largest side of the probe images for archs that take any size.
PROBE_SIDE = 64


def probe_images(size: tuple[int, int], dtype: torch.dtype = torch.float32) -> torch.Tensor:
    """(3, 3, H, W) images in [0, 1]: black, white, and a colour pattern ((i + 2 j + 3 c) mod 7) / 6.

    Example:
        >>> x = probe_images((4, 4))
        >>> x.shape, x[0].max().item(), x[1].min().item(), x[2, 0, 0].tolist()
        (torch.Size([3, 3, 4, 4]), 0.0, 1.0, [0.0, 0.3333333432674408, 0.6666666865348816, 1.0])
    """
    h, w = size
    i = torch.arange(h, dtype=torch.float64)[:, None]
    j = torch.arange(w, dtype=torch.float64)[None, :]
    pattern = torch.stack([((i + 2 * j + 3 * c) % 7) / 6 for c in range(3)])
    return torch.stack([torch.zeros_like(pattern), torch.ones_like(pattern), pattern]).to(dtype)


@torch.no_grad()
def check_embeddings_vary(model: LipSim, source: str | None = None) -> None:
    """Refuse (WeightsError) a model whose embedding is the same for black, white and a colour pattern.

    The probes are given to the backbone at its fixed input size, or at ``min(image_size, 64)`` px for archs that
    take any size, on the model's current device and dtype. Embeddings count as the same when every pair differs
    by at most 16 float epsilons of the model's dtype in l2 (a network that depends on its input at all differs by
    far more: a freshly initialised one by about 1e-3). Embeddings that overflow (NaN, or not of unit norm) are
    left to the check that runs on every embedding, which names the images.

    Args:
        model: the :class:`~lipsim.LipSim` to check.
        source: how the message names the weights (default ``model.source``).
    """
    backbone = model.backbone
    side = min(backbone.image_size, PROBE_SIDE)
    h, w = backbone.input_size or (side, side)
    p = next(backbone.parameters())
    dtype = p.dtype if p.is_floating_point() else torch.float32
    phi = model.unit_embedding(backbone(probe_images((h, w), dtype).to(p.device)))
    if not bool(torch.isfinite(phi).all()) or bool(((phi.norm(dim=1) - 1).abs() > 1e-2).any()):
        return  # the network overflows: LipSim refuses that when it embeds an image, naming the image
    spread = max(float((phi[a] - phi[b]).norm()) for a, b in ((0, 1), (0, 2), (1, 2)))
    if spread <= 16 * torch.finfo(phi.dtype).eps:
        name = model.source if source is None else source
        raise WeightsError(
            f"weights {name!r} embed every image alike: black, white and a colour pattern all get the same "
            f"embedding (they differ by at most {spread:.3g} in l2), so every distance would be 0; the weights are "
            "zero, constant or broken"
        )
