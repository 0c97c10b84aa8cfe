"""Reading and writing weights as safetensors, with sha256 verification and strict key/shape matching."""

from __future__ import annotations

import hashlib
import json
import os
from pathlib import Path
from typing import Any, Mapping

import torch
from safetensors import safe_open
from safetensors.torch import save_file

from ..errors import WeightsError

__all__ = ["sha256_file", "read_safetensors", "write_safetensors", "check_state_dict", "CONFIG_METADATA_KEY"]

CONFIG_METADATA_KEY = "lipsim_config"


def sha256_file(path: str | os.PathLike[str]) -> str:
    """Hex sha256 of a file, read in 1 MiB blocks."""
    h = hashlib.sha256()
    with open(path, "rb") as f:
        for block in iter(lambda: f.read(1 << 20), b""):
            h.update(block)
    return h.hexdigest()


def read_safetensors(
    path: str | os.PathLike[str], expected_sha256: str | None = None
) -> tuple[dict[str, torch.Tensor], dict[str, Any] | None]:
    """Load tensors (on CPU) and the lipsim config stored in the file's metadata, if any.

    Raises:
        WeightsError: missing file, sha256 mismatch (corrupt, truncated or other weights), not safetensors.
    """
    p = Path(path)
    if not p.is_file():
        raise WeightsError(f"weights file not found: {str(p)!r}")
    if expected_sha256 is not None:
        found = sha256_file(p)
        if found != expected_sha256.lower():
            raise WeightsError(
                f"weights file {str(p)!r} failed its sha256 check: expected {expected_sha256}, found {found} "
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
    config = None
    if CONFIG_METADATA_KEY in meta:
        try:
            config = json.loads(meta[CONFIG_METADATA_KEY])
        except json.JSONDecodeError as e:
            raise WeightsError(f"weights file {str(p)!r} has unreadable lipsim metadata: {e}") from None
    return tensors, config


def write_safetensors(
    path: str | os.PathLike[str], state_dict: Mapping[str, torch.Tensor], config: Mapping[str, Any] | None = None
) -> str:
    """Write tensors (contiguous, CPU) atomically; returns the file's sha256."""
    p = Path(path)
    tmp = p.with_name(p.name + ".tmp")
    tensors = {k: v.detach().to("cpu").contiguous() for k, v in state_dict.items()}
    meta = {CONFIG_METADATA_KEY: json.dumps(dict(config), sort_keys=True)} if config is not None else None
    save_file(tensors, str(tmp), metadata=meta)
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
        f"weights {source!r} do not fit arch {arch!r} with this config: " + "; ".join(parts)
        + ". Are they weights for another architecture or config?"
    )
