"""DreamSim teacher (Fu et al. 2023), the teacher of the LipSim paper, through the ``dreamsim`` package.

DreamSim downloads its checkpoints (DINO, CLIP and OpenCLIP ViT-B/16 plus LoRA weights) on first use,
so it works only where the internet is reachable and ``pip install dreamsim`` has been run. Where either
is missing, constructing the teacher raises :class:`RuntimeError` at once: the package is looked up with
``importlib.util.find_spec`` (nothing is imported), and an empty cache is only filled after a 3-second
TCP probe of the download host, so nothing can hang.

Example:
    >>> t = DreamSimTeacher(cache_dir="~/.cache/dreamsim")  # doctest: +SKIP
    >>> t(torch.rand(2, 3, 224, 224)).shape                  # doctest: +SKIP
    torch.Size([2, 1792])
"""

from __future__ import annotations

import importlib
import importlib.util
import os
import socket
from pathlib import Path

import torch
import torch.nn.functional as F

from ..package_weights import MissingWeightsError
from .base import Teacher

__all__ = ["DreamSimTeacher", "DREAMSIM_DIMS"]

#: embedding width of each ``dreamsim_type``.
DREAMSIM_DIMS = {"ensemble": 1792, "dino_vitb16": 768, "clip_vitb32": 512, "open_clip_vitb32": 512}

_DOWNLOAD_HOST = ("github.com", 443)
_INSTALL = "pip install dreamsim"


def _reachable(host: tuple[str, int], timeout: float = 3.0) -> bool:
    try:
        with socket.create_connection(host, timeout=timeout):
            return True
    except OSError:
        return False


class DreamSimTeacher(Teacher):
    """DreamSim embedding of images resized (bicubic) to 224x224.

    Args:
        dreamsim_type: one of :data:`DREAMSIM_DIMS`.
        cache_dir: where DreamSim keeps (or downloads) its checkpoints.

    Raises:
        MissingWeightsError: (a lipsim MissingDependencyError and a RuntimeError) the package is not installed,
            or its weights are not cached and cannot be downloaded.
        RuntimeError: the download or the model construction failed.
    """

    name = "dreamsim"

    def __init__(self, dreamsim_type: str = "ensemble", cache_dir: str | os.PathLike | None = None) -> None:
        super().__init__()
        if dreamsim_type not in DREAMSIM_DIMS:
            raise ValueError(f"dreamsim_type must be one of {sorted(DREAMSIM_DIMS)}, got {dreamsim_type!r}")
        if importlib.util.find_spec("dreamsim") is None:
            raise MissingWeightsError(
                "the 'dreamsim' teacher needs the dreamsim package and internet access to download its "
                f"weights on first use: run `{_INSTALL}` on a machine that can reach github.com, or use "
                "an offline teacher (vgg16, alexnet, efficientnet-lite0/1/2, stlpips-alex, stlpips-vgg)."
            )
        cache = Path(cache_dir or Path.home() / ".cache" / "dreamsim").expanduser()
        cached = cache.is_dir() and any(cache.iterdir())
        if not cached and not _reachable(_DOWNLOAD_HOST):
            raise MissingWeightsError(
                f"the 'dreamsim' teacher has no cached weights in {cache} and cannot reach "
                f"{_DOWNLOAD_HOST[0]} to download them; it needs internet access on first use. "
                "Use an offline teacher (vgg16, alexnet, efficientnet-lite0/1/2, stlpips-alex, stlpips-vgg) here."
            )
        try:
            module = importlib.import_module("dreamsim")
            model, _ = module.dreamsim(pretrained=True, device="cpu", cache_dir=str(cache), dreamsim_type=dreamsim_type)
        except Exception as exc:  # download errors come as many types (URLError, HTTPError, OSError...)
            raise RuntimeError(
                f"could not load DreamSim ({type(exc).__name__}: {exc}); it downloads its weights at run "
                "time and needs internet access."
            ) from exc
        self.model = model
        self.embed_dim = DREAMSIM_DIMS[dreamsim_type]
        self.freeze()

    def embed(self, x: torch.Tensor) -> torch.Tensor:
        if x.shape[-2:] != (224, 224):
            x = F.interpolate(x, size=(224, 224), mode="bicubic", align_corners=False).clamp(0, 1)
        return self.model.embed(x)
