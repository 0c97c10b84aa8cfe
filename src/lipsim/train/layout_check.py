"""The layout check: does a metric tell a rearranged or mirrored photo from a mild copy of it?

For each held-out photo: a square crop (``size`` px) is the reference, one mild copy of it (a distortion family
of :data:`~lipsim.train.data.distortions.MILD_FAMILIES` at strength in ``mild_range``, as ``calibrate`` draws
them) is the right answer, and each layout change of :mod:`~lipsim.train.data.layout_changes` is the wrong one.
Reported per change and over all: the 2AFC score (share of triplets where the copy is closer; ties count 1/2)
and, for lipsim models, the share of layout changes called "same" at the weights' threshold. None of these
changes is ever used in training.

Example:
    >>> result = layout_check(model, "photos/val_hires", size=224)      # doctest: +SKIP
    >>> result["two_afc"], result["called_same"]                        # doctest: +SKIP
    (0.97, 0.0)
"""

from __future__ import annotations

import os
from collections.abc import Callable
from typing import Any

import torch
from torch import Tensor

from ..model import LipSim
from .calibrate import MILD_FAMILIES
from .data.crops import crop_resize, sample_crop_box
from .data.distortions import distort
from .data.image_files import ImageFiles
from .data.layout_changes import LAYOUT_CHANGES, change_layout
from .rng import seeded_generator

__all__ = ["layout_triplets", "layout_check"]

Distance = Callable[[Tensor, Tensor], Tensor]


def layout_triplets(
    images_dir: str | os.PathLike[str],
    size: int = 224,
    seed: int = 0,
    limit: int | None = None,
    mild_range: tuple[float, float] = (0.05, 0.3),
) -> tuple[Tensor, Tensor, dict[str, Tensor]]:
    """References (n, 3, size, size), one mild copy of each, and every layout change of each (seeded)."""
    files = ImageFiles(images_dir)
    n = len(files.files) if limit is None else min(limit, len(files.files))
    if n < 1:
        raise ValueError(f"the layout check needs at least one photo, found none under {str(images_dir)!r}")
    refs, copies = [], []
    for i in range(n):
        g = seeded_generator("layout", seed, i)
        w, h = files.sizes[i]
        ref = crop_resize(files.image(i), sample_crop_box(w, h, (0.5, 1.0), g, flip=False), size).float() / 255.0
        family = MILD_FAMILIES[int(torch.randint(len(MILD_FAMILIES), (1,), generator=g))]
        s = mild_range[0] + (mild_range[1] - mild_range[0]) * float(torch.rand(1, generator=g))
        refs.append(ref)
        copies.append(distort(ref, family, s, g).clamp(0, 1))
    changed = {c: torch.stack([change_layout(r, c, seed=seed + i) for i, r in enumerate(refs)]) for c in LAYOUT_CHANGES}
    return torch.stack(refs), torch.stack(copies), changed


def _batched(distance: Distance, x: Tensor, y: Tensor, batch_size: int) -> Tensor:
    with torch.no_grad():
        return torch.cat([distance(x[i : i + batch_size], y[i : i + batch_size]) for i in range(0, len(x), batch_size)])


def layout_check(
    metric: LipSim | Distance,
    images_dir: str | os.PathLike[str],
    size: int = 224,
    seed: int = 0,
    limit: int | None = None,
    batch_size: int = 32,
    threshold: float | None = None,
) -> dict[str, Any]:
    """Score ``metric`` (a :class:`~lipsim.LipSim` or any ``(x, y) -> (N,)`` distance) on layout triplets.

    Returns:
        ``two_afc`` (all changes), ``by_change`` (``two_afc``, median distance and, with a threshold,
        ``called_same`` for each change), ``copy_median``, ``called_same`` (all changes) and
        ``copies_called_same`` with a threshold (``threshold`` or a LipSim model's own), ``photos`` and ``protocol``.
    """
    refs, copies, changed = layout_triplets(images_dir, size, seed, limit)
    if isinstance(metric, LipSim) and threshold is None:
        threshold = metric.threshold
    d_copy = _batched(metric, refs, copies, batch_size).double().cpu()
    by_change: dict[str, dict[str, float]] = {}
    wins, same = [], []
    for c in LAYOUT_CHANGES:
        d = _batched(metric, refs, changed[c], batch_size).double().cpu()
        win = (d_copy < d).double() + 0.5 * (d_copy == d).double()
        wins.append(win)
        by_change[c] = {"two_afc": float(win.mean()), "median": float(d.median())}
        if threshold is not None:
            same.append((d <= threshold).double())
            by_change[c]["called_same"] = float(same[-1].mean())
    result: dict[str, Any] = {
        "two_afc": float(torch.cat(wins).mean()),
        "by_change": by_change,
        "copy_median": float(d_copy.median()),
        "photos": len(refs),
        "protocol": (
            f"{size}px crops of {len(refs)} held-out photos; right answer one mild copy "
            f"({'/'.join(MILD_FAMILIES)}, strength 0.05-0.3), wrong answer each of {', '.join(LAYOUT_CHANGES)}"
        ),
    }
    if threshold is not None:
        result.update(
            threshold=threshold,
            called_same=float(torch.cat(same).mean()),
            copies_called_same=float((d_copy <= threshold).double().mean()),
        )
    return result
