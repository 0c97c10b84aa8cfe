"""LipSim: distance properties (identity, symmetry, range, batch invariance), gradients, embeddings, options."""

from __future__ import annotations

import re

import pytest
import torch
import torch.nn.functional as F

from lipsim import LipSim, WeightsError
from lipsim.resize import resize
from tests._helpers import TINY, randomize_, structured_images, tiny_model
from tests._lipschitz import check_lipschitz

pytestmark = pytest.mark.usefixtures("single_thread")

ARCHS = ["efficient", "paper-small"]


@pytest.fixture(params=ARCHS)
def model(request) -> LipSim:
    return tiny_model(request.param)


@pytest.fixture
def images() -> tuple[torch.Tensor, torch.Tensor]:
    return structured_images(4, 16, seed=1), structured_images(4, 16, seed=2)


# ---------------------------------------------------------------------------------------------- construction
def test_defaults():
    m = LipSim(pretrained=False, **TINY["efficient"])
    assert m.arch == "efficient" and m.constant_coordinate == "append" and m.resize_inputs and not m.expand_gray
    assert m.training  # pretrained=False: ready to train
    assert m.image_size == 16
    assert repr(m).startswith("LipSim(\n  arch='efficient', image_size=16, constant_coordinate='append'")
    m = LipSim(pretrained=False, arch="paper-small", constant_coordinate="none", device="cpu", **TINY["paper-small"])
    assert m.arch == "paper-small" and m.constant_coordinate == "none"


def test_construction_errors():
    with pytest.raises(ValueError, match=r"^constant_coordinate must be 'append' or 'none', got 'prepend'$"):
        LipSim(pretrained=False, constant_coordinate="prepend")
    with pytest.raises(ValueError, match=r"^unknown arch 'vit'; expected one of \['efficient', 'paper-small'\]$"):
        LipSim(pretrained=False, arch="vit")
    with pytest.raises(ValueError, match=r"^unknown arch 'vit'; expected one of"):
        LipSim(pretrained=True, arch="vit")
    with pytest.raises(
        ValueError, match=r"^weights= was given with pretrained=False; pass pretrained=True to load them$"
    ):
        LipSim(pretrained=False, weights="some/where")
    with pytest.raises(ValueError, match=r"^architecture options \['embed_dim'\] apply only with pretrained=False$"):
        LipSim(pretrained=True, embed_dim=8)


# ---------------------------------------------------------------------------------------------- the distance
def test_identity_gives_zero(model, images):
    a, _ = images
    torch.testing.assert_close(model(a, a), torch.zeros(4, dtype=torch.float64), rtol=0, atol=1e-14)
    torch.testing.assert_close(model(a, a.clone()), torch.zeros(4, dtype=torch.float64), rtol=0, atol=1e-14)


def test_symmetry(model, images):
    a, b = images
    torch.testing.assert_close(model(a, b), model(b, a), rtol=1e-12, atol=1e-15)


def test_range_and_definition(model, images):
    a, b = images
    d = model(a, b)
    phi_a, phi_b = model.embed(a), model.embed(b)
    torch.testing.assert_close(d, 1 - (phi_a * phi_b).sum(dim=1), rtol=1e-9, atol=1e-12)
    assert (d >= 0).all() and (d <= 2).all() and (d > 1e-4).all()
    assert d.shape == (4,) and d.dtype == torch.float64


def test_batch_invariance(model, images):
    a, b = images
    d = model(a, b)
    single = torch.cat([model(a[i], b[i]) for i in range(4)])  # CHW inputs: batches of one
    torch.testing.assert_close(d, single, rtol=1e-9, atol=1e-12)
    torch.testing.assert_close(model(a[1:3], b[1:3]), d[1:3], rtol=1e-9, atol=1e-12)


def test_list_input_equals_batch(model, images):
    a, b = images
    torch.testing.assert_close(model(list(a), list(b)), model(a, b), rtol=0, atol=1e-15)


def test_inputs_of_different_sizes_are_each_resized(images):
    m = tiny_model("efficient")
    big = structured_images(2, 32, seed=4)
    small = resize(big, (16, 16))
    torch.testing.assert_close(m(big, small), torch.zeros(2, dtype=torch.float64), rtol=0, atol=1e-14)
    assert (m(big, images[0][:2]) > 0).all()


def test_resize_false():
    eff = tiny_model("efficient", resize=False)
    x = structured_images(2, 20)
    assert eff(x, x.flip(-1)).shape == (2,)  # any size: no resize
    assert not torch.allclose(eff.embed(x), tiny_model("efficient").embed(x))
    ps = tiny_model("paper-small", resize=False)
    with pytest.raises(ValueError, match=r"^img0: arch 'paper-small' needs 16x16 images, got 20x20; use resize=True$"):
        ps(x, x)


def test_dtype_follows_the_model(images):
    m32 = tiny_model("efficient", dtype=torch.float32)
    a, b = images
    assert m32(a, b).dtype == torch.float32  # float64 input cast to the model's dtype
    torch.testing.assert_close(m32(a, b).double(), tiny_model("efficient")(a, b), rtol=1e-3, atol=1e-6)


# ---------------------------------------------------------------------------------------------- gradients
def test_gradients_finite_at_equal_inputs_and_nonzero_elsewhere(model, images):
    a, b = images
    x = a.clone().requires_grad_(True)
    y = a.clone().requires_grad_(True)
    model(x, y).sum().backward()
    assert torch.isfinite(x.grad).all() and torch.isfinite(y.grad).all()
    assert x.grad.abs().max() < 1e-12  # d has a minimum there
    x = a.clone().requires_grad_(True)
    model(x, b).sum().backward()
    assert torch.isfinite(x.grad).all()
    assert (x.grad.flatten(1).norm(dim=1) > 1e-6).all()


def test_gradients_reach_the_weights_in_train_mode(images):
    m = LipSim(pretrained=False, **TINY["efficient"])
    a, b = images
    m(a.float(), b.float()).sum().backward()
    assert all(p.grad is not None and torch.isfinite(p.grad).all() for p in m.parameters())


def test_gradcheck_efficient():
    m = tiny_model("efficient", widths=(4, 8), head_width=8, embed_dim=4, image_size=8)
    randomize_(m)
    a = structured_images(1, 8, seed=1).clamp(0.05, 0.95).requires_grad_(True)
    b = structured_images(1, 8, seed=2).clamp(0.05, 0.95).requires_grad_(True)
    assert torch.autograd.gradcheck(m, (a, b), eps=1e-6, atol=1e-7, rtol=1e-5)


def test_gradcheck_paper_small():
    m = tiny_model("paper-small", channels=4)
    a = structured_images(1, 16, seed=1).clamp(0.05, 0.95).requires_grad_(True)
    b = structured_images(1, 16, seed=2).clamp(0.05, 0.95)
    assert torch.autograd.gradcheck(lambda x: m(x, b), (a,), eps=1e-6, atol=1e-7, rtol=1e-5, fast_mode=True)


# ---------------------------------------------------------------------------------------------- embeddings
def test_embeddings(model, images):
    a, _ = images
    phi = model.embed(a)
    k = model.backbone.embed_dim
    assert phi.shape == (4, k + 1)
    torch.testing.assert_close(phi.norm(dim=1), torch.ones(4, dtype=torch.float64), rtol=1e-12, atol=0)
    f = model.backbone(a)
    torch.testing.assert_close(phi, F.normalize(torch.cat([f, torch.ones(4, 1, dtype=f.dtype)], 1), dim=1))
    e = model.embed_batch(a)
    torch.testing.assert_close(e.feature_norm, f.norm(dim=1))
    assert e.constant_appended and (e.resize_norm == 1).all()


def test_embeddings_without_constant_coordinate(images):
    m = tiny_model("efficient", constant_coordinate="none")
    a, b = images
    f = m.backbone(a)
    torch.testing.assert_close(m.embed(a), F.normalize(f, dim=1), rtol=1e-12, atol=0)
    assert m.embed(a).shape == (4, 8)
    assert not m.embed_batch(a).constant_appended
    torch.testing.assert_close(m(a, b), 1 - (F.normalize(f, dim=1) * F.normalize(m.backbone(b), dim=1)).sum(1))


@pytest.mark.parametrize("random", [False, True], ids=["init", "random"])
@pytest.mark.parametrize("arch", ARCHS)
def test_phi_is_1_lipschitz(arch, random):
    """phi(x) = [f(x); 1] / ||[f(x); 1]|| is 1-Lipschitz in the network input (docs/maths.md)."""
    m = tiny_model(arch)
    if random:
        randomize_(m)
    if arch == "efficient":
        with torch.no_grad():  # ||f|| ~ 1: the normalisation of [f; 1] is far from the identity-like regime
            m.backbone.head[-1].bias.fill_(0.5)
    x = structured_images(3, 16, seed=5)
    fn = lambda t: m.embed_prepared(t).phi  # noqa: E731
    power, adv = check_lipschitz(f"{arch} phi ({'random' if random else 'init'})", fn, x, iters=30, steps=40)
    assert power > 1e-3


def test_prepare_gives_the_network_input_and_its_resize_norm(images):
    """model.prepare is the first half of embed_batch: same pixels as the network sees, same certificate factor."""
    from lipsim import PreparedBatch
    from lipsim.resize import resize, resize_operator_norm

    m = tiny_model("efficient")  # image_size 16
    x = structured_images(2, 40, seed=3)
    p = m.prepare(x, "x")
    assert isinstance(p, PreparedBatch) and p.pixels.dtype == torch.float64
    torch.testing.assert_close(p.pixels, resize(x, (16, 16)), rtol=0, atol=0)
    assert p.resize_norm == resize_operator_norm((40, 40), (16, 16)) * m.backbone.lipschitz_bound((16, 16))
    assert 0 < p.resize_norm < 1
    e, direct = m.embed_prepared(p), m.embed_batch(x)
    torch.testing.assert_close(e.phi, direct.phi, rtol=0, atol=0)
    torch.testing.assert_close(e.resize_norm, direct.resize_norm, rtol=0, atol=0)
    torch.testing.assert_close(e.resize_norm, torch.full((2,), p.resize_norm, dtype=torch.float64))
    fixed = tiny_model("paper-small", resize=False)
    with pytest.raises(ValueError, match=r"^x: arch 'paper-small' needs 16x16 images, got 40x40; use resize=True$"):
        fixed.prepare(x, "x")


def test_renamed_public_names_still_work_and_warn(images):
    m = tiny_model("efficient")
    a, _ = images
    with pytest.warns(DeprecationWarning, match=r"^LipSim\.embeddings is deprecated; use LipSim\.embed_batch$"):
        e = m.embeddings(a)
    torch.testing.assert_close(e.phi, m.embed_batch(a).phi, rtol=0, atol=0)
    renamed = {"pnorm": "resize_norm", "fnorm": "feature_norm", "constant_coordinate": "constant_appended"}
    for old, new in renamed.items():
        with pytest.warns(
            DeprecationWarning,
            match=rf"^EmbeddingBatch\.{old} is deprecated; use "
            rf"EmbeddingBatch\.{new}$",
        ):
            value = getattr(e, old)
        assert value is getattr(e, new)


# ---------------------------------------------------------------------------------------------- hardening
def test_device_is_validated():
    msg = "device 'meta' holds no data (shapes only): use a compute device such as 'cpu' or 'cuda'"
    with pytest.raises(ValueError, match=f"^{re.escape(msg)}$"):
        LipSim(pretrained=False, device="meta", **TINY["efficient"])
    with pytest.raises(ValueError, match=r"^device 'gpu0' is not a torch device \("):
        LipSim(pretrained=False, device="gpu0", **TINY["efficient"])
    if not torch.backends.mps.is_available():
        with pytest.raises(
            ValueError, match=r"^device 'mps': MPS \(Apple-silicon GPU\) is not available on this machine$"
        ):
            LipSim(pretrained=False, device="mps", **TINY["efficient"])
    with pytest.raises(
        ValueError, match=r"^device 'cuda:99': (CUDA is not available|this machine has \d+ CUDA device)"
    ):
        LipSim(pretrained=False, device="cuda:99", **TINY["efficient"])
    on_cpu = LipSim(pretrained=False, device=torch.device("cpu"), **TINY["efficient"])
    assert next(on_cpu.parameters()).device.type == "cpu"


def test_non_finite_results_are_refused(images):
    """Finite weights can still overflow (an infinite bias here): certify, two_afc and embeddings refuse NaN."""
    m = tiny_model("efficient")
    a, b = images
    with torch.no_grad():
        m.backbone.head[-1].bias[0] = float("inf")
    tail = "(weights None, dtype torch.float64): they overflow on these inputs; lipsim refuses to answer with NaN"
    message = f"image: the network produced NaN, infinite or overflowed embeddings for image(s) [0, 1, 2, 3] {tail}"
    with pytest.raises(WeightsError, match=f"^{re.escape(message)}$"):
        m.embed_batch(a)
    with pytest.raises(
        WeightsError,
        match=r"^img0: the network produced NaN, infinite or overflowed embeddings for "
        r"image\(s\) \[0, 1, 2, 3\] ",
    ):
        m.certify(a, b)
    with pytest.raises(WeightsError, match=r"^ref: the network produced NaN, infinite or overflowed embeddings"):
        m.two_afc(a, b, b)
    with pytest.raises(WeightsError, match=r"^img0: the network produced NaN, infinite or overflowed embeddings"):
        m(a, b)  # the distance (and so the loss) too
    with torch.no_grad():  # finite but huge: ||[f; 1]|| overflows to inf in float32 and phi collapses to 0
        m32 = tiny_model("efficient", dtype=torch.float32)
        m32.backbone.head[-1].bias.fill_(3e38)
    with pytest.raises(
        WeightsError,
        match=r"^img0: the network produced NaN, infinite or overflowed embeddings for "
        r"image\(s\) \[0, 1, 2, 3\] \(weights None, dtype torch\.float32\)",
    ):
        m32.certify(a, b)


def test_threshold_is_none_without_weights():
    assert LipSim(pretrained=False, **TINY["efficient"]).threshold is None


def test_size_thresholds_from_the_config(tmp_path):
    m = LipSim(pretrained=False, widths=(8, 16), head_width=16, embed_dim=8)
    d = m.save_pretrained(tmp_path / "m", extra_config={"threshold": 0.05, "size_thresholds": {"64": 0.03, "32": 0.02}})
    loaded = LipSim(weights=str(d))
    assert loaded.size_thresholds == {32: 0.02, 64: 0.03}
    assert loaded.threshold_at(None) == loaded.threshold == 0.05
    assert loaded.threshold_at(32) == 0.02 and loaded.threshold_at(16) == 0.02 and loaded.threshold_at(48) == 0.03
    assert loaded.threshold_at(224) == 0.03  # the nearest calibrated size
    bad = m.save_pretrained(tmp_path / "bad", extra_config={"size_thresholds": {"32px": 0.02}})
    with pytest.raises(WeightsError, match=r"size_thresholds must map compare sizes in pixels"):
        LipSim(weights=str(bad)).threshold_at(32)
    worse = m.save_pretrained(tmp_path / "worse", extra_config={"size_thresholds": {"32": 3.0}})
    with pytest.raises(WeightsError, match=r"size_thresholds\['32'\]: threshold must be a number in \[0, 2\]"):
        LipSim(weights=str(worse)).threshold_at(32)
