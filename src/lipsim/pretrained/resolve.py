"""Resolution of ``weights=`` into a state dict plus config: file, directory, registry name or Hub repo.

A reference is read as:

- ``"hf-hub:org/name"`` or ``"hf-hub:org/name@revision"``: a Hugging Face Hub repo holding a
  :meth:`~lipsim.LipSim.save_pretrained` directory (``HF_HUB_OFFLINE`` respected). Hub references are always
  written with this prefix, so a mistyped local folder is never sent to the network.
- an existing file or directory: a safetensors file or a save_pretrained directory;
- a registered name (:func:`lipsim.list_weights`), written bare;
- anything that looks like a path (contains a path separator, starts with ``.`` or ``~``, or ends with
  ``.safetensors``) and does not exist: a WeightsError "no such file or directory" naming it.

Whatever the reference, the file read must match a sha256 pinned for it: by the registry (a registered name, or a
file whose digest the registry knows), by a save_pretrained config (``weights_sha256``) or by the caller
(``expected_sha256``). A file nothing pins is refused, naming its sha256, unless the caller passes
``trust_unverified=True``; it then loads with a warning. A file without a lipsim config is built only from an
architecture the caller names (``arch`` and its options), never from defaults.
"""

from __future__ import annotations

import os
import re
from collections.abc import Mapping
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
_SHA256 = re.compile(r"^[0-9a-fA-F]{64}$")


def _from_spec(spec: WeightsSpec, expected_sha256: str | None = None) -> ResolvedWeights:
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
    pins = [spec.sha256] + ([expected_sha256] if expected_sha256 is not None else [])
    resolved = read_weights_file(path, f"{spec.name} ({path})", expected_sha256=pins)
    if resolved.config["arch"] != spec.arch:
        raise WeightsError(
            f"weights {resolved.source!r} hold arch {resolved.config['arch']!r}, but are registered as {spec.arch!r}"
        )
    return resolved


def _from_hub_repo(
    repo_id: str, revision: str | None, expected_sha256: str | None = None, trust_unverified: bool = False
) -> ResolvedWeights:
    cfg_path = hub_download(repo_id, CONFIG_NAME, revision)
    w_path = hub_download(repo_id, WEIGHTS_NAME, revision)
    if cfg_path.parent != w_path.parent:  # pragma: no cover - the Hub cache keeps one snapshot folder
        raise WeightsError(f"Hub repo {repo_id!r}: config and weights resolved to different snapshots")
    return read_pretrained_dir(cfg_path.parent, expected_sha256=expected_sha256, trust_unverified=trust_unverified)


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


def resolve_weights(
    weights: Any,
    arch: str | None,
    *,
    expected_sha256: str | None = None,
    trust_unverified: bool = False,
    arch_config: Mapping[str, Any] | None = None,
) -> ResolvedWeights:
    """Turn ``weights`` into tensors + config (the rules are in the module docstring).

    Args:
        weights: the reference; ``None`` means the registered default of ``arch``.
        arch: the architecture asked for (checked by the caller against the weights' own); for a file without a
            lipsim config, the one to build.
        expected_sha256: a digest the weights file must have (64 hex digits), on top of any the registry or the
            config pins.
        trust_unverified: load a file nothing pins, with a warning, instead of refusing it.
        arch_config: architecture options, only for a file without a lipsim config.
    """
    from ..archs import DEFAULT_ARCH

    if expected_sha256 is not None and not (isinstance(expected_sha256, str) and _SHA256.match(expected_sha256)):
        raise ValueError(f"expected_sha256 must be 64 hex digits, got {expected_sha256!r:.100}")
    options = dict(arch_config or {})

    def no_options() -> None:
        if options:
            raise ValueError(f"architecture options {sorted(options)} apply only with pretrained=False")

    if weights is None:
        no_options()
        return _from_spec(default_weights_for(arch or DEFAULT_ARCH), expected_sha256)
    if isinstance(weights, WeightsSpec):
        no_options()
        return _from_spec(weights, expected_sha256)
    if not isinstance(weights, (str, os.PathLike)):
        raise TypeError(
            f"weights must be a path, registered name or 'hf-hub:org/name' reference, got {type(weights).__name__}"
        )
    name = os.fspath(weights)
    if isinstance(name, bytes):
        raise TypeError("weights must be a str path, not bytes")
    if isinstance(weights, str) and name.startswith(HUB_PREFIX):
        no_options()
        return _from_hub_repo(*parse_hub_reference(name), expected_sha256, trust_unverified)
    p = Path(name).expanduser()
    kind = describe_path(p)
    if kind == "directory":
        no_options()
        return read_pretrained_dir(p, expected_sha256=expected_sha256, trust_unverified=trust_unverified)
    if kind == "regular file":
        sha, trust = expected_sha256, trust_unverified
        return read_weights_file(p, str(p), expected_sha256=sha, trust_unverified=trust, arch=arch, arch_config=options)
    if kind not in ("missing", "broken symbolic link"):
        raise WeightsError(f"expected a weights file or directory, got a {kind}: {name!r}")
    if not isinstance(weights, str) or looks_like_path(name):
        hint = ""
        if _REPO_ID.match(name) and not name.endswith(".safetensors"):
            hint = f"; for the Hugging Face Hub repo write '{HUB_PREFIX}{name}'"
        what = "broken symbolic link" if kind == "broken symbolic link" else "no such file or directory"
        raise WeightsError(f"weights: {what}: {name!r}{hint}")
    no_options()
    if name in list_weights():
        return _from_spec(get_weights_spec(name), expected_sha256)
    raise UnknownWeightsError(
        f"unknown weights {name!r}: not a registered name ({', '.join(list_weights())}) and not an existing path; "
        f"Hub repos are written '{HUB_PREFIX}org/name' or '{HUB_PREFIX}org/name@revision'"
    )
