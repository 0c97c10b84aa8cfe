"""Unit embeddings with their certificate metadata, stored as safetensors plus a JSON side file."""

from __future__ import annotations

import json
import os
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import torch
from safetensors import safe_open
from safetensors.torch import save_file

from ..certificates import EmbeddingBatch

__all__ = ["StoredEmbeddings", "write_store", "read_store", "side_file"]

FORMAT = "lipsim-embeddings"
VERSION = 1


@dataclass
class StoredEmbeddings:
    """Embeddings of N images as kept by an index or a cache (float32, CPU).

    Attributes:
        phi: (N, D) unit embeddings.
        resize_norm: (N,) :attr:`lipsim.certificates.EmbeddingBatch.resize_norm` of each image.
        feature_norm: (N,) ||f(x)||, needed by the certificates only without the constant coordinate.
        constant_appended: whether phi = [f; 1] / ||[f; 1]||.

    (Files keep the names they were written with: tensors ``pnorm`` and ``fnorm``, key ``constant_coordinate``.)
    """

    phi: torch.Tensor
    resize_norm: torch.Tensor
    feature_norm: torch.Tensor
    constant_appended: bool

    @classmethod
    def empty(cls, dim: int, constant_appended: bool) -> StoredEmbeddings:
        z = torch.zeros(0)
        return cls(torch.zeros(0, dim), z, z.clone(), constant_appended)

    @classmethod
    def from_batch(cls, e: EmbeddingBatch) -> StoredEmbeddings:
        f32 = lambda t: t.detach().to("cpu", torch.float32).contiguous()  # noqa: E731
        return cls(f32(e.phi), f32(e.resize_norm), f32(e.feature_norm), bool(e.constant_appended))

    def __len__(self) -> int:
        return int(self.phi.shape[0])

    def batch(self, rows: torch.Tensor | slice | None = None, dtype: torch.dtype = torch.float64) -> EmbeddingBatch:
        """An :class:`EmbeddingBatch` of some rows (all by default), for the functions of lipsim.certificates."""
        r = slice(None) if rows is None else rows
        return EmbeddingBatch(
            self.phi[r].to(dtype), self.feature_norm[r].to(dtype), self.resize_norm[r].to(dtype), self.constant_appended
        )

    def select(self, rows: torch.Tensor | list[int]) -> StoredEmbeddings:
        idx = torch.as_tensor(rows, dtype=torch.long)
        return StoredEmbeddings(self.phi[idx], self.resize_norm[idx], self.feature_norm[idx], self.constant_appended)

    def concat(self, other: StoredEmbeddings) -> StoredEmbeddings:
        if len(self) and len(other) and self.phi.shape[1] != other.phi.shape[1]:
            raise ValueError(f"embedding sizes differ: {self.phi.shape[1]} and {other.phi.shape[1]}")
        if len(self) and len(other) and self.constant_appended != other.constant_appended:
            raise ValueError("cannot mix embeddings with and without the constant coordinate")
        if not len(self):
            return other
        return StoredEmbeddings(
            torch.cat([self.phi, other.phi]),
            torch.cat([self.resize_norm, other.resize_norm]),
            torch.cat([self.feature_norm, other.feature_norm]),
            self.constant_appended,
        )


def side_file(path: str | os.PathLike[str]) -> Path:
    """The JSON side file of a store: ``x.safetensors`` -> ``x.json``, any other name -> name + ``.json``."""
    p = Path(path)
    return p.with_suffix(".json") if p.suffix == ".safetensors" else p.with_name(p.name + ".json")


def _atomic_write_text(path: Path, text: str) -> None:
    tmp = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    tmp.write_text(text)
    os.replace(tmp, path)


def write_store(path: str | os.PathLike[str], tensors: dict[str, torch.Tensor], meta: dict[str, Any]) -> None:
    """Write tensors (safetensors) and ``meta`` (the JSON side file), each atomically (temp file + rename).

    The side file is written last and names the tensor file's size, so a reader can tell a torn pair (a crash
    between the two renames) from a consistent one.
    """
    p = Path(path)
    p.parent.mkdir(parents=True, exist_ok=True)
    tmp = p.with_name(f".{p.name}.{os.getpid()}.tmp")
    save_file({k: v.detach().to("cpu").contiguous() for k, v in tensors.items()}, str(tmp))
    os.replace(tmp, p)
    meta = {"format": FORMAT, "version": VERSION, **meta, "tensor_file_bytes": p.stat().st_size}
    _atomic_write_text(side_file(p), json.dumps(meta, indent=1, sort_keys=True) + "\n")


def read_store(path: str | os.PathLike[str], what: str) -> tuple[dict[str, torch.Tensor], dict[str, Any]]:
    """Read what :func:`write_store` wrote; ValueError naming the file and the problem otherwise.

    Args:
        path: the safetensors file.
        what: what the file is, for error messages ("index", "embedding cache").
    """
    p, s = Path(path), side_file(path)
    if not p.is_file():
        raise FileNotFoundError(f"{what} file not found: {str(p)!r}")
    if not s.is_file():
        raise ValueError(f"{what} {str(p)!r} has no side file {str(s)!r} (expected the JSON written with it)")
    try:
        meta = json.loads(s.read_text())
    except (json.JSONDecodeError, UnicodeDecodeError) as e:
        raise ValueError(f"{what} side file {str(s)!r} is not valid JSON: {e}") from None
    if not isinstance(meta, dict) or meta.get("format") != FORMAT:
        raise ValueError(f"{str(s)!r} is not a lipsim {what} side file (expected format {FORMAT!r})")
    if meta.get("version") != VERSION:
        raise ValueError(f"{what} {str(p)!r} has format version {meta.get('version')!r}; this lipsim reads {VERSION}")
    if meta.get("tensor_file_bytes") != p.stat().st_size:
        raise ValueError(
            f"{what} {str(p)!r} does not match its side file {str(s)!r} (sizes differ: the pair was "
            "torn by an interrupted write or edited); rebuild it"
        )
    try:
        with safe_open(str(p), framework="pt", device="cpu") as f:
            tensors = {k: f.get_tensor(k) for k in f.keys()}
    except Exception as e:  # safetensors raises its own error types for malformed files
        raise ValueError(f"{what} {str(p)!r} is not a valid safetensors file: {e}") from None
    return tensors, meta
