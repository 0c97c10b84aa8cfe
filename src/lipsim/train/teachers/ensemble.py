"""A teacher ensemble: concatenated unit-norm embeddings of several teachers (DreamSim's recipe).

``e(x) = concat_i sqrt(w_i) * t_i(x)`` with each ``t_i(x)`` unit-norm and weights summing to 1, so
``e(x)`` is unit-norm and the ensemble distance is the weighted mean of the members' distances:
``1 - <e(x), e(y)> = sum_i w_i (1 - <t_i(x), t_i(y)>)``. A perceptual member (LPIPS-style pooled
features) and a semantic member (an ImageNet classifier's deep features) let one student learn both.

Example:
    >>> from lipsim.train.teachers.base import Teacher
    >>> class Mean(Teacher):
    ...     name, embed_dim = "mean", 3
    ...     def embed(self, x):
    ...         return x.mean(dim=(2, 3))
    >>> e = EnsembleTeacher([Mean(), Mean()], weights=[0.25, 0.75])
    >>> e.embed_dim, round(float(e(torch.rand(2, 3, 32, 32)).norm(dim=1)[0]), 5)
    (6, 1.0)
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any, cast

import torch
import torch.nn.functional as F
from torch import nn

from .base import FeatureTeacher, Teacher

__all__ = ["EnsembleTeacher", "build_ensemble"]


class EnsembleTeacher(Teacher):
    """Concatenate member teachers' unit embeddings, member ``i`` scaled by ``sqrt(weights[i])``.

    Args:
        members: the teachers.
        weights: one non-negative weight per member (normalised to sum 1); default equal.
    """

    scales: torch.Tensor

    def __init__(self, members: Sequence[Teacher], weights: Sequence[float] | None = None) -> None:
        super().__init__()
        if not members:
            raise ValueError("an ensemble needs at least one member teacher")
        w = torch.tensor([1.0] * len(members) if weights is None else [float(v) for v in weights])
        if w.numel() != len(members) or (w < 0).any() or w.sum() <= 0:
            raise ValueError(
                f"weights must be {len(members)} non-negative numbers with a positive sum, got {weights!r}"
            )
        self.members = nn.ModuleList(members)
        self.register_buffer("scales", (w / w.sum()).sqrt(), persistent=False)
        self.name = "ensemble(" + ",".join(m.name for m in members) + ")"
        self.embed_dim = sum(m.embed_dim for m in members)
        self.freeze()

    def embed(self, x: torch.Tensor) -> torch.Tensor:
        # members that read out the same network (same class and name, e.g. one EfficientNet pooled two
        # ways) share one forward pass: the member reading the deepest tap computes the taps for all
        taps_by_net: dict[tuple[type, str], list[torch.Tensor]] = {}
        for m in sorted(self.members, key=lambda m: -max(getattr(m, "layers", (0,)))):
            if isinstance(m, FeatureTeacher) and (type(m), m.name) not in taps_by_net:
                taps_by_net[(type(m), m.name)] = m.taps(x)
        out = []
        members = cast("list[Teacher]", list(self.members))
        for m, s in zip(members, self.scales):
            if isinstance(m, FeatureTeacher):
                taps = taps_by_net[(type(m), m.name)]
                e = m._pool([taps[i] for i in m.layers], list(m.heads) or None)
            else:
                e = m.embed(x)
            out.append(F.normalize(e, dim=1, eps=1e-12) * s)
        return torch.cat(out, dim=1)


def build_ensemble(members: Sequence[dict[str, Any]], weights: Sequence[float] | None = None) -> EnsembleTeacher:
    """Build from specs ``[{"name": ..., "kwargs": {...}}, ...]`` (the form ``--teacher-kwargs`` takes).

    Example:
        >>> build_ensemble([{"name": "efficientnet-lite0", "kwargs": {"embedding": "deep"}}])  # doctest: +SKIP
    """
    from . import get_teacher

    if not isinstance(members, (list, tuple)) or not all(isinstance(m, dict) and "name" in m for m in members):
        raise ValueError(f'ensemble members must be a list of {{"name": ..., "kwargs": {{...}}}}, got {members!r}')
    return EnsembleTeacher([get_teacher(m["name"], **dict(m.get("kwargs", {}))) for m in members], weights)
