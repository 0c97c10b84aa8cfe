"""Eval-time re-parameterisation: equal to the train path, cached, and invalidated whenever weights change."""

from __future__ import annotations

import copy
import pickle

import pytest
import torch

from lipsim import LipSim
from lipsim.archs import build_arch
from lipsim.layers import (
    AOLConv2d,
    AOLLinear,
    Center,
    FirstK,
    GlobalSumPool,
    MaxMin,
    Reparametrized,
    SLLConv2d,
    SLLLinear,
    SpaceToDepth,
    WindowSumPool,
    ZeroChannelPad,
)
from tests._helpers import TINY, randomize_

LAYERS = {
    "SLLConv2d": (lambda: SLLConv2d(4, 3), (2, 4, 6, 5)),
    "SLLConv2d-quirk": (lambda: SLLConv2d(4, 3, paper_q_quirk=True), (2, 4, 6, 5)),
    "SLLLinear": (lambda: SLLLinear(10, 16), (3, 10)),
    "AOLConv2d": (lambda: AOLConv2d(4, 6), (2, 4, 6, 5)),
    "AOLConv2d-1x1": (lambda: AOLConv2d(6, 4, kernel_size=1), (2, 6, 5, 5)),
    "AOLLinear": (lambda: AOLLinear(10, 8), (3, 10)),
    "MaxMin": (lambda: MaxMin(), (2, 4, 3, 3)),
    "ZeroChannelPad": (lambda: ZeroChannelPad(6), (2, 3, 4, 4)),
    "FirstK": (lambda: FirstK(3), (2, 5)),
    "Center": (lambda: Center(), (2, 3, 4, 4)),
    "SpaceToDepth": (lambda: SpaceToDepth(2), (2, 3, 5, 4)),
    "WindowSumPool": (lambda: WindowSumPool(2), (2, 3, 5, 4)),
    "GlobalSumPool": (lambda: GlobalSumPool(), (2, 3, 5, 4)),
}
REPARAM = [k for k in LAYERS if k.startswith(("SLL", "AOL"))]


def _make(name: str, random: bool = True):
    factory, shape = LAYERS[name]
    layer = factory()
    if random:
        randomize_(layer)
    return layer, torch.rand(shape)


class _Counter:
    """Wraps ``layer.compute_weights`` and counts the calls."""

    def __init__(self, layer: Reparametrized) -> None:
        self.calls = 0
        self._inner = layer.compute_weights
        layer.compute_weights = self  # instance attribute shadows the method

    def __call__(self):
        self.calls += 1
        return self._inner()


@pytest.mark.parametrize("name", list(LAYERS))
def test_eval_equals_train(name):
    layer, x = _make(name)
    y_train = layer.train()(x)
    with torch.no_grad():
        y_eval = layer.eval()(x)  # cached path
    torch.testing.assert_close(y_eval, y_train, rtol=1e-5, atol=1e-5)
    y_eval_grad = layer(x)  # eval mode with parameter gradients wanted: fresh path
    torch.testing.assert_close(y_eval_grad, y_train, rtol=1e-5, atol=1e-5)


@pytest.mark.parametrize("arch", ["efficient", "paper-small"])
def test_eval_equals_train_for_archs(arch):
    torch.manual_seed(0)
    net = build_arch(arch, **TINY[arch])
    x = torch.rand(3, 3, 16, 16)
    y_train = net.train()(x)
    with torch.no_grad():
        y_eval = net.eval()(x)
    torch.testing.assert_close(y_eval, y_train, rtol=1e-5, atol=1e-5)
    randomize_(net)
    y_train = net.train()(x)
    with torch.no_grad():
        y_eval = net.eval()(x)
    torch.testing.assert_close(y_eval, y_train, rtol=1e-5, atol=1e-5)


@pytest.mark.parametrize("name", REPARAM)
def test_cache_is_reused_in_eval(name):
    layer, x = _make(name)
    counter = _Counter(layer.eval())
    with torch.no_grad():
        y1, y2 = layer(x), layer(x)
    assert counter.calls == 1
    torch.testing.assert_close(y1, y2, rtol=0, atol=0)
    layer.requires_grad_(False)  # frozen weights: cached even with grad mode on
    layer(x)
    assert counter.calls == 1


@pytest.mark.parametrize("name", REPARAM)
def test_train_mode_always_recomputes(name):
    layer, x = _make(name)
    counter = _Counter(layer.train())
    with torch.no_grad():
        layer(x)
        layer(x)
    assert counter.calls == 2
    assert layer._cache is None


@pytest.mark.parametrize("name", REPARAM)
def test_gradients_flow_to_weights_in_eval_mode(name):
    layer, x = _make(name)
    layer.eval()
    with torch.no_grad():
        layer(x)  # fill the cache
    layer(x).pow(2).sum().backward()
    quirk = getattr(layer, "paper_q_quirk", False)  # there q cancels: no gradient reaches it
    grads = [p.grad for n, p in layer.named_parameters() if not (quirk and n == "q")]
    assert all(g is not None and torch.isfinite(g).all() for g in grads)
    assert any(g.abs().sum() > 0 for g in grads)


def _fresh_output(layer, x):
    """The output of an independent copy of ``layer`` (same weights, no cache): the ground truth."""
    clone = copy.deepcopy(layer).train()
    with torch.no_grad():
        return clone(x)


def _change_by_optimizer(layer):
    opt = torch.optim.SGD(layer.parameters(), lr=0.1)
    for p in layer.parameters():
        p.grad = torch.randn_like(p)
    opt.step()


def _change_by_data(layer):
    for p in layer.parameters():
        p.data.add_(torch.randn_like(p) * 0.1)  # .data writes do not bump the version counter


def _change_by_no_grad_inplace(layer):
    with torch.no_grad():
        for p in layer.parameters():
            p.add_(torch.randn_like(p) * 0.1)


def _change_by_load_state_dict(layer):
    other = copy.deepcopy(layer)
    randomize_(other, seed=7)
    layer.load_state_dict(other.state_dict())


def _change_by_data_assignment(layer):
    for p in layer.parameters():
        p.data = p.data * 0.9 + 0.01


CHANGES = {
    "optimizer.step": _change_by_optimizer,
    "p.data.add_": _change_by_data,
    "no_grad in-place": _change_by_no_grad_inplace,
    "load_state_dict": _change_by_load_state_dict,
    "p.data = ...": _change_by_data_assignment,
}


@pytest.mark.parametrize("change", list(CHANGES))
@pytest.mark.parametrize("name", REPARAM)
def test_cache_invalidated_on_weight_change(name, change):
    layer, x = _make(name)
    layer.eval()
    counter = _Counter(layer)
    with torch.no_grad():
        before = layer(x)
    CHANGES[change](layer)
    with torch.no_grad():
        after = layer(x)
    assert counter.calls == 2
    assert (after - before).abs().max() > 1e-4
    torch.testing.assert_close(after, _fresh_output(layer, x), rtol=1e-6, atol=1e-6)


@pytest.mark.parametrize("name", REPARAM)
def test_cache_invalidated_by_train_and_dtype(name):
    layer, x = _make(name)
    layer.eval()
    counter = _Counter(layer)
    with torch.no_grad():
        layer(x)
        layer.train().eval()
        layer(x)
        assert counter.calls == 2
        layer.to(torch.float64)
        y = layer(x.double())
    assert counter.calls == 3
    assert y.dtype == torch.float64
    assert all(t.dtype == torch.float64 for t in layer._cache[1])
    torch.testing.assert_close(y, _fresh_output(layer, x.double()), rtol=1e-12, atol=1e-12)


def test_invalidate_cache_and_pickling_drop_the_cache():
    layer, x = _make("SLLLinear")
    layer.eval()
    with torch.no_grad():
        layer(x)
    assert layer._cache is not None
    assert copy.deepcopy(layer)._cache is None
    assert pickle.loads(pickle.dumps(layer))._cache is None
    layer.invalidate_cache()
    assert layer._cache is None


@pytest.mark.parametrize("arch", ["efficient", "paper-small"])
def test_model_level_invalidation(arch):
    """LipSim.load_state_dict, .to(float64) and in-place edits all reach the cached layers of a backbone."""
    torch.manual_seed(0)
    m = LipSim(pretrained=False, arch=arch, **TINY[arch]).eval()
    x = torch.rand(2, 3, 16, 16)
    with torch.no_grad():
        d0 = m.embed(x)
        m2 = LipSim(pretrained=False, arch=arch, **TINY[arch])
        randomize_(m2, seed=3)
        m.load_state_dict(m2.state_dict())
        torch.testing.assert_close(m.embed(x), m2.train().embed(x), rtol=1e-5, atol=1e-6)
        assert (m.embed(x) - d0).abs().max() > 1e-4
        m.double()
        torch.testing.assert_close(m.embed(x), m2.double().embed(x.double()), rtol=1e-6, atol=1e-7)
        for p in m.parameters():
            p.data.mul_(0.5)
        torch.testing.assert_close(m.embed(x), m.train().embed(x.double()), rtol=1e-10, atol=1e-12)
    m.backbone.invalidate_cache()
    assert all(mod._cache is None for mod in m.modules() if isinstance(mod, Reparametrized))
