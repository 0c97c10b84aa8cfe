"""Eval-time re-parameterisation cache shared by the 1-Lipschitz layers.

The scaling that makes a layer 1-Lipschitz (SLL's ``T``, AOL's ``d``) depends only on the weights.
In train mode it is recomputed every call so gradients flow through it; in eval mode it is computed once
and reused until a parameter changes (in-place update, ``load_state_dict``, ``.to()``), detected through
each parameter's storage pointer, version counter and a checksum of its values. The checksum catches writes
through ``p.data`` (e.g. ``p.data.add_(...)``, EMA updates), which do not bump the version counter; it costs
one read of the parameters per eval call, far less than recomputing the re-parameterisation.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import torch
from torch import nn

__all__ = ["Reparametrized"]

_LOW_PRECISION = (torch.float16, torch.bfloat16)


def _checksums(params: Sequence[torch.Tensor]) -> tuple[float, ...]:
    """Sum of each floating-point parameter (one device sync per layer): changes when the values change.

    A float sum reads each value once (a few ms for the largest layers on CPU, about 4% of a paper-small
    forward at batch 1). It misses only edits that leave the sum unchanged (e.g. swapping two values, or a
    change below the sum's rounding); call ``invalidate_cache()`` after such edits through ``p.data``.
    """
    sums = [
        p.detach().sum(dtype=torch.float32 if p.dtype in _LOW_PRECISION else None).to(torch.float64)
        for p in params
        if p.is_floating_point() and p.device.type != "meta" and p.numel() > 0
    ]
    return tuple(torch.stack(sums).tolist()) if sums else ()


class Reparametrized(nn.Module):
    """Base class for layers whose effective weights are a function of their parameters."""

    def __init__(self) -> None:
        super().__init__()
        self._cache: tuple[tuple[Any, ...], tuple[torch.Tensor, ...]] | None = None

    def compute_weights(self) -> tuple[torch.Tensor, ...]:
        """Return the effective tensors used by ``forward`` (differentiable in the parameters)."""
        raise NotImplementedError

    def _cache_key(self) -> tuple[Any, ...]:
        params = list(self.parameters(recurse=False))
        storage: tuple[Any, ...] = tuple((p.data_ptr(), p._version, p.dtype, p.device) for p in params)
        return storage + _checksums(params)

    def _needs_grad_through_weights(self) -> bool:
        return torch.is_grad_enabled() and any(p.requires_grad for p in self.parameters(recurse=False))

    def effective_weights(self) -> tuple[torch.Tensor, ...]:
        """Effective weights: fresh in train mode (or when weight gradients are wanted), cached in eval mode."""
        if self.training or self._needs_grad_through_weights():
            self._cache = None
            return self.compute_weights()
        key = self._cache_key()
        if self._cache is None or self._cache[0] != key:
            with torch.no_grad():
                self._cache = (key, self.compute_weights())
        return self._cache[1]

    def invalidate_cache(self) -> None:
        """Drop the cached effective weights (they are rebuilt on the next eval-mode call)."""
        self._cache = None

    def train(self, mode: bool = True) -> Reparametrized:
        self._cache = None
        return super().train(mode)

    def __getstate__(self) -> dict[str, Any]:
        state = self.__dict__.copy()
        state["_cache"] = None  # derived data: never pickled or deep-copied
        return state
