"""Common base of the 1-Lipschitz feature extractors f: [0,1]^{3xHxW} -> R^k."""

from __future__ import annotations

import functools
import inspect
from collections.abc import Callable, Collection, Mapping
from numbers import Integral
from typing import Any, ClassVar

import torch
from torch import nn

from ..layers._reparam import Reparametrized

__all__ = ["Backbone"]


def _plain(value: Any, annotation: Any) -> Any:
    """``value`` as JSON writes it: sequences as lists of ints, ``bool`` options as booleans."""
    if annotation in ("bool", bool):
        return bool(value)
    if isinstance(value, (list, tuple)):
        return [int(v) if isinstance(v, Integral) else v for v in value]
    return value


def _recorded_config(
    signature: inspect.Signature,
    arguments: Mapping[str, Any],
    only_when: Mapping[str, str],
    unless_default: Collection[str] = (),
) -> dict[str, Any]:
    """The keyword arguments that rebuild a backbone, from its constructor's bound ``arguments``.

    A key of ``only_when`` is recorded only when the argument it names is true, and a name in ``unless_default``
    only when it differs from its default, so configs written before that option existed stay byte for byte the
    same.
    """
    return {
        name: _plain(arguments[name], param.annotation)
        for name, param in signature.parameters.items()
        if name != "self"
        and (name not in only_when or arguments[only_when[name]])
        and (name not in unless_default or arguments[name] != param.default)
    }


class Backbone(nn.Module):
    """A 1-Lipschitz network with the metadata needed to rebuild it.

    A subclass names its architecture in its class statement (``class Efficient(Backbone, arch="efficient")``);
    ``arch`` and ``config`` are then set from that name and the constructor's bound arguments (defaults
    included), so the config always matches the signature.

    Attributes:
        arch: registry name of the architecture.
        config: keyword arguments that rebuild it with :func:`lipsim.archs.build_arch`.
        config_only_when: options recorded in ``config`` only when the argument they map to is true.
        config_unless_default: options recorded in ``config`` only when they differ from their default.
        embed_dim: size k of the embedding f(x).
        input_size: the (H, W) the network requires, or None when any size works.
        image_size: the resolution images are resized to by default.

    Example:
        >>> class Tiny(Backbone, arch="tiny-example"):
        ...     def __init__(self, width: int = 4, sizes: tuple = (1, 2), gated: bool = False) -> None:
        ...         super().__init__()
        >>> Tiny.arch, Tiny(width=8).config
        ('tiny-example', {'width': 8, 'sizes': [1, 2], 'gated': False})
    """

    arch: ClassVar[str]
    config: dict[str, Any]
    config_only_when: ClassVar[Mapping[str, str]] = {}
    config_unless_default: ClassVar[frozenset[str]] = frozenset()
    embed_dim: int
    input_size: tuple[int, int] | None
    image_size: int

    def __init_subclass__(cls, *, arch: str | None = None, **kwargs: Any) -> None:
        super().__init_subclass__(**kwargs)
        if arch is None:
            return
        cls.arch = arch
        build: Callable[..., None] = cls.__init__
        signature = inspect.signature(build)

        @functools.wraps(build)
        def init_and_record(self: Backbone, *args: Any, **kw: Any) -> None:
            build(self, *args, **kw)
            bound = signature.bind(self, *args, **kw)
            bound.apply_defaults()
            self.config = _recorded_config(signature, bound.arguments, cls.config_only_when, cls.config_unless_default)

        setattr(cls, "__init__", init_and_record)  # noqa: B010 - assigning a method is what this hook does

    def invalidate_cache(self) -> None:
        """Drop every cached eval-time re-parameterisation (rebuilt on the next eval call)."""
        for m in self.modules():
            if isinstance(m, Reparametrized):
                m.invalidate_cache()

    def network_size(self, in_size: tuple[int, int]) -> tuple[int, int]:
        """The (H, W) a caller's (H, W) image is resized to before the network (default: ``image_size``)."""
        return (self.image_size, self.image_size)

    def lipschitz_bound(self, size: tuple[int, int]) -> float:
        """An upper bound (<= 1) on the Lipschitz constant of the network on (H, W) inputs (default 1)."""
        return 1.0

    def forward(self, x: torch.Tensor) -> torch.Tensor:  # pragma: no cover - abstract
        raise NotImplementedError
