"""lipsim.metrics.LipSimMetric: the distance as a torchmetrics Metric (skipped without torchmetrics); importing lipsim
never needs torchmetrics."""

from __future__ import annotations

import importlib
import re
import subprocess
import sys
import warnings

import pytest
import torch

from lipsim import LipSim, MissingDependencyError
from tests._helpers import TINY, structured_images, tiny_model


@pytest.fixture
def metric_cls():
    pytest.importorskip("torchmetrics")
    from lipsim.metrics import LipSimMetric

    return LipSimMetric


@pytest.fixture(scope="module")
def model() -> LipSim:
    return tiny_model("efficient")


def test_mean_and_sum_over_batches(metric_cls, model):
    a, b = structured_images(6, seed=1), structured_images(6, seed=2)
    d = model(a, b)
    mean = metric_cls(model)
    total = metric_cls(model, reduction="sum")
    for m in (mean, total):
        m.update(a[:4], b[:4])
        m.update(a[4:], b[4:])
    torch.testing.assert_close(mean.compute().double(), d.mean(), rtol=1e-6, atol=0)
    torch.testing.assert_close(total.compute().double(), d.sum(), rtol=1e-6, atol=0)
    mean.reset()
    mean.update(a[:1], b)  # one image against a batch: 6 pairs
    torch.testing.assert_close(mean.compute().double(), model(a[:1], b).mean(), rtol=1e-6, atol=0)


def test_forward_gives_the_batch_value_and_accumulates(metric_cls, model):
    a, b = structured_images(4, seed=1), structured_images(4, seed=2)
    m = metric_cls(model)
    batch = m(a[:2], b[:2])
    torch.testing.assert_close(batch.double(), model(a[:2], b[:2]).mean(), rtol=1e-6, atol=0)
    m(a[2:], b[2:])
    torch.testing.assert_close(m.compute().double(), model(a, b).mean(), rtol=1e-6, atol=0)


def test_states_reduce_by_sum_across_processes(metric_cls, model):
    """What a distributed sync does: each state is summed over processes, so the mean is over all pairs."""
    a, b = structured_images(5, seed=1), structured_images(5, seed=2)
    rank0, rank1 = metric_cls(model), metric_cls(model)
    rank0.update(a[:3], b[:3])
    rank1.update(a[3:], b[3:])
    reductions = {k: fn.__name__ for k, fn in rank0._reductions.items()}
    assert reductions == {"sum_distance": "dim_zero_sum", "total": "dim_zero_sum"}
    rank0.merge_state(rank1)
    assert int(rank0.total) == 5
    torch.testing.assert_close(rank0.compute().double(), model(a, b).mean(), rtol=1e-6, atol=0)


def test_input_conventions_follow_the_model(metric_cls, model, tmp_path):
    a, b = structured_images(2, seed=1), structured_images(2, seed=2)
    signed = tiny_model("efficient", value_range=(-1, 1))
    signed.load_state_dict(model.state_dict())
    m = metric_cls(signed, value_range=(-1, 1))
    m.update(a * 2 - 1, b * 2 - 1)
    torch.testing.assert_close(m.compute().double(), model(a, b).mean(), rtol=1e-6, atol=0)
    u8 = (a * 255).round().to(torch.uint8)
    m = metric_cls(model)
    m.update(u8, u8)
    assert float(m.compute()) < 1e-12


def test_differentiable_and_the_model_keeps_its_mode(metric_cls, model):
    m = metric_cls(model)
    assert m.is_differentiable and m.higher_is_better is False
    x = structured_images(2, seed=1).requires_grad_(True)
    m(x, structured_images(2, seed=2)).backward()
    assert x.grad is not None and torch.isfinite(x.grad).all() and float(x.grad.abs().sum()) > 0
    m.train()
    assert m.training and not m.model.training  # a frozen metric stays in eval mode
    trainable = LipSim(pretrained=False, **TINY["efficient"])
    metric_cls(trainable).eval()
    assert trainable.training


def test_the_default_model_is_the_bundled_one(metric_cls):
    m = metric_cls(value_range=(-1, 1))
    assert m.model.source == LipSim().source and m.model.value_range == (-1.0, 1.0)


def test_errors(metric_cls, model):
    with pytest.raises(ValueError, match=r"^reduction must be 'mean' or 'sum', got 'none'$"):
        metric_cls(model, reduction="none")
    with pytest.raises(TypeError, match=r"^model must be a lipsim\.LipSim, got Linear$"):
        metric_cls(torch.nn.Linear(2, 2))
    msg = (
        "value_range=(-1, 1) differs from the model's value_range=(0.0, 1.0); set it on the model "
        "(LipSim(..., value_range=...)) or leave it out here"
    )
    with pytest.raises(ValueError, match=f"^{re.escape(msg)}$"):
        metric_cls(model, value_range=(-1, 1))
    m = metric_cls(model)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # torchmetrics' own warning about compute before update
        msg = "LipSimMetric.compute: no image pairs yet; call update(img0, img1) first"
        with pytest.raises(ValueError, match=f"^{re.escape(msg)}$"):
            m.compute()
    with pytest.raises(ValueError, match=r"^batch sizes differ: img0 has 2 images, img1 has 3"):
        m.update(torch.rand(2, 3, 16, 16), torch.rand(3, 3, 16, 16))


def test_without_torchmetrics_the_module_names_the_pip_command(monkeypatch):
    monkeypatch.setitem(sys.modules, "torchmetrics", None)  # import torchmetrics now raises ImportError
    monkeypatch.delitem(sys.modules, "lipsim.metrics", raising=False)
    msg = "lipsim.metrics needs torchmetrics: pip install 'lipsim[torchmetrics]' (or pip install torchmetrics)"
    with pytest.raises(MissingDependencyError, match=f"^{re.escape(msg)}$"):
        importlib.import_module("lipsim.metrics")


def test_importing_lipsim_never_imports_torchmetrics():
    code = "import sys, lipsim, lipsim.cli.compare, lipsim.index; print('torchmetrics' in sys.modules)"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True, timeout=300)
    assert out.stdout.strip() == "False"
