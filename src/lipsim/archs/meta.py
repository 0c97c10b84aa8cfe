"""Building a backbone with shapes only: on the meta device, without running the weight initialisation."""

from __future__ import annotations

from typing import Any

import torch
from torch.overrides import TorchFunctionMode

from .backbone import Backbone
from .registry import build_arch

__all__ = ["build_arch_shapes"]


class _SkipInit(TorchFunctionMode):
    """While active (this thread only), random initialisers return their tensor untouched.

    Combined with the meta device, this builds the network with shapes only: no allocation, no orthogonal /
    normal initialisation (QR decompositions: most of the construction time) that loaded weights would
    overwrite. (``normal_`` on meta tensors would also import torch's compiler stack, seconds on first use.)
    """

    _SKIPPED = frozenset(
        {
            torch.Tensor.normal_,
            torch.Tensor.uniform_,
            torch.nn.init.normal_,
            torch.nn.init.uniform_,
            torch.nn.init.trunc_normal_,
        }
    )

    def __torch_function__(self, func, types, args=(), kwargs=None):  # noqa: ANN001, ANN204
        if func in self._SKIPPED:
            return args[0] if args else next(iter((kwargs or {}).values()))
        return func(*args, **(kwargs or {}))


def build_arch_shapes(name: str | None = None, **config: Any) -> Backbone:
    """:func:`~lipsim.archs.build_arch` on the meta device: every tensor has its shape and dtype, none its values.

    Cheap even for the paper's 63 M parameters; load real tensors with ``load_state_dict(..., assign=True)``.

    Example:
        >>> net = build_arch_shapes("paper-small")
        >>> net.config["embed_dim"], tuple(net.state_dict()["linear.0.weight"].shape)
        (1792, (1024, 8820))
    """
    with torch.device("meta"), _SkipInit():
        return build_arch(name, **config)
