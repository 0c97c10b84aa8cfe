"""torch.hub entry points of lipsim.

From a clone of the repository (no network: the default weights ship in ``weights/``)::

    import torch
    model = torch.hub.load("/path/to/lipsim", "lipsim", source="local")
    d = model(img0, img1)

The clone's ``src/`` is put first on ``sys.path`` unless lipsim is already imported, so the clone's code runs
whether or not it was installed with pip. Its dependencies (below) must be installed.
"""

from __future__ import annotations

import sys as _sys
import typing as _typing
from pathlib import Path as _Path

# (imports carry a leading underscore: torch.hub lists every public callable of this module as an entry point)
dependencies = ["torch", "torchvision", "numpy", "PIL", "huggingface_hub", "safetensors"]

_SRC = str(_Path(__file__).resolve().parent / "src")
if "lipsim" not in _sys.modules and _SRC not in _sys.path:
    _sys.path.insert(0, _SRC)


def lipsim(pretrained: bool = True, weights: str | None = None, **kwargs: _typing.Any) -> _typing.Any:
    """The LipSim metric: ``lipsim.LipSim(pretrained=pretrained, weights=weights, **kwargs)``.

    With the defaults, the bundled default weights (offline, in eval mode, frozen). ``model(img0, img1)`` gives
    distances in [0, 2] (lower = more similar) of float images in [0, 1], or in [-1, 1] with
    ``value_range=(-1, 1)`` (the LPIPS convention); ``model.certify`` and ``model.two_afc`` add certified radii.

    Args:
        pretrained: load weights; False builds an untrained network (for training).
        weights: a registered name (``lipsim.list_weights()``), a file or directory, or ``"hf-hub:org/name"``;
            None: the default.
        **kwargs: any other argument of ``lipsim.LipSim`` (``device``, ``value_range``, ``arch``, ...).
    """
    from lipsim import LipSim

    return LipSim(pretrained=pretrained, weights=weights, **kwargs)


def lipsim_metric(**kwargs: _typing.Any) -> _typing.Any:
    """The torchmetrics metric ``lipsim.metrics.LipSimMetric(**kwargs)`` (needs ``pip install torchmetrics``).

    Args:
        **kwargs: arguments of ``LipSimMetric`` (``model``, ``reduction``, ``value_range``, ...).
    """
    from lipsim.metrics import LipSimMetric

    return LipSimMetric(**kwargs)
