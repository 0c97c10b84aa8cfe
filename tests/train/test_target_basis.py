"""Principal distillation targets: energy kept, inner products kept, deterministic and cached."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from lipsim.train.target_basis import cached_principal_basis, principal_basis


def _embeddings(n=400, dim=24, rank=6, seed=0):
    g = np.random.default_rng(seed)
    t = g.normal(size=(n, rank)) @ g.normal(size=(rank, dim)) + 0.01 * g.normal(size=(n, dim)) + 2.0
    return (t / np.linalg.norm(t, axis=1, keepdims=True)).astype(np.float16)


def test_basis_is_orthonormal_and_keeps_inner_products():
    t = _embeddings()
    v, kept = principal_basis(t, 7)
    assert v.shape == (24, 7)
    torch.testing.assert_close(v.T @ v, torch.eye(7), atol=1e-5, rtol=0)
    assert 0.999 < kept <= 1.0  # rank 6 plus the mean direction, up to the noise
    x = torch.from_numpy(t.astype(np.float32))
    torch.testing.assert_close((x @ v) @ (x @ v).T, x @ x.T, atol=2e-3, rtol=0)


def test_energy_kept_matches_the_residual():
    t = _embeddings()
    v, kept = principal_basis(t, 3)
    x = torch.from_numpy(t.astype(np.float64))
    residual = (x - x @ v.double() @ v.double().T).pow(2).sum()
    assert kept == pytest.approx(1 - float(residual / x.pow(2).sum()), abs=1e-5)


def test_deterministic_signs_and_bad_k():
    t = _embeddings()
    a, _ = principal_basis(t, 4)
    b, _ = principal_basis(t[::-1].copy(), 4)  # same rows, other order
    torch.testing.assert_close(a, b, atol=1e-4, rtol=0)
    assert bool((a.abs().argmax(dim=0) == a.argmax(dim=0)).all())
    with pytest.raises(ValueError, match=r"target dims must be in \[1, 24\] \(the teacher's embedding size\), got 25"):
        principal_basis(t, 25)


def test_cached_basis_is_reused(tmp_path):
    t = _embeddings()
    a, kept = cached_principal_basis(t, 5, tmp_path, "key")
    assert (tmp_path / "basis_key_k5.npz").is_file()
    b, kept_again = cached_principal_basis(np.zeros_like(t), 5, tmp_path, "key")  # read back, not recomputed
    assert torch.equal(a, b) and kept == kept_again
