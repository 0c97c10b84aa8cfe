"""The lipsim weights format, read and written in one place (docs/weights-format.md).

A weights file is safetensors whose metadata key ``lipsim_config`` holds the config as JSON; a
:meth:`~lipsim.LipSim.save_pretrained` directory is that file (``model.safetensors``) plus the same config in
``config.json`` with the file's sha256 (``weights_sha256``).

Example:
    >>> import tempfile
    >>> from lipsim.archs import build_arch
    >>> tmp = tempfile.TemporaryDirectory()
    >>> net = build_arch("efficient", widths=(8, 16), head_width=16, embed_dim=8)
    >>> config = weights_config(net.arch, net.config, "append")
    >>> d = write_pretrained_dir(tmp.name, net.state_dict(), config)
    >>> read_pretrained_dir(d).config["arch_config"]["embed_dim"]
    8
    >>> tmp.cleanup()
"""

from __future__ import annotations

import json
import os
import warnings
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import torch

from ..errors import WeightsError
from .config_check import MAX_CONFIG_BYTES, parse_config_json, validate_config
from .safetensors_io import read_safetensors, sha256_file, write_safetensors

__all__ = [
    "CONFIG_NAME",
    "WEIGHTS_NAME",
    "FORMAT",
    "ResolvedWeights",
    "weights_config",
    "write_pretrained_dir",
    "read_pretrained_dir",
    "read_weights_file",
]

CONFIG_NAME = "config.json"
WEIGHTS_NAME = "model.safetensors"
FORMAT = "lipsim"


@dataclass
class ResolvedWeights:
    """Tensors and the config needed to build the model they belong to."""

    state_dict: dict[str, torch.Tensor]
    config: dict[str, Any]  # arch, arch_config, constant_coordinate (+ provenance)
    source: str


def weights_config(
    arch: str, arch_config: Mapping[str, Any], constant_coordinate: str, provenance: Mapping[str, Any] | None = None
) -> dict[str, Any]:
    """The config a weights file records: how to rebuild the network, then any provenance keys.

    Provenance never overrides the keys written here, and a stale ``weights_sha256`` is dropped (the writer
    records the new file's).
    """
    from .. import __version__

    config: dict[str, Any] = {
        "format": FORMAT,
        "arch": arch,
        "arch_config": dict(arch_config),
        "constant_coordinate": constant_coordinate,
        "lipsim_version": __version__,
    }
    config.update({k: v for k, v in (provenance or {}).items() if k not in config and k != "weights_sha256"})
    return config


def write_pretrained_dir(
    directory: str | os.PathLike[str], state_dict: Mapping[str, torch.Tensor], config: Mapping[str, Any]
) -> Path:
    """Write ``model.safetensors`` (``config`` in its metadata) and ``config.json`` (plus ``weights_sha256``).

    Each file is written under a temporary name and renamed, with the permissions the process umask gives
    new files.
    """
    d = Path(directory)
    d.mkdir(parents=True, exist_ok=True)
    written = dict(config)
    written["weights_sha256"] = write_safetensors(d / WEIGHTS_NAME, state_dict, config)
    tmp = d / (CONFIG_NAME + ".tmp")
    tmp.write_text(json.dumps(written, indent=2, sort_keys=True) + "\n")
    os.replace(tmp, d / CONFIG_NAME)
    return d


def read_pretrained_dir(directory: str | os.PathLike[str]) -> ResolvedWeights:
    """Read a :meth:`LipSim.save_pretrained` directory (config.json + model.safetensors).

    The config is validated before the tensors are read. model.safetensors is checked against the config's
    ``weights_sha256``; a config without one (save_pretrained always writes it: the directory was assembled by
    hand) loads with a ``UserWarning`` that gives the file's sha256 to record, never silently unchecked.
    """
    d = Path(directory)
    cfg_path, w_path = d / CONFIG_NAME, d / WEIGHTS_NAME
    for p in (cfg_path, w_path):
        if not p.is_file():
            raise WeightsError(f"{str(d)!r} is not a lipsim pretrained directory: missing {p.name}")
    if cfg_path.stat().st_size > MAX_CONFIG_BYTES:
        raise WeightsError(
            f"{str(cfg_path)!r}: config is {cfg_path.stat().st_size:,} bytes, more than the "
            f"{MAX_CONFIG_BYTES:,} accepted"
        )
    config = parse_config_json(cfg_path.read_bytes(), repr(str(cfg_path)))
    config = validate_config(config, repr(str(cfg_path)))
    expected = config.get("weights_sha256")
    if expected is None:
        found = sha256_file(w_path)
        warnings.warn(
            f"{str(cfg_path)!r} records no weights_sha256, so {str(w_path)!r} is loaded unverified; its sha256 is "
            f'{found}: add "weights_sha256": "{found}" to the config to pin it',
            UserWarning,
            stacklevel=4,
        )
    tensors, _ = read_safetensors(w_path, expected_sha256=expected)
    return ResolvedWeights(tensors, config, str(w_path))


def read_weights_file(
    path: str | os.PathLike[str], source: str, *, default_arch: str | None = None, expected_sha256: str | None = None
) -> ResolvedWeights:
    """Read a weights file alone: its tensors and the config in its metadata, validated.

    Args:
        path: the safetensors file.
        source: how errors and :attr:`ResolvedWeights.source` name it.
        default_arch: the arch of a file without a lipsim config (a bare state dict); None makes that an error.
        expected_sha256: refuse any other content.
    """
    tensors, config = read_safetensors(path, expected_sha256=expected_sha256)
    if config is None:
        if default_arch is None:
            raise WeightsError(
                f"weights {source}: the file carries no lipsim config (safetensors metadata 'lipsim_config')"
            )
        config = {"arch": default_arch}
    return ResolvedWeights(tensors, validate_config(config, source), source)
