"""ST-LPIPS: the shift-tolerant network, its weight loader, and the stlpips-alex / stlpips-vgg teachers.

The comparison with the package's own forward is in tests/train/test_reference_metrics.py.
"""

from __future__ import annotations

import importlib.util

import pytest
import torch
import torch.nn.functional as F

from lipsim.train import package_weights as pw
from lipsim.train.teachers import get_teacher
from lipsim.train.teachers.stlpips_net import BlurPool2d, STLPIPSNet, binomial_filter, stlpips_distance
from tests.train._images import skimage_photo

pytest.importorskip("skimage.data")  # the photos (the dev extra)
needs_package = pytest.mark.skipif(
    importlib.util.find_spec("stlpips_pytorch") is None, reason="stlpips-pytorch is not installed"
)


@pytest.fixture(scope="module")
def images():
    return torch.cat([skimage_photo(name) for name in ("chelsea", "coffee", "astronaut", "rocket")])


@pytest.fixture(scope="module")
def teachers():
    if importlib.util.find_spec("stlpips_pytorch") is None:
        pytest.skip("stlpips-pytorch is not installed")
    return {name: get_teacher(name) for name in ("stlpips-alex", "stlpips-vgg")}


def test_blur_pool_is_the_reflect_padded_binomial_at_stride_2():
    x = torch.randn(1, 2, 9, 6, generator=torch.Generator().manual_seed(0))
    padded = F.pad(x, (2, 2, 2, 2), mode="reflect")
    k = binomial_filter()
    expected = torch.empty(1, 2, 6, 4)  # floor((n + 1) / 2) + 1
    for i in range(6):
        for j in range(4):
            expected[0, :, i, j] = (padded[0, :, 2 * i : 2 * i + 3, 2 * j : 2 * j + 3] * k).sum(dim=(1, 2))
    torch.testing.assert_close(BlurPool2d()(x), expected)
    assert float(binomial_filter().sum()) == 1.0


@pytest.mark.parametrize(
    "net,sizes",
    [
        # alex: conv1 at stride 1 (64 -> 58), blur-pool (30), max-pool s1 + blur-pool (15), again (8)
        ("alex", [(64, 30), (192, 15), (384, 8), (256, 8), (256, 8)]),
        ("vgg", [(64, 64), (128, 33), (256, 17), (512, 9), (512, 5)]),
    ],
)
def test_tap_shapes(net, sizes):
    with torch.no_grad():
        taps = STLPIPSNet(net).eval()(torch.rand(1, 3, 64, 64))
    assert [(t.shape[1], t.shape[2]) for t in taps] == sizes
    assert all((t >= 0).all() for t in taps)  # every tap is after a ReLU
    with torch.no_grad():
        assert len(STLPIPSNet(net)(torch.rand(1, 3, 64, 64), last=2)) == 3
    with pytest.raises(ValueError, match=r"net must be one of \['alex', 'vgg'\], got 'squeeze'"):
        STLPIPSNet("squeeze")


@needs_package
@pytest.mark.parametrize("net,n_convs", [("alex", 5), ("vgg", 13)])
def test_loader_consumes_every_key(net, n_convs):
    state = torch.load(pw.stlpips_file(net), map_location="cpu", weights_only=True)
    backbone, heads = pw.stlpips_net(net)
    assert len(backbone.convs) == n_convs
    file_convs = sorted((k for k in state if k.startswith("net.") and k.endswith(".weight")), key=pw._slice_order)
    for conv, key in zip(backbone.convs, file_convs):
        assert torch.equal(conv.weight, state[key]) and torch.equal(conv.bias, state[key[:-6] + "bias"])
    n_filters = sum(k.endswith(".filt") for k in state)
    assert n_filters == (3 if net == "alex" else 4)
    assert len(state) == 2 + 2 * n_convs + n_filters + 5  # scaling, convs, blur kernels, heads: all used
    for i, h in enumerate(heads):
        assert torch.equal(h, state[f"lin{i}.model.1.weight"]) and (h >= 0).all()
    assert not any(p.requires_grad for p in backbone.parameters()) and not backbone.training


@needs_package
def test_loader_rejects_files_it_does_not_understand(tmp_path):
    state = dict(torch.load(pw.stlpips_file("alex"), map_location="cpu", weights_only=True))
    cases = {
        "extra": (
            {**state, "net.slice6.0.running_mean": torch.zeros(1)},
            r"unexpected keys \['net.slice6.0.running_mean'\]",
        ),
        "convs": ({**state, "net.slice6.0.weight": torch.zeros(1)}, "6 convolutions in the file, 5 expected"),
        "missing": (
            {k: v for k, v in state.items() if k != "lin2.model.1.weight"},
            "missing key 'lin2.model.1.weight'",
        ),
        "filter": (
            {**state, "net.slice1.1.filt": torch.ones(64, 1, 3, 3) / 9},
            "not the 3x3 binomial blur-pool kernel",
        ),
        "negative": ({**state, "lin0.model.1.weight": -state["lin0.model.1.weight"] - 1}, "negative head weights"),
        "shape": ({**state, "net.slice2.5.weight": torch.zeros(192, 64, 3, 3)}, r"shape \(192, 64, 3, 3\), expected"),
    }
    for case, (bad, message) in cases.items():
        path = tmp_path / f"{case}.pth"
        torch.save(bad, path)
        with pytest.raises(ValueError, match=message):
            pw.stlpips_net("alex", path)
    with pytest.raises(FileNotFoundError):
        pw.stlpips_net("alex", tmp_path / "absent.pth")


def test_distance_formula():
    """sum_l mean_hw sum_c w_c (u0 - u1)^2, with u the channel-unit-normalised maps."""
    g = torch.Generator().manual_seed(0)
    f0, f1 = torch.rand(2, 3, 4, 5, generator=g), torch.rand(2, 3, 4, 5, generator=g)
    w = torch.tensor([0.5, 1.0, 2.0])
    u0, u1 = f0 / f0.norm(dim=1, keepdim=True), f1 / f1.norm(dim=1, keepdim=True)
    expected = ((u0 - u1) ** 2 * w.view(1, 3, 1, 1)).sum(1).mean(dim=(1, 2))
    torch.testing.assert_close(stlpips_distance([f0], [f1], [w.view(1, 3, 1, 1)]), expected)


@pytest.mark.parametrize("name", ["stlpips-alex", "stlpips-vgg"])
def test_teacher_protocol(teachers, images, name):
    t = teachers[name]
    assert t.name == name and t.embed_dim == 1024 and t.embedding == "lpips-sketch" and t.layers == (0, 1, 2, 3, 4)
    with torch.no_grad():
        e = t(images)
        e_min = t(torch.rand(1, 3, 32, 40))
    assert e.shape == (4, 1024) and e_min.shape == (1, 1024)
    torch.testing.assert_close(e.norm(dim=1), torch.ones(4))
    assert not t.training and not any(p.requires_grad for p in t.parameters())
    with pytest.raises(ValueError, match="at least 32"):
        t(torch.rand(1, 3, 31, 64))
    x = images[:1].clone().requires_grad_(True)
    t(x).sum().backward()
    assert x.grad is not None and x.grad.abs().sum() > 0


@pytest.mark.parametrize("name", ["stlpips-alex", "stlpips-vgg"])
def test_sketch_keeps_the_stlpips_distance(teachers, images, name):
    """||embed(x) - embed(y)||^2 (the un-normalised 1024-d sketch) estimates ST-LPIPS on real pairs."""
    from lipsim.train.reference import get_reference_metric

    t, metric = teachers[name], get_reference_metric(name)
    g = torch.Generator().manual_seed(1)
    x = images
    ys = [
        (x + 0.05 * torch.randn(x.shape, generator=g)).clamp(0, 1),
        F.avg_pool2d(F.pad(x, (2, 2, 2, 2), mode="reflect"), 5, 1),
        x.roll(1, dims=0),  # a different photo
    ]
    with torch.no_grad():
        rel = torch.cat([(t.embed(x) - t.embed(y)).pow(2).sum(1) / metric(x, y) - 1 for y in ys]).abs()
        same = (t.embed(x) - t.embed(x.clone())).pow(2).sum(1)
    assert same.max() < 1e-8
    assert rel.median() < 0.1 and rel.max() < 0.3, rel


@pytest.mark.parametrize("name", ["stlpips-alex", "stlpips-vgg"])
def test_pooled_recipes_apply(teachers, name):
    channels = teachers[name].all_tap_channels
    assert get_teacher(name, embedding="lpips-mean").embed_dim == sum(channels)
    assert get_teacher(name, embedding="mean", layers=(0, 1)).embed_dim == sum(channels[:2])


def test_missing_package_names_the_pip_command(monkeypatch):
    real = importlib.util.find_spec
    monkeypatch.setattr(
        pw.importlib.util, "find_spec", lambda n, *a, **k: None if n == "stlpips_pytorch" else real(n, *a, **k)
    )
    with pytest.raises(pw.MissingWeightsError, match=r"pip install stlpips-pytorch==0\.0\.2"):
        get_teacher("stlpips-vgg")
