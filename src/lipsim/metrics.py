"""LipSim as a torchmetrics metric (optional: ``pip install 'lipsim[torchmetrics]'``).

:class:`LipSimMetric` accumulates the LipSim distance of image pairs over batches (and over processes: its state
is a sum and a count, reduced with ``dist_reduce_fx="sum"``) and reports their mean or sum, like torchmetrics'
own ``LearnedPerceptualImagePatchSimilarity``. Importing :mod:`lipsim` never needs torchmetrics; importing this
module without it raises a :class:`~lipsim.errors.MissingDependencyError` naming the pip command.

Example:
    >>> import torch
    >>> from lipsim import LipSim
    >>> metric = LipSimMetric(LipSim(pretrained=False).eval().requires_grad_(False))
    >>> x = torch.rand(4, 3, 64, 64)
    >>> metric.update(x, x)
    >>> metric.update(x, x.flip(-1))
    >>> value = metric.compute()                      # the mean distance of the 8 pairs
    >>> value.shape, bool(value > 0)
    (torch.Size([]), True)
"""

from __future__ import annotations

from typing import Any

import torch

from .errors import MissingDependencyError
from .inputs import DEFAULT_VALUE_RANGE, ImageInput, check_value_range
from .model import LipSim

try:
    from torchmetrics import Metric
except ImportError:
    raise MissingDependencyError(
        "lipsim.metrics needs torchmetrics: pip install 'lipsim[torchmetrics]' (or pip install torchmetrics)"
    ) from None

__all__ = ["LipSimMetric"]

_REDUCTIONS = ("mean", "sum")


class LipSimMetric(Metric):
    """The LipSim distance of image pairs, accumulated over ``update`` calls: their mean (or sum).

    Inputs follow the model's conventions: float tensors in [0, 1] (in [-1, 1] with ``value_range=(-1, 1)``),
    uint8 tensors, PIL images, paths, lists; batches of equal size, or one image against a batch.

    Args:
        model: the metric to use; default ``LipSim(pretrained=True, value_range=value_range)`` (the bundled default
            weights, offline).
        reduction: "mean" (the mean distance, default) or "sum" (their sum).
        value_range: (low, high) of float images for the default model; with ``model`` it must match
            ``model.value_range`` (or be left out).
        **kwargs: torchmetrics options (``sync_on_compute``, ``dist_sync_on_step``, ...).

    The wrapped model keeps its own train/eval mode when the metric's changes (a pretrained model stays in eval
    mode, where its weight re-parameterisation is cached). ``update`` is differentiable, so ``metric(x, y)`` can
    serve as a loss.

    Example:
        >>> m = LipSimMetric(LipSim(pretrained=False).eval().requires_grad_(False), reduction="sum")
        >>> float(m(torch.zeros(2, 3, 32, 32), torch.zeros(1, 3, 32, 32)))   # one image against two: 2 pairs
        0.0
        >>> int(m.total)
        2
    """

    is_differentiable = True
    higher_is_better = False
    full_state_update = False

    sum_distance: torch.Tensor
    total: torch.Tensor

    def __init__(
        self,
        model: LipSim | None = None,
        reduction: str = "mean",
        value_range: tuple[float, float] | None = None,
        **kwargs: Any,
    ) -> None:
        super().__init__(**kwargs)
        if reduction not in _REDUCTIONS:
            raise ValueError(f"reduction must be 'mean' or 'sum', got {reduction!r}")
        if model is None:
            model = LipSim(pretrained=True, value_range=DEFAULT_VALUE_RANGE if value_range is None else value_range)
        elif not isinstance(model, LipSim):
            raise TypeError(f"model must be a lipsim.LipSim, got {type(model).__name__}")
        elif value_range is not None and check_value_range(value_range) != model.value_range:
            raise ValueError(
                f"value_range={tuple(value_range)} differs from the model's value_range={model.value_range}; "
                "set it on the model (LipSim(..., value_range=...)) or leave it out here"
            )
        self.model = model
        self.reduction = reduction
        self.add_state("sum_distance", default=torch.tensor(0.0), dist_reduce_fx="sum")
        self.add_state("total", default=torch.tensor(0, dtype=torch.long), dist_reduce_fx="sum")

    def update(self, img0: ImageInput, img1: ImageInput) -> None:  # type: ignore[override]
        """Add the distances of the pairs (img0[i], img1[i]) (one image against a batch: every pair with it)."""
        d = self.model(img0, img1)
        self.sum_distance = self.sum_distance + d.sum().to(self.sum_distance)
        self.total = self.total + d.numel()

    def compute(self) -> torch.Tensor:
        """The mean (or sum) of every distance added since the last reset, as a scalar tensor.

        Raises:
            ValueError: the mean of no pairs (``update`` not called since the last reset).
        """
        if self.reduction == "sum":
            return self.sum_distance
        if int(self.total) == 0:
            raise ValueError("LipSimMetric.compute: no image pairs yet; call update(img0, img1) first")
        return self.sum_distance / self.total

    def train(self, mode: bool = True) -> LipSimMetric:
        """Switch the metric's mode; the wrapped model keeps its own (a pretrained model stays in eval mode)."""
        model_mode = self.model.training
        super().train(mode)
        self.model.train(model_mode)
        return self
