"""ZeroChannelPad (isometry), FirstK (projection), Center (translation)."""

from __future__ import annotations

import pytest
import torch

from lipsim.layers import Center, FirstK, ZeroChannelPad
from tests._lipschitz import check_lipschitz, operator_matrix

pytestmark = pytest.mark.usefixtures("single_thread")


def test_zero_channel_pad_values():
    x = torch.randn(2, 3, 4, 5)
    y = ZeroChannelPad(7)(x)
    assert y.shape == (2, 7, 4, 5)
    torch.testing.assert_close(y[:, :3], x, rtol=0, atol=0)
    assert (y[:, 3:] == 0).all()
    torch.testing.assert_close(ZeroChannelPad(3)(x), x, rtol=0, atol=0)
    torch.testing.assert_close(ZeroChannelPad(5)(torch.ones(4, 2)), torch.tensor([[1.0, 1, 0, 0, 0]] * 4))


def test_zero_channel_pad_is_an_isometry():
    m = operator_matrix(ZeroChannelPad(5), torch.zeros(1, 3, 3, 2, dtype=torch.float64))
    torch.testing.assert_close(m.T @ m, torch.eye(18, dtype=torch.float64), rtol=0, atol=0)


def test_zero_channel_pad_rejects_more_channels():
    with pytest.raises(ValueError, match=r"^ZeroChannelPad: input has 6 channels, more than out_channels=5$"):
        ZeroChannelPad(5)(torch.zeros(1, 6, 2, 2))


def test_first_k():
    x = torch.arange(4.0).view(1, 4)
    torch.testing.assert_close(FirstK(2)(x), torch.tensor([[0.0, 1.0]]))
    m = operator_matrix(FirstK(3), torch.zeros(1, 5, dtype=torch.float64))
    torch.testing.assert_close(m @ m.T, torch.eye(3, dtype=torch.float64), rtol=0, atol=0)  # a co-isometry
    with pytest.raises(ValueError, match=r"^FirstK: input has 2 features, fewer than k=3$"):
        FirstK(3)(torch.zeros(1, 2))


def test_center():
    x = torch.rand(2, 3, 4, 4, dtype=torch.float64)
    torch.testing.assert_close(Center()(x), x - 0.5, rtol=0, atol=0)
    y = torch.rand(2, 3, 4, 4, dtype=torch.float64)
    torch.testing.assert_close(Center(0.25)(x) - Center(0.25)(y), x - y, rtol=0, atol=1e-15)
    assert repr(Center(0.25)) == "Center(value=0.25)"


@pytest.mark.parametrize(
    "layer, shape",
    [(ZeroChannelPad(6), (3, 3, 4, 4)), (FirstK(4), (3, 9)), (Center(), (3, 3, 4, 4))],
    ids=["ZeroChannelPad", "FirstK", "Center"],
)
def test_is_1_lipschitz(layer, shape):
    power, adv = check_lipschitz(type(layer).__name__, layer, torch.randn(*shape, dtype=torch.float64))
    assert power == pytest.approx(1.0, abs=1e-9)
    assert adv > 0.99
