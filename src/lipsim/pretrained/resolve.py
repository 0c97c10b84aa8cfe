"""Resolution of ``weights=`` into a state dict plus config: file, directory, registry name or Hub repo.

A reference is read as:

- ``"hf-hub:org/name"`` or ``"hf-hub:org/name@revision"``: a Hugging Face Hub repo holding a
  :meth:`~lipsim.LipSim.save_pretrained` directory (``HF_HUB_OFFLINE`` respected). Hub references are always
  written with this prefix, so a mistyped local folder is never sent to the network.
- an existing file or directory: a safetensors file or a save_pretrained directory;
- a registered name (:func:`lipsim.list_weights`), written bare;
- anything that looks like a path (contains a path separator, starts with ``.`` or ``~``, or ends with
  ``.safetensors``) and does not exist: a WeightsError "no such file or directory" naming it.
"""

from __future__ import annotations

import os
import re
import warnings
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import torch

from ..errors import UnknownWeightsError, WeightsError
from ..image_io import describe_path
from ._hub import bundled_file, hub_download
from .config_check import MAX_CONFIG_BYTES, parse_config_json, validate_config
from .registry import WeightsSpec, default_weights_for, get_weights_spec, list_weights
from .safetensors_io import read_safetensors, sha256_file

__all__ = ["ResolvedWeights", "resolve_weights", "read_pretrained_dir", "parse_hub_reference", "looks_like_path",
           "CONFIG_NAME", "WEIGHTS_NAME", "HUB_PREFIX"]

CONFIG_NAME = "config.json"
WEIGHTS_NAME = "model.safetensors"
FORMAT = "lipsim"
HUB_PREFIX = "hf-hub:"
_SPEC_PASS_THROUGH = ("threshold", "threshold_rates")
_REPO_ID = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._-]*/[A-Za-z0-9][A-Za-z0-9._-]*$")


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
    tensors, stored = read_safetensors(path, expected_sha256=spec.sha256)
    config: dict[str, Any] = {"arch": spec.arch, "arch_config": dict(spec.arch_config),
                              "constant_coordinate": spec.constant_coordinate}
    for key in _SPEC_PASS_THROUGH:  # the decision threshold: the registry entry's, else the file's own config
        value = spec.extra.get(key, stored.get(key) if isinstance(stored, dict) else None)
        if value is not None:
            config[key] = value
    source = f"{spec.name} ({path})"
    return ResolvedWeights(tensors, validate_config(config, source), source)


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
        raise WeightsError(f"{str(cfg_path)!r}: config is {cfg_path.stat().st_size:,} bytes, more than the "
                           f"{MAX_CONFIG_BYTES:,} accepted")
    config = parse_config_json(cfg_path.read_bytes(), repr(str(cfg_path)))
    config = validate_config(config, repr(str(cfg_path)))
    expected = config.get("weights_sha256")
    if expected is None:
        found = sha256_file(w_path)
        warnings.warn(
            f"{str(cfg_path)!r} records no weights_sha256, so {str(w_path)!r} is loaded unverified; its sha256 is "
            f"{found}: add \"weights_sha256\": \"{found}\" to the config to pin it", UserWarning, stacklevel=4,
        )
    tensors, _ = read_safetensors(w_path, expected_sha256=expected)
    return ResolvedWeights(tensors, config, str(w_path))


def _from_hub_repo(repo_id: str, revision: str | None) -> ResolvedWeights:
    cfg_path = hub_download(repo_id, CONFIG_NAME, revision)
    w_path = hub_download(repo_id, WEIGHTS_NAME, revision)
    if cfg_path.parent != w_path.parent:  # pragma: no cover - the Hub cache keeps one snapshot folder
        raise WeightsError(f"Hub repo {repo_id!r}: config and weights resolved to different snapshots")
    return read_pretrained_dir(cfg_path.parent)


def parse_hub_reference(reference: str) -> tuple[str, str | None]:
    """``"hf-hub:org/name[@revision]"`` -> ``("org/name", revision or None)``; WeightsError if malformed.

    Example:
        >>> parse_hub_reference("hf-hub:lipsim/efficient-photos64-v1@v1")
        ('lipsim/efficient-photos64-v1', 'v1')
    """
    body = reference[len(HUB_PREFIX):] if reference.startswith(HUB_PREFIX) else reference
    repo, sep, revision = body.partition("@")
    if not _REPO_ID.match(repo) or (sep and not revision):
        raise WeightsError(f"bad Hub reference {reference!r}: expected '{HUB_PREFIX}org/name' or "
                           f"'{HUB_PREFIX}org/name@revision'")
    return repo, (revision or None)


def looks_like_path(reference: str) -> bool:
    """Whether a weights reference is meant as a local path (see the module docstring).

    Example:
        >>> looks_like_path("runs/model"), looks_like_path("~/m"), looks_like_path("efficient-photos64-v1")
        (True, True, False)
    """
    seps = {os.sep, "/"} | ({os.altsep} if os.altsep else set())
    return (any(sep in reference for sep in seps) or reference.startswith((".", "~"))
            or reference.endswith(".safetensors") or os.path.lexists(reference))


def resolve_weights(weights: Any, arch: str | None, revision: str | None = None) -> ResolvedWeights:
    """Turn ``weights`` into tensors + config (the rules are in the module docstring).

    ``None`` means the registered default of ``arch``; ``revision`` applies to a Hub reference without its own.
    """
    from ..archs import DEFAULT_ARCH

    if weights is None:
        return _from_spec(default_weights_for(arch or DEFAULT_ARCH))
    if isinstance(weights, WeightsSpec):
        return _from_spec(weights)
    if not isinstance(weights, (str, os.PathLike)):
        raise TypeError(f"weights must be a path, registered name or 'hf-hub:org/name' reference, "
                        f"got {type(weights).__name__}")
    name = os.fspath(weights)
    if isinstance(name, bytes):
        raise TypeError("weights must be a str path, not bytes")
    if isinstance(weights, str) and name.startswith(HUB_PREFIX):
        repo, rev = parse_hub_reference(name)
        return _from_hub_repo(repo, rev or revision)
    p = Path(name).expanduser()
    kind = describe_path(p)
    if kind == "directory":
        return read_pretrained_dir(p)
    if kind == "regular file":
        tensors, config = read_safetensors(p)
        if config is None:
            config = {"arch": arch or DEFAULT_ARCH}
        config = validate_config(config, str(p))
        return ResolvedWeights(tensors, config, str(p))
    if kind not in ("missing", "broken symbolic link"):
        raise WeightsError(f"expected a weights file or directory, got a {kind}: {name!r}")
    if not isinstance(weights, str) or looks_like_path(name):
        hint = ""
        if _REPO_ID.match(name) and not name.endswith(".safetensors"):
            hint = f"; for the Hugging Face Hub repo write '{HUB_PREFIX}{name}'"
        what = "broken symbolic link" if kind == "broken symbolic link" else "no such file or directory"
        raise WeightsError(f"weights: {what}: {name!r}{hint}")
    if name in list_weights():
        return _from_spec(get_weights_spec(name))
    raise UnknownWeightsError(
        f"unknown weights {name!r}: not a registered name ({', '.join(list_weights())}) and not an existing path; "
        f"Hub repos are written '{HUB_PREFIX}org/name' or '{HUB_PREFIX}org/name@revision'"
    )
