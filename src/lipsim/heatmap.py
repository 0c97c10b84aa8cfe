"""A difference map drawn for people: the two images side by side and the map over the second (matplotlib).

matplotlib is optional (it comes with the ``train`` extra, or ``pip install matplotlib``); :func:`require_matplotlib`
is the one check, and everything here imports it only when called. The map is
:meth:`lipsim.LipSim.difference_map`: a visual aid with **no certificate** (the figure says so).
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

import torch

from .errors import MissingDependencyError

__all__ = ["matplotlib_available", "require_matplotlib", "save_heatmap"]


def matplotlib_available() -> bool:
    """Whether matplotlib can be imported.

    Example:
        >>> isinstance(matplotlib_available(), bool)
        True
    """
    try:
        require_matplotlib()
    except MissingDependencyError:
        return False
    return True


def require_matplotlib() -> Any:
    """The ``matplotlib`` module, or a :class:`~lipsim.errors.MissingDependencyError` naming the pip command."""
    try:
        import matplotlib
    except ImportError:
        raise MissingDependencyError("drawing a heatmap needs matplotlib: pip install matplotlib") from None
    return matplotlib


def _hwc(image: torch.Tensor, what: str) -> Any:
    """(H, W, 3) float numpy array in [0, 1] from a (3, H, W) or (1, 3, H, W) tensor in [0, 1]."""
    x = image.detach().to("cpu", torch.float32)
    if x.dim() == 4 and x.shape[0] == 1:
        x = x[0]
    if x.dim() != 3 or x.shape[0] != 3:
        raise ValueError(f"{what}: expected one RGB image of shape (3, H, W), got {tuple(image.shape)}")
    return x.clamp(0, 1).permute(1, 2, 0).numpy()


def save_heatmap(
    path: str | os.PathLike[str],
    img0: torch.Tensor,
    img1: torch.Tensor,
    diff: torch.Tensor,
    distance: float,
    names: tuple[str, str] = ("img0", "img1"),
) -> Path:
    """Write a figure of ``img0``, ``img1`` and the difference map ``diff`` over a gray copy of ``img1``.

    The colour bar gives the map's values; the title gives the distance. The format follows the file suffix
    (``.png`` unless another one that matplotlib writes is given).

    Args:
        path: the image file to write.
        img0: (3, H, W) tensor in [0, 1] (as :func:`lipsim.load_image` returns).
        img1: the other image, of the same size.
        diff: the map, (H, W), (1, H, W) or (1, 1, H, W) (:meth:`lipsim.LipSim.difference_map`).
        distance: the LipSim distance of the pair, shown in the title.
        names: how the panels name the two images (file names, say).

    Raises:
        MissingDependencyError: matplotlib is not installed.
        ValueError: shapes that do not fit together.

    Example:
        >>> import tempfile
        >>> tmp = tempfile.TemporaryDirectory()
        >>> x = torch.rand(3, 32, 48)
        >>> out = save_heatmap(os.path.join(tmp.name, "diff.png"), x, x.flip(-1), torch.rand(32, 48), 0.0123)
        >>> out.name, out.stat().st_size > 0
        ('diff.png', True)
        >>> tmp.cleanup()
    """
    require_matplotlib()
    from matplotlib.figure import Figure

    a, b = _hwc(img0, "img0"), _hwc(img1, "img1")
    m = diff.detach().to("cpu", torch.float32).squeeze()
    if a.shape != b.shape or tuple(m.shape) != a.shape[:2]:
        raise ValueError(
            f"save_heatmap: img0 {a.shape[0]}x{a.shape[1]}, img1 {b.shape[0]}x{b.shape[1]} and the map "
            f"{'x'.join(map(str, m.shape))} must share one size (height x width)"
        )
    h, w = a.shape[:2]
    panel = 4.0
    fig = Figure(figsize=(3 * panel + 1.2, panel * h / w + 1.0), dpi=110, layout="constrained")
    axes = fig.subplots(1, 3)
    gray = b.mean(axis=2)
    axes[0].imshow(a, interpolation="nearest")
    axes[0].set_title(names[0], fontsize=9)
    axes[1].imshow(b, interpolation="nearest")
    axes[1].set_title(names[1], fontsize=9)
    axes[2].imshow(gray, cmap="gray", vmin=0, vmax=1, interpolation="nearest")
    top = max(float(m.max()), 1e-12)
    overlay = axes[2].imshow(m.numpy(), cmap="inferno", vmin=0.0, vmax=top, alpha=0.65, interpolation="bilinear")
    axes[2].set_title("where they differ (no certificate)", fontsize=9)
    for ax in axes:
        ax.set_axis_off()
    bar = fig.colorbar(overlay, ax=axes[2], fraction=0.046, pad=0.02)
    bar.set_label("feature difference, 0 = same", fontsize=8)
    fig.suptitle(f"LipSim distance d = {distance:.6f}  (1 - cos, in [0, 2]; lower = more similar)", fontsize=11)
    out = Path(path)
    fig.savefig(out)
    return out
