"""lipsim.distance: the functional form equals the module, with reductions."""

from __future__ import annotations

import pytest
import torch

import lipsim
from lipsim import WeightsError
from tests._helpers import structured_images, tiny_model


@pytest.fixture(scope="module")
def model():
    return tiny_model("efficient")


def test_function_equals_module(model):
    a, b = structured_images(3, seed=1), structured_images(3, seed=2)
    d = model(a, b)
    torch.testing.assert_close(lipsim.distance(a, b, model=model), d, rtol=0, atol=0)
    torch.testing.assert_close(lipsim.distance(a, b, reduction="none", model=model), d, rtol=0, atol=0)
    torch.testing.assert_close(lipsim.distance(a, b, reduction="mean", model=model), d.mean(), rtol=0, atol=0)
    torch.testing.assert_close(lipsim.distance(a, b, reduction="sum", model=model), d.sum(), rtol=0, atol=0)
    assert lipsim.distance(a, b, reduction="mean", model=model).shape == ()
    torch.testing.assert_close(lipsim.distance(a[0], b[0], model=model), d[:1], rtol=1e-12, atol=1e-15)


def test_function_is_differentiable(model):
    a = structured_images(2, seed=1).requires_grad_(True)
    lipsim.distance(a, structured_images(2, seed=2), reduction="sum", model=model).backward()
    assert torch.isfinite(a.grad).all() and a.grad.abs().sum() > 0


def test_identity(model):
    a = structured_images(2, seed=1)
    assert lipsim.distance(a, a, reduction="sum", model=model) <= 1e-14


def test_bad_reduction(model):
    with pytest.raises(ValueError, match=r"^reduction must be 'none', 'mean' or 'sum', got 'max'$"):
        lipsim.distance(torch.rand(1, 3, 8, 8), torch.rand(1, 3, 8, 8), reduction="max", model=model)


def test_default_model_without_registered_weights(empty_registry):
    with pytest.raises(WeightsError, match=r"^no default pretrained weights are registered for arch 'efficient'"):
        lipsim.distance(torch.rand(1, 3, 8, 8), torch.rand(1, 3, 8, 8))
