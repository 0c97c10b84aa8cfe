"""Validation of a ``device=`` argument before anything is moved to it."""

from __future__ import annotations

import torch

__all__ = ["resolve_device"]

DeviceLike = str | torch.device


def resolve_device(device: DeviceLike) -> torch.device:
    """``device`` as a torch.device that exists on this machine; a one-line ValueError otherwise.

    Refused: strings torch does not parse, ``meta`` (it holds no data), and cuda / mps / xpu devices that this
    machine or this torch build does not have (or a cuda index beyond the devices present).

    Example:
        >>> resolve_device("cpu")
        device(type='cpu')
        >>> resolve_device("meta")
        Traceback (most recent call last):
        ...
        ValueError: device 'meta' holds no data (shapes only): use a compute device such as 'cpu' or 'cuda'
    """
    if not isinstance(device, (str, torch.device)):
        raise TypeError(f"device must be a str or torch.device, got {type(device).__name__}")
    try:
        d = torch.device(device)
    except (RuntimeError, ValueError) as e:
        first = str(e).strip().splitlines()[0] if str(e).strip() else type(e).__name__
        raise ValueError(f"device {str(device)!r} is not a torch device ({first})") from None
    name = str(device)
    if d.type == "meta":
        raise ValueError(f"device {name!r} holds no data (shapes only): use a compute device such as 'cpu' or 'cuda'")
    if d.type == "cpu":
        return d
    if d.type == "cuda":
        if not torch.cuda.is_available():
            build = "this torch build has no CUDA support" if torch.version.cuda is None else "no CUDA device was found"
            raise ValueError(f"device {name!r}: CUDA is not available on this machine ({build})")
        n = torch.cuda.device_count()
        if d.index is not None and d.index >= n:
            raise ValueError(f"device {name!r}: this machine has {n} CUDA device(s): cuda:0 to cuda:{n - 1}")
        return d
    if d.type == "mps":
        mps = getattr(torch.backends, "mps", None)
        if mps is None or not mps.is_available():
            raise ValueError(f"device {name!r}: MPS (Apple-silicon GPU) is not available on this machine")
        return d
    backend = getattr(torch, d.type, None)
    available = getattr(backend, "is_available", None)
    if available is None or not available():
        raise ValueError(f"device {name!r}: {d.type} is not available on this machine")
    return d
