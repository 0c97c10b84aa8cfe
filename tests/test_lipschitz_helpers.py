"""The Lipschitz estimators themselves: exact on linear maps, and they do flag maps with constant > 1."""

from __future__ import annotations

import pytest
import torch

from tests._lipschitz import adversarial_ratio, exact_jacobian_norm, jacobian_norm


@pytest.fixture
def matrix() -> torch.Tensor:
    g = torch.Generator().manual_seed(1)
    return torch.randn(7, 5, generator=g, dtype=torch.float64)


def test_power_iteration_finds_the_spectral_norm(matrix):
    sigma = torch.linalg.matrix_norm(matrix, ord=2)
    x = torch.rand(3, 5, dtype=torch.float64)
    est = jacobian_norm(lambda t: t @ matrix.T, x, iters=200)
    torch.testing.assert_close(est, sigma.expand(3), rtol=1e-9, atol=0)


def test_adversarial_search_finds_the_spectral_norm(matrix):
    sigma = float(torch.linalg.matrix_norm(matrix, ord=2))
    x = torch.rand(4, 5, dtype=torch.float64)
    est = adversarial_ratio(lambda t: t @ matrix.T, x, steps=150)
    assert sigma * (1 - 1e-3) <= est <= sigma * (1 + 1e-9)


def test_exact_jacobian_norm(matrix):
    x = torch.rand(1, 5, dtype=torch.float64)
    assert exact_jacobian_norm(lambda t: torch.tanh(t) @ matrix.T, torch.zeros(1, 5, dtype=torch.float64)) == (
        pytest.approx(float(torch.linalg.matrix_norm(matrix, ord=2)), rel=1e-12)
    )
    assert exact_jacobian_norm(lambda t: t @ matrix.T, x) == pytest.approx(
        float(torch.linalg.matrix_norm(matrix, ord=2)), rel=1e-12
    )


def test_estimators_flag_a_map_just_above_one():
    # relu(1.001 x): Lipschitz constant 1.001, reached only where the input is positive.
    fn = lambda t: torch.relu(1.001 * t)  # noqa: E731
    x = torch.randn(4, 6, dtype=torch.float64)
    assert jacobian_norm(fn, x).max() > 1 + 1e-4
    assert adversarial_ratio(fn, x) > 1 + 1e-4
