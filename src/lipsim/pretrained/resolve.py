"""Resolution of ``weights=`` into a state dict plus config: file, directory, registry name or Hub repo."""

from __future__ import annotations

import json
import os
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import torch

from ..errors import WeightsError
from ._hub import bundled_file, hub_download
from .registry import WeightsSpec, default_weights_for, get_weights_spec, list_weights
from .safetensors_io import read_safetensors

__all__ = ["ResolvedWeights", "resolve_weights", "read_pretrained_dir", "CONFIG_NAME", "WEIGHTS_NAME"]

CONFIG_NAME = "config.json"
WEIGHTS_NAME = "model.safetensors"
FORMAT = "lipsim"


@dataclass
class ResolvedWeights:
    """Tensors and the config needed to build the model they belong to."""

    state_dict: dict[str, torch.Tensor]
    config: dict[str, Any]  # arch, arch_config, constant_coordinate (+ provenance)
    source: str


def _from_spec(spec: WeightsSpec) -> ResolvedWeights:
    if spec.sha256 is None:
        raise WeightsError(
            f"weights {spec.name!r} are registered but no published file exists yet"
            + (f": {spec.conversion_hint}" if spec.conversion_hint else "")
        )
    path = bundled_file(spec.file)
    if path is None:
        if spec.hub_repo is None:
            raise WeightsError(f"weights {spec.name!r}: {spec.file!r} is not bundled and no Hub repo is registered")
        path = hub_download(spec.hub_repo, spec.file, spec.hub_revision)
    tensors, _ = read_safetensors(path, expected_sha256=spec.sha256)
    config = {"arch": spec.arch, "arch_config": dict(spec.arch_config), "constant_coordinate": spec.constant_coordinate}
    return ResolvedWeights(tensors, config, f"{spec.name} ({path})")


def _check_config(config: Any, source: str) -> dict[str, Any]:
    if not isinstance(config, dict) or "arch" not in config:
        raise WeightsError(f"{source}: config must be a JSON object with at least 'arch', got {config!r:.200}")
    cc = config.setdefault("constant_coordinate", "append")
    if cc not in ("append", "none"):
        raise WeightsError(f"{source}: constant_coordinate must be 'append' or 'none', got {cc!r}")
    config.setdefault("arch_config", {})
    return config


def read_pretrained_dir(directory: str | os.PathLike[str]) -> ResolvedWeights:
    """Read a :meth:`LipSim.save_pretrained` directory (config.json + model.safetensors), sha256-checked."""
    d = Path(directory)
    cfg_path, w_path = d / CONFIG_NAME, d / WEIGHTS_NAME
    for p in (cfg_path, w_path):
        if not p.is_file():
            raise WeightsError(f"{str(d)!r} is not a lipsim pretrained directory: missing {p.name}")
    try:
        config = json.loads(cfg_path.read_text())
    except (json.JSONDecodeError, UnicodeDecodeError) as e:
        raise WeightsError(f"{str(cfg_path)!r} is not valid JSON: {e}") from None
    config = _check_config(config, str(cfg_path))
    tensors, _ = read_safetensors(w_path, expected_sha256=config.get("weights_sha256"))
    return ResolvedWeights(tensors, config, str(w_path))


def _from_hub_repo(repo_id: str, revision: str | None) -> ResolvedWeights:
    cfg_path = hub_download(repo_id, CONFIG_NAME, revision)
    w_path = hub_download(repo_id, WEIGHTS_NAME, revision)
    if cfg_path.parent != w_path.parent:  # pragma: no cover - the Hub cache keeps one snapshot folder
        raise WeightsError(f"Hub repo {repo_id!r}: config and weights resolved to different snapshots")
    return read_pretrained_dir(cfg_path.parent)


def resolve_weights(weights: Any, arch: str | None, revision: str | None = None) -> ResolvedWeights:
    """Turn ``weights`` into tensors + config.

    Order: an explicit file or save_pretrained directory; a registered name (bundled copy, then the Hub);
    a Hub repo id ("org/name") holding a save_pretrained directory; ``None`` means the default of ``arch``.
    """
    from ..archs import DEFAULT_ARCH

    if weights is None:
        return _from_spec(default_weights_for(arch or DEFAULT_ARCH))
    if isinstance(weights, WeightsSpec):
        return _from_spec(weights)
    if not isinstance(weights, (str, os.PathLike)):
        raise TypeError(f"weights must be a path, registered name or Hub repo id, got {type(weights).__name__}")
    p = Path(weights)
    if p.is_dir():
        return read_pretrained_dir(p)
    if p.is_file():
        tensors, config = read_safetensors(p)
        if config is None:
            from ..archs import DEFAULT_ARCH as default

            config = {"arch": arch or default}
        config = _check_config(config, str(p))
        return ResolvedWeights(tensors, config, str(p))
    name = str(weights)
    if name in list_weights():
        return _from_spec(get_weights_spec(name))
    if name.count("/") == 1 and not name.startswith((".", "/")) and not name.endswith(".safetensors"):
        return _from_hub_repo(name, revision)
    raise WeightsError(
        f"weights {name!r} is not an existing file or directory, a registered name ({list_weights()}) "
        "or a Hub repo id of the form 'org/name'"
    )
