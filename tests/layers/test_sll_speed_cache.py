"""The fused eval inference path of the SLL layers and of paper-small gives the same function as the plain path."""

from __future__ import annotations

import pytest
import torch

from lipsim.archs import build_arch
from lipsim.layers import SLLConv2d, SLLLinear
from lipsim.layers.sll import inference_only
from tests._helpers import PAPER_SMALL_TINY, randomize_, structured_images

F64 = torch.float64


def _plain(module: torch.nn.Module, x: torch.Tensor) -> torch.Tensor:
    """The train-mode computation (T recomputed, no in-place ops) on a copy of the module."""
    was = module.training
    module.train()
    try:
        with torch.no_grad():
            return module(x)
    finally:
        module.train(was)


@pytest.mark.parametrize("layout", ["contiguous", "channels_last", "strided"])
@pytest.mark.parametrize("quirk", [False, True])
def test_conv_inference_path(layout, quirk):
    layer = randomize_(SLLConv2d(6, inner_channels=3, paper_q_quirk=quirk).double(), seed=1).eval()
    x = torch.randn(3, 6, 9, 11, dtype=F64)
    if layout == "channels_last":
        x = x.contiguous(memory_format=torch.channels_last)
    elif layout == "strided":
        x = torch.randn(3, 6, 9, 22, dtype=F64)[..., ::2]
    before = x.clone()
    with torch.no_grad():
        assert inference_only(layer, x)
        y = layer(x)
    assert torch.equal(x, before)  # the input is never modified in place
    torch.testing.assert_close(y, _plain(layer, x), rtol=0, atol=1e-12)


def test_linear_inference_path():
    layer = randomize_(SLLLinear(10, inner_features=7).double(), seed=2).eval()
    x = torch.randn(5, 10, dtype=F64)
    before = x.clone()
    with torch.inference_mode():
        y = layer(x)
    assert torch.equal(x, before)
    torch.testing.assert_close(y, _plain(layer, x), rtol=0, atol=1e-12)
    with torch.no_grad():  # one row, and a 1-D input (the plain path handles it)
        torch.testing.assert_close(layer(x[:1]), _plain(layer, x[:1]), rtol=0, atol=1e-12)
        torch.testing.assert_close(layer(x[0]), _plain(layer, x[0]), rtol=0, atol=1e-12)


def test_when_the_inference_path_applies():
    layer = SLLLinear(4, inner_features=3)
    x = torch.randn(2, 4)
    assert not inference_only(layer.train(), x)
    layer.eval()
    assert inference_only(layer, x) is False  # grad mode on, parameters require grad
    layer.requires_grad_(False)
    assert inference_only(layer, x)
    assert not inference_only(layer, x.clone().requires_grad_(True))
    with torch.no_grad():
        assert inference_only(layer, x.clone().requires_grad_(True))


@pytest.mark.parametrize("batch, chunk", [(1, 8), (3, 2), (5, 8), (4, 1)])
def test_paper_small_inference_path(batch, chunk):
    torch.manual_seed(0)
    net = randomize_(build_arch("paper-small", **PAPER_SMALL_TINY).double(), seed=3, bias_std=0.2).eval()
    net.inference_chunk = chunk
    x = structured_images(batch, PAPER_SMALL_TINY["image_size"], seed=4)
    with torch.no_grad():
        fast = net(x)
        again = net(x)
    torch.testing.assert_close(fast, _plain(net, x), rtol=0, atol=1e-12)
    assert torch.equal(fast, again)
    assert fast.shape == (batch, PAPER_SMALL_TINY["embed_dim"])


def test_paper_small_gradients_use_the_plain_path():
    """Eval mode with an input that needs a gradient (attacks, certificates checks): the result and the
    gradient match the train-mode computation."""
    net = randomize_(build_arch("paper-small", **PAPER_SMALL_TINY).double(), seed=5).eval().requires_grad_(False)
    x = structured_images(2, PAPER_SMALL_TINY["image_size"], seed=6).requires_grad_(True)
    (g_eval,) = torch.autograd.grad(net(x).pow(2).sum(), x)
    net.train()
    (g_train,) = torch.autograd.grad(net(x).pow(2).sum(), x)
    torch.testing.assert_close(g_eval, g_train, rtol=0, atol=1e-12)
