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
from pathlib import Path
from typing import Any

from ..errors import UnknownWeightsError, WeightsError
from ..image_io import describe_path
from ._hub import hub_download
from .bundled import bundled_file
from .registry import WeightsSpec, default_weights_for, get_weights_spec, list_weights
from .weights_format import CONFIG_NAME, WEIGHTS_NAME, ResolvedWeights, read_pretrained_dir, read_weights_file

__all__ = [
    "ResolvedWeights",
    "resolve_weights",
    "read_pretrained_dir",
    "parse_hub_reference",
    "looks_like_path",
    "CONFIG_NAME",
    "WEIGHTS_NAME",
    "HUB_PREFIX",
]

HUB_PREFIX = "hf-hub:"
_REPO_ID = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._-]*/[A-Za-z0-9][A-Za-z0-9._-]*$")


def _from_spec(spec: WeightsSpec) -> ResolvedWeights:
    """The registered file (bundled, else from the Hub), verified; its own metadata says how to build it."""
    if spec.sha256 is None:
        raise WeightsError(
            f"weights {spec.name!r} are registered but no published file exists yet"
            + (f": {spec.conversion_hint}" if spec.conversion_hint else "")
        )
    path = bundled_file(spec.file)
    if path is None:
        if spec.hub_repo is None:
            raise WeightsError(f"weights {spec.name!r}: {spec.file!r} is not bundled and no Hub repo is registered")
        try:
            path = hub_download(spec.hub_repo, spec.file, spec.hub_revision)
        except WeightsError as e:
            if spec.bundled_in is None:
                raise
            raise WeightsError(
                f"weights {spec.name!r} are not bundled in this wheel (the last release that bundled them is lipsim "
                f"{spec.bundled_in}: pip install 'lipsim=={spec.bundled_in}'), and {e}"
            ) from None
    resolved = read_weights_file(path, f"{spec.name} ({path})", expected_sha256=spec.sha256)
    if resolved.config["arch"] != spec.arch:
        raise WeightsError(
            f"weights {resolved.source!r} hold arch {resolved.config['arch']!r}, but are registered as {spec.arch!r}"
        )
    return resolved


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
    body = reference[len(HUB_PREFIX) :] if reference.startswith(HUB_PREFIX) else reference
    repo, sep, revision = body.partition("@")
    if not _REPO_ID.match(repo) or (sep and not revision):
        raise WeightsError(
            f"bad Hub reference {reference!r}: expected '{HUB_PREFIX}org/name' or '{HUB_PREFIX}org/name@revision'"
        )
    return repo, (revision or None)


def looks_like_path(reference: str) -> bool:
    """Whether a weights reference is meant as a local path (see the module docstring).

    Example:
        >>> looks_like_path("runs/model"), looks_like_path("~/m"), looks_like_path("efficient-photos64-v1")
        (True, True, False)
    """
    seps = {os.sep, "/"} | ({os.altsep} if os.altsep else set())
    return (
        any(sep in reference for sep in seps)
        or reference.startswith((".", "~"))
        or reference.endswith(".safetensors")
        or os.path.lexists(reference)
    )


def resolve_weights(weights: Any, arch: str | None) -> ResolvedWeights:
    """Turn ``weights`` into tensors + config (the rules are in the module docstring).

    ``None`` means the registered default of ``arch``.
    """
    from ..archs import DEFAULT_ARCH

    if weights is None:
        return _from_spec(default_weights_for(arch or DEFAULT_ARCH))
    if isinstance(weights, WeightsSpec):
        return _from_spec(weights)
    if not isinstance(weights, (str, os.PathLike)):
        raise TypeError(
            f"weights must be a path, registered name or 'hf-hub:org/name' reference, got {type(weights).__name__}"
        )
    name = os.fspath(weights)
    if isinstance(name, bytes):
        raise TypeError("weights must be a str path, not bytes")
    if isinstance(weights, str) and name.startswith(HUB_PREFIX):
        return _from_hub_repo(*parse_hub_reference(name))
    p = Path(name).expanduser()
    kind = describe_path(p)
    if kind == "directory":
        return read_pretrained_dir(p)
    if kind == "regular file":
        return read_weights_file(p, str(p), default_arch=arch or DEFAULT_ARCH)
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
