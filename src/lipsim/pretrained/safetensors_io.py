"""Reading and writing weights as safetensors, with sha256 verification and strict key/shape matching."""

from __future__ import annotations

import hashlib
import json
import os
import stat
import uuid
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

import numpy as np
import torch
from safetensors import safe_open
from safetensors.torch import save_file

from ..errors import WeightsError
from .config_check import parse_config_json

__all__ = ["sha256_file", "read_safetensors", "write_safetensors", "check_state_dict", "CONFIG_METADATA_KEY"]

CONFIG_METADATA_KEY = "lipsim_config"


def sha256_file(path: str | os.PathLike[str]) -> str:
    """Hex sha256 of a file, read in 1 MiB blocks."""
    h = hashlib.sha256()
    with open(path, "rb") as f:
        for block in iter(lambda: f.read(1 << 20), b""):
            h.update(block)
    return h.hexdigest()


_NUMPY_DTYPES = (torch.float16, torch.float32, torch.float64)


def _all_finite(t: torch.Tensor) -> bool:
    # numpy runs single-threaded: torch's parallel isfinite stalls on a busy machine (18 small calls: 0.5 s)
    if t.dtype in _NUMPY_DTYPES and t.device.type == "cpu":
        return bool(np.isfinite(t.detach().numpy()).all())
    return bool(torch.isfinite(t).all())


def _check_finite(tensors: Mapping[str, torch.Tensor], p: Path) -> None:
    """WeightsError naming the first tensor (in name order) holding NaN or infinite values."""
    for name in sorted(tensors):
        t = tensors[name]
        if (t.is_floating_point() or t.is_complex()) and not _all_finite(t):
            n_nan, n_inf = int(torch.isnan(t).sum()), int(torch.isinf(t).sum())
            raise WeightsError(
                f"weights file {str(p)!r}: tensor {name!r} holds {n_nan} NaN and {n_inf} infinite values "
                f"(of {t.numel()}); the file is corrupt or comes from a diverged run"
            )


def read_safetensors(
    path: str | os.PathLike[str], expected_sha256: str | Sequence[str] | None = None
) -> tuple[dict[str, torch.Tensor], Any]:
    """Load tensors (on CPU) and the lipsim config stored in the file's metadata, if any.

    Every floating-point tensor is checked to be finite. The config is returned as parsed (validated by the
    caller, :func:`lipsim.pretrained.config_check.validate_config`).

    Args:
        path: the safetensors file.
        expected_sha256: a digest the file must have, or several (a registry's and a caller's: it must have each);
            the file is hashed once.

    Raises:
        WeightsError: missing file, sha256 mismatch (corrupt, truncated or other weights), not safetensors,
            a NaN or infinite value (naming the tensor), unreadable metadata.
    """
    p = Path(path)
    if not p.is_file():
        raise WeightsError(f"weights file not found: {str(p)!r}")
    pins = [expected_sha256] if isinstance(expected_sha256, str) else list(expected_sha256 or [])
    if pins:
        found = sha256_file(p)
        for pin in pins:
            if found != pin.lower():
                raise WeightsError(
                    f"weights file {str(p)!r} failed its sha256 check: expected {pin}, found {found} "
                    f"({p.stat().st_size} bytes); the file is corrupt, truncated or not the registered weights"
                )
    try:
        with safe_open(str(p), framework="pt", device="cpu") as f:
            meta = f.metadata() or {}
            tensors = {k: f.get_tensor(k) for k in f.keys()}
    except Exception as e:  # safetensors raises its own error types for every malformed header/body
        raise WeightsError(
            f"weights file {str(p)!r} is not a valid safetensors file ({p.stat().st_size} bytes): {e}"
        ) from None
    _check_finite(tensors, p)
    config = None
    if CONFIG_METADATA_KEY in meta:
        config = parse_config_json(meta[CONFIG_METADATA_KEY], f"weights file {str(p)!r} (lipsim metadata)")
    return tensors, config


def _umask_mode(directory: Path) -> int:
    """The permission bits a new file in ``directory`` gets from the process umask (probed, thread-safe)."""
    probe = directory / f".lipsim-mode-probe-{os.getpid()}-{uuid.uuid4().hex}"
    fd = os.open(probe, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o666)
    try:
        return stat.S_IMODE(os.fstat(fd).st_mode)
    finally:
        os.close(fd)
        os.unlink(probe)


def write_safetensors(
    path: str | os.PathLike[str], state_dict: Mapping[str, torch.Tensor], config: Mapping[str, Any] | None = None
) -> str:
    """Write tensors (contiguous, CPU) atomically, with the permissions the umask gives; returns the sha256.

    (The safetensors writer creates its file with mode 0600 whatever the umask; lipsim sets the mode an
    ordinary new file would get, as for config.json.)
    """
    p = Path(path)
    tmp = p.with_name(p.name + ".tmp")
    tensors = {k: v.detach().to("cpu").contiguous() for k, v in state_dict.items()}
    meta = {CONFIG_METADATA_KEY: json.dumps(dict(config), sort_keys=True)} if config is not None else None
    save_file(tensors, str(tmp), metadata=meta)
    os.chmod(tmp, _umask_mode(p.parent))
    os.replace(tmp, p)
    return sha256_file(p)


def check_state_dict(
    expected: Mapping[str, torch.Tensor], found: Mapping[str, torch.Tensor], source: str, arch: str
) -> None:
    """Strict match of keys and shapes; WeightsError listing the differences otherwise."""
    missing = sorted(set(expected) - set(found))
    unexpected = sorted(set(found) - set(expected))
    shapes = [
        f"{k}: expected {tuple(expected[k].shape)}, found {tuple(found[k].shape)}"
        for k in sorted(set(expected) & set(found))
        if tuple(expected[k].shape) != tuple(found[k].shape)
    ]
    if not (missing or unexpected or shapes):
        return

    def _few(items: list[str]) -> str:
        return ", ".join(items[:5]) + (f" and {len(items) - 5} more" if len(items) > 5 else "")

    parts = []
    if missing:
        parts.append(f"{len(missing)} missing keys ({_few(missing)})")
    if unexpected:
        parts.append(f"{len(unexpected)} unexpected keys ({_few(unexpected)})")
    if shapes:
        parts.append(f"{len(shapes)} shape mismatches ({_few(shapes)})")
    raise WeightsError(
        f"weights {source!r} do not fit arch {arch!r} with this config: "
        + "; ".join(parts)
        + ". Are they weights for another architecture or config?"
    )
