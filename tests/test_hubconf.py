"""torch.hub.load on the repository root (source="local"): the default model, offline, from the bundled weights."""

from __future__ import annotations

import importlib.util
from pathlib import Path

import pytest
import torch

import lipsim
from tests._helpers import TINY

ROOT = Path(__file__).resolve().parents[1]


def test_hub_load_gives_the_default_model_offline(monkeypatch):
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    model = torch.hub.load(str(ROOT), "lipsim", source="local")
    assert isinstance(model, lipsim.LipSim) and not model.training
    default = lipsim.LipSim()
    assert model.source == default.source and ".safetensors" in str(model.source)
    x = lipsim.load_image(ROOT / "examples" / "images" / "chelsea.png")
    y = lipsim.load_image(ROOT / "examples" / "images" / "chelsea_jpeg.png")
    torch.testing.assert_close(model(x, y), default(x, y), rtol=0, atol=0)


def _hubconf():
    spec = importlib.util.spec_from_file_location("lipsim_hubconf", ROOT / "hubconf.py")
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_hub_entry_points_and_arguments():
    hubconf = _hubconf()  # what torch.hub.list / help read (they take GitHub repositories only)
    entries = [f for f in dir(hubconf) if callable(getattr(hubconf, f)) and not f.startswith("_")]  # as torch.hub
    assert entries == ["lipsim", "lipsim_metric"]
    assert all(getattr(hubconf, f).__doc__ for f in entries)
    assert "bundled default weights" in hubconf.lipsim.__doc__
    assert hubconf.dependencies[0] == "torch"
    m = torch.hub.load(str(ROOT), "lipsim", source="local", pretrained=False, value_range=(-1, 1), **TINY["efficient"])
    assert m.value_range == (-1.0, 1.0) and m.image_size == 16 and m.source is None


def test_hub_metric_entry_point():
    pytest.importorskip("torchmetrics")
    from lipsim.metrics import LipSimMetric

    metric = torch.hub.load(str(ROOT), "lipsim_metric", source="local", reduction="sum")
    assert isinstance(metric, LipSimMetric) and metric.reduction == "sum"
