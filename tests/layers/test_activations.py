"""MaxMin (GroupSort-2): values, norm preservation, 1-Lipschitz, function == module, errors."""

from __future__ import annotations

import pytest
import torch

from lipsim.layers import MaxMin, max_min
from tests._lipschitz import check_lipschitz

pytestmark = pytest.mark.usefixtures("single_thread")


def test_values():
    out = MaxMin()(torch.tensor([[1.0, -2.0, 3.0, 0.5]]))
    torch.testing.assert_close(out, torch.tensor([[3.0, 0.5, 1.0, -2.0]]), rtol=0, atol=0)


def test_function_equals_module():
    x = torch.randn(2, 6, 3, 3)
    torch.testing.assert_close(MaxMin()(x), max_min(x), rtol=0, atol=0)
    torch.testing.assert_close(MaxMin(dim=-1)(x.transpose(1, -1)), max_min(x.transpose(1, -1), dim=-1))


def test_each_pair_is_a_permutation_and_norm_is_preserved():
    x = torch.randn(5, 8, 4, 4, dtype=torch.float64)
    y = MaxMin()(x)
    a, b = x.chunk(2, dim=1)
    hi, lo = y.chunk(2, dim=1)
    torch.testing.assert_close(torch.sort(torch.stack([a, b]), dim=0).values, torch.stack([lo, hi]), rtol=0, atol=0)
    torch.testing.assert_close(y.flatten(1).norm(dim=1), x.flatten(1).norm(dim=1), rtol=1e-15, atol=0)


def test_odd_channels_rejected():
    with pytest.raises(ValueError, match=r"^MaxMin needs an even number of channels along dim 1, got 5$"):
        MaxMin()(torch.zeros(1, 5, 2, 2))


def test_gradient_at_ties_is_finite():
    x = torch.zeros(1, 4, requires_grad=True)
    MaxMin()(x).pow(2).sum().backward()
    assert torch.isfinite(x.grad).all()


@pytest.mark.parametrize("shape", [(6, 8), (3, 4, 5, 5)])
def test_is_1_lipschitz(shape):
    x = torch.randn(*shape, dtype=torch.float64)
    power, adv = check_lipschitz(f"MaxMin {shape}", MaxMin(), x)
    assert power == pytest.approx(1.0, abs=1e-9)  # a permutation almost everywhere
    assert adv > 0.99
