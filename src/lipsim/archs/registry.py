"""Architectures by name: ``list_archs()`` and ``build_arch(name, **config)``."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from ..errors import UnknownNameError
from .backbone import Backbone
from .efficient import Efficient
from .paper_small import PaperSmall

__all__ = ["ArchSpec", "DEFAULT_ARCH", "build_arch", "list_archs", "get_arch_spec"]

DEFAULT_ARCH = "efficient"


@dataclass(frozen=True)
class ArchSpec:
    """A named architecture: how to build it and a one-line description."""

    name: str
    builder: Callable[..., Backbone]
    description: str


_ARCHS: dict[str, ArchSpec] = {
    spec.name: spec
    for spec in (
        ArchSpec(Efficient.arch, Efficient, "staged AOL convs + MaxMin, global pooling, AOL head (package default)"),
        ArchSpec(PaperSmall.arch, PaperSmall, "the LipSim paper's network: 20 SLL convs + 7 SLL dense layers, k=1792"),
    )
}


def list_archs() -> list[str]:
    """Names of the available architectures, default first.

    Example:
        >>> list_archs()
        ['efficient', 'paper-small']
    """
    return [DEFAULT_ARCH] + sorted(n for n in _ARCHS if n != DEFAULT_ARCH)


def get_arch_spec(name: str) -> ArchSpec:
    """The :class:`ArchSpec` registered under ``name``; :class:`~lipsim.errors.UnknownNameError` otherwise."""
    try:
        return _ARCHS[name]
    except (KeyError, TypeError):
        raise UnknownNameError(f"unknown arch {name!r}; expected one of {list_archs()}") from None


def build_arch(name: str | None = None, **config: Any) -> Backbone:
    """Build a freshly initialised backbone.

    Args:
        name: an entry of :func:`list_archs` (default: ``DEFAULT_ARCH``).
        **config: keyword arguments of the architecture (e.g. ``embed_dim``, ``image_size``).
    """
    spec = get_arch_spec(DEFAULT_ARCH if name is None else name)
    try:
        return spec.builder(**config)
    except TypeError as e:
        raise ValueError(f"bad config for arch {spec.name!r}: {e}") from None
