"""The 1-Lipschitz architectures (docs/layers.md, 'Architectures')."""

from .backbone import Backbone
from .efficient import Efficient
from .paper_small import PaperSmall
from .registry import DEFAULT_ARCH, ArchSpec, build_arch, get_arch_spec, list_archs

__all__ = [
    "ArchSpec",
    "Backbone",
    "DEFAULT_ARCH",
    "Efficient",
    "PaperSmall",
    "build_arch",
    "get_arch_spec",
    "list_archs",
]
