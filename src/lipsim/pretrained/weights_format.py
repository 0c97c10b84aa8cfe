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

import inspect
import json
import os
import warnings
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import torch

from ..errors import WeightsError
from .config_check import MAX_CONFIG_BYTES, parse_config_json, validate_config
from .registry import weights_with_sha256
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


def _unverified(path: Path, trust_unverified: bool, refusal: str, warning: str) -> str:
    """The sha256 of a file no digest is pinned for: refused unless the caller trusts it, then with a warning.

    A file whose digest the registry pins (a registered file under another path) counts as verified. ``refusal``
    and ``warning`` are formatted with ``{found}``, the file's sha256.
    """
    found = sha256_file(path)
    if weights_with_sha256(found) is not None:
        return found
    hint = (
        "check it against a trusted source and pass expected_sha256 (--expected-sha256), or pass "
        "trust_unverified=True (--trust-unverified) to load it unverified"
    )
    if not trust_unverified:
        raise WeightsError(refusal.format(found=found) + hint)
    warnings.warn(warning.format(found=found), UserWarning, stacklevel=5)
    return found


def _arch_defaults(arch: str) -> dict[str, Any]:
    from ..archs import get_arch_spec

    params = inspect.signature(get_arch_spec(arch).builder).parameters.values()
    return {p.name: p.default for p in params if p.default is not inspect.Parameter.empty}


def _as_json(value: Any) -> str:
    return json.dumps(list(value) if isinstance(value, tuple) else value, sort_keys=True)


def _check_same_network(config: Mapping[str, Any], own: Mapping[str, Any], cfg_path: Path) -> None:
    """WeightsError unless config.json describes the network the weights file's own config does.

    Both are validated; arch options left out count as their defaults, so only a change of the network built is
    refused. Provenance (threshold, training history) may differ: calibration writes it into config.json.
    """
    pairs = [(key, config.get(key), own.get(key)) for key in ("arch", "constant_coordinate")]
    if config["arch"] == own["arch"]:
        defaults = _arch_defaults(config["arch"])
        mine, theirs = {**defaults, **config["arch_config"]}, {**defaults, **own["arch_config"]}
        pairs += [(f"arch_config.{k}", mine.get(k), theirs.get(k)) for k in sorted(set(mine) | set(theirs))]
    for key, found, expected in pairs:
        if _as_json(found) != _as_json(expected):
            raise WeightsError(
                f"{str(cfg_path)!r}: {key} is {_as_json(found):.100} but the weights file's own config (its lipsim "
                f"metadata, covered by the sha256) says {_as_json(expected):.100}; config.json was changed after the "
                "weights were saved and would build another network: restore it"
            )


def read_pretrained_dir(
    directory: str | os.PathLike[str], *, expected_sha256: str | None = None, trust_unverified: bool = False
) -> ResolvedWeights:
    """Read a :meth:`LipSim.save_pretrained` directory (config.json + model.safetensors).

    The config is validated before the tensors are read. model.safetensors is checked against the config's
    ``weights_sha256`` and against ``expected_sha256``. A file that neither pins (save_pretrained always records
    the digest: the directory was assembled by hand) is refused, naming its sha256, unless the registry pins it
    or ``trust_unverified``, which loads it with a ``UserWarning``. The file's own config (its lipsim metadata)
    must describe the network config.json does (:func:`_check_same_network`).
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
    pins = [pin for pin in (config.get("weights_sha256"), expected_sha256) if pin is not None]
    if not pins:
        pins = [
            _unverified(
                w_path,
                trust_unverified,
                f"{str(cfg_path)!r} records no weights_sha256, so {str(w_path)!r} cannot be verified; its sha256 is "
                "{found}: ",
                f"{str(cfg_path)!r} records no weights_sha256, so {str(w_path)!r} is loaded unverified "
                '(trust_unverified); its sha256 is {found}: add "weights_sha256": "{found}" to the config to pin it',
            )
        ]
    tensors, own = read_safetensors(w_path, expected_sha256=pins)
    if own is not None:
        own = validate_config(own, f"weights file {str(w_path)!r} (lipsim metadata)")
        _check_same_network(config, own, cfg_path)
    return ResolvedWeights(tensors, config, str(w_path))


def read_weights_file(
    path: str | os.PathLike[str],
    source: str,
    *,
    expected_sha256: str | Sequence[str] | None = None,
    trust_unverified: bool = False,
    arch: str | None = None,
    arch_config: Mapping[str, Any] | None = None,
) -> ResolvedWeights:
    """Read a weights file alone: its tensors and the config in its metadata, validated.

    Args:
        path: the safetensors file.
        source: how errors and :attr:`ResolvedWeights.source` name it.
        expected_sha256: refuse any other content (one digest or several). Without one, the file is refused
            (naming its sha256) unless the registry pins its digest or ``trust_unverified``.
        trust_unverified: load a file no digest is pinned for, with a ``UserWarning``.
        arch: for a file without a lipsim config (a bare state dict), the architecture to build; None makes such
            a file an error (lipsim never guesses a config).
        arch_config: that architecture's options (its defaults for the others); only for a file without a config.
    """
    p = Path(path)
    pins = [expected_sha256] if isinstance(expected_sha256, str) else list(expected_sha256 or [])
    if not pins and p.is_file():
        pins = [
            _unverified(
                p,
                trust_unverified,
                f"weights file {str(p)!r} cannot be verified: no sha256 is pinned for it (the registry does not "
                "know it, and a file alone records none); its sha256 is {found}: ",
                f"weights file {str(p)!r} is loaded unverified (trust_unverified): no sha256 is pinned for it; its "
                "sha256 is {found}",
            )
        ]
    tensors, config = read_safetensors(p, expected_sha256=pins)
    if config is None:
        if arch is None:
            raise WeightsError(
                f"weights {source}: the file carries no lipsim config (safetensors metadata 'lipsim_config'), so "
                "nothing says how to build its network; pass the architecture explicitly: "
                "LipSim(weights=..., arch=NAME, **options) (lipsim-compare --arch NAME)"
            )
        config = {"arch": arch, "arch_config": dict(arch_config or {})}
    elif arch_config:
        raise WeightsError(
            f"weights {source}: architecture options {sorted(arch_config)} apply only to a file without a lipsim "
            "config, and this one carries its own"
        )
    return ResolvedWeights(tensors, validate_config(config, source), source)
