"""Functional form of the metric, with the default pretrained model built once per device."""

from __future__ import annotations

from functools import lru_cache
from typing import Literal

import torch

from .inputs import ImageInput
from .model import LipSim

__all__ = ["distance"]


@lru_cache(maxsize=4)
def _default_model(device: str) -> LipSim:
    return LipSim(pretrained=True, device=device)


def distance(
    img0: ImageInput,
    img1: ImageInput,
    reduction: Literal["none", "mean", "sum"] = "none",
    model: LipSim | None = None,
    device: str | torch.device | None = None,
) -> torch.Tensor:
    """LipSim distance between two images or batches; same value as ``LipSim()(img0, img1)``.

    Args:
        img0: first images (see :class:`lipsim.LipSim` for accepted inputs).
        img1: second images.
        reduction: "none" -> (N,), "mean" or "sum" -> scalar.
        model: the model to use; default: ``LipSim(pretrained=True)``, built once per device and reused.
        device: device of the default model (default: cpu).

    Example:
        >>> m = LipSim(pretrained=False).eval()
        >>> distance(torch.rand(2, 3, 32, 32), torch.rand(2, 3, 32, 32), reduction="mean", model=m).shape
        torch.Size([])
    """
    if reduction not in ("none", "mean", "sum"):
        raise ValueError(f"reduction must be 'none', 'mean' or 'sum', got {reduction!r}")
    if model is None:
        model = _default_model(str(torch.device(device)) if device is not None else "cpu")
    d = model(img0, img1)
    if reduction == "mean":
        return d.mean()
    if reduction == "sum":
        return d.sum()
    return d
