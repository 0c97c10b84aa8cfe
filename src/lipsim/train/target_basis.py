"""Principal subspace of the teacher's embeddings: a smaller distillation target that keeps its geometry.

For teacher embeddings t_i (rows of T, unit norm, not centred) the top-k eigenvectors V_k of T^T T keep the
largest share of sum_i ||t_i||^2 that any k-dimensional subspace can, so inner products and hence cosine
distances <t_i, t_j> ~ <V_k^T t_i, V_k^T t_j> are kept up to the discarded energy (docs/training.md,
'Principal targets'). The student then regresses V_k^T t: its head and the cost of its AOL rescaling shrink
with k.
"""

from __future__ import annotations

import os
from pathlib import Path

import numpy as np
import torch

__all__ = ["principal_basis", "cached_principal_basis", "load_basis"]


def principal_basis(targets: np.ndarray | torch.Tensor, k: int, chunk: int = 8192) -> tuple[torch.Tensor, float]:
    """The (D, k) float32 basis V_k and the share of energy it keeps, from an (N, D) array or tensor
    (float16 is fine).

    Signs are fixed (each column's largest-magnitude entry positive), so the basis is a function of the data.

    Example:
        >>> t = np.eye(3, dtype=np.float32)[[0, 0, 1]]
        >>> v, kept = principal_basis(t, 1)
        >>> v.flatten().tolist(), round(kept, 4)
        ([1.0, 0.0, 0.0], 0.6667)
    """
    n, dim = targets.shape
    if not 0 < k <= dim:
        raise ValueError(f"target dims must be in [1, {dim}] (the teacher's embedding size), got {k}")
    gram = torch.zeros(dim, dim, dtype=torch.float64)
    for i in range(0, n, chunk):
        block = torch.from_numpy(np.asarray(targets[i : i + chunk], dtype=np.float64))
        gram += block.T @ block
    evals, evecs = torch.linalg.eigh(gram)  # ascending
    v = evecs[:, -k:].flip(1)
    idx = v.abs().argmax(dim=0)
    v = v * torch.sign(v[idx, torch.arange(k)])
    kept = float(evals[-k:].sum() / evals.sum().clamp_min(1e-300))
    return v.float(), kept


def cached_principal_basis(
    targets: np.ndarray | torch.Tensor, k: int, out: Path, key: str
) -> tuple[torch.Tensor, float]:
    """:func:`principal_basis`, computed once and kept in ``out`` (a resumed run must regress the same targets)."""
    path = Path(out) / f"basis_{key}_k{k}.npz"
    if path.is_file():
        return _read_basis(path)
    basis, kept = principal_basis(targets, k)
    tmp = path.with_name(path.name + ".tmp.npz")
    np.savez(tmp, basis=basis.numpy(), kept=np.float64(kept))
    os.replace(tmp, path)
    return basis, kept


def _read_basis(path: str | os.PathLike[str]) -> tuple[torch.Tensor, float]:
    with np.load(path) as z:
        return torch.from_numpy(np.asarray(z["basis"], dtype=np.float32)), float(z["kept"])


def load_basis(path: str | os.PathLike[str], dim: int, k: int) -> tuple[torch.Tensor, float]:
    """The (dim, k) basis and kept energy that :func:`cached_principal_basis` stored in ``path``, checked."""
    try:
        basis, kept = _read_basis(path)
    except (OSError, KeyError, ValueError) as e:
        raise ValueError(
            f"--target-basis {str(path)!r}: not a basis file written by distill --target-dims ({e})"
        ) from None
    if tuple(basis.shape) != (dim, k):
        raise ValueError(
            f"--target-basis {str(path)!r} is {tuple(basis.shape)}, expected ({dim}, {k}) "
            f"(the teacher's embedding dimension by --target-dims)"
        )
    return basis, kept
