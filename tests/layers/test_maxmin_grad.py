"""MaxMinFunction: the same values and derivatives as torch.maximum / torch.minimum, ties included."""

from __future__ import annotations

import pytest
import torch

from lipsim.layers import max_min
from lipsim.layers._maxmin_grad import MaxMinFunction

pytestmark = pytest.mark.usefixtures("single_thread")


def reference(x: torch.Tensor, dim: int = 1) -> torch.Tensor:
    a, b = x.chunk(2, dim=dim)
    return torch.cat([torch.maximum(a, b), torch.minimum(a, b)], dim=dim)


def with_ties(dtype: torch.dtype, shape=(3, 8, 5, 4), dim: int = 1) -> torch.Tensor:
    """Random values where about a third of the (a, b) pairs are exactly equal."""
    g = torch.Generator().manual_seed(0)
    x = torch.randn(shape, generator=g, dtype=dtype)
    a, b = x.chunk(2, dim=dim)
    tie = torch.rand(a.shape, generator=g) < 0.3
    b = torch.where(tie, a, b)
    return torch.cat([a, b], dim=dim)


@pytest.mark.parametrize("dtype", [torch.float32, torch.float64])
@pytest.mark.parametrize("dim", [1, -1])
def test_values_and_gradients_equal_maximum_minimum(dtype, dim):
    x = with_ties(dtype, dim=dim)
    g = torch.randn(x.shape, generator=torch.Generator().manual_seed(1), dtype=dtype)
    xa, xr = x.clone().requires_grad_(True), x.clone().requires_grad_(True)
    ya, yr = MaxMinFunction.apply(xa, dim), reference(xr, dim)
    torch.testing.assert_close(ya, yr, rtol=0, atol=0)
    ya.backward(g)
    yr.backward(g)
    torch.testing.assert_close(xa.grad, xr.grad, rtol=0, atol=0)


def test_max_min_uses_it_only_when_a_gradient_is_wanted():
    x = with_ties(torch.float32)
    assert max_min(x.requires_grad_(True)).grad_fn.name() == "MaxMinFunctionBackward"
    with torch.no_grad():
        assert max_min(x).grad_fn is None
    assert max_min(x.detach()).grad_fn is None


def test_double_backward_equals_reference():
    x = with_ties(torch.float64)
    v = torch.randn(x.shape, generator=torch.Generator().manual_seed(2), dtype=torch.float64)

    def hvp(f):
        xx = x.clone().requires_grad_(True)
        (grad,) = torch.autograd.grad(f(xx).pow(3).sum(), xx, create_graph=True)
        (h,) = torch.autograd.grad((grad * v).sum(), xx)
        return h

    torch.testing.assert_close(hvp(lambda t: MaxMinFunction.apply(t, 1)), hvp(reference), rtol=1e-12, atol=1e-12)


def test_forward_mode_and_vmap_transforms_equal_reference():
    x = with_ties(torch.float64, shape=(2, 6, 3, 3))
    v = torch.randn(x.shape, generator=torch.Generator().manual_seed(3), dtype=torch.float64)
    _, jv = torch.func.jvp(lambda t: MaxMinFunction.apply(t, 1), (x,), (v,))
    _, jv_ref = torch.func.jvp(reference, (x,), (v,))
    torch.testing.assert_close(jv, jv_ref, rtol=1e-12, atol=1e-12)
    jac = torch.func.jacrev(lambda t: MaxMinFunction.apply(t, 1))(x)
    torch.testing.assert_close(jac, torch.func.jacrev(reference)(x), rtol=0, atol=0)
    batched = torch.func.vmap(lambda t: MaxMinFunction.apply(t, 0))(x)
    torch.testing.assert_close(batched, reference(x), rtol=0, atol=0)


def test_gradcheck_away_from_ties():
    x = torch.randn(2, 4, 3, generator=torch.Generator().manual_seed(4), dtype=torch.float64).requires_grad_(True)
    assert torch.autograd.gradcheck(lambda t: MaxMinFunction.apply(t, 1), (x,))
    assert torch.autograd.gradgradcheck(lambda t: MaxMinFunction.apply(t, 1).pow(2), (x,))
