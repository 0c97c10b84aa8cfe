"""LPIPS conventions on request: images in [-1, 1] with ``value_range=(-1, 1)`` (same distances, budgets and radii
in [-1, 1] units, attacked there), and one image against a batch of N giving N distances."""

from __future__ import annotations

import re

import numpy as np
import pytest
import torch
from PIL import Image

import lipsim
from lipsim import LipSim
from lipsim.inputs import check_value_range, to_batch
from tests._attacks import pgd_l2
from tests._helpers import TINY, structured_images, tiny_model

pytestmark = pytest.mark.usefixtures("single_thread")

N = 24


@pytest.fixture(scope="module")
def models() -> tuple[LipSim, LipSim]:
    """The same random-init network taking [0, 1] and [-1, 1] images."""
    unit = tiny_model("efficient")
    signed = tiny_model("efficient", value_range=(-1, 1))
    signed.load_state_dict(unit.state_dict())
    return unit, signed


@pytest.fixture(scope="module")
def data() -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
    return structured_images(N, 16, seed=20), structured_images(N, 16, seed=21), structured_images(N, 16, seed=22)


def _signed(x: torch.Tensor) -> torch.Tensor:
    return x * 2 - 1


# ---------------------------------------------------------------------------------------------- value_range=(-1, 1)
def test_signed_images_give_the_same_distances_and_embeddings(models, data):
    unit, signed = models
    _, a, b = data
    torch.testing.assert_close(signed(_signed(a), _signed(b)), unit(a, b), rtol=1e-12, atol=1e-15)
    torch.testing.assert_close(signed.embed(_signed(a)), unit.embed(a), rtol=1e-12, atol=1e-15)
    torch.testing.assert_close(lipsim.distance(_signed(a), _signed(b), model=signed), unit(a, b), rtol=1e-12, atol=0)
    # resized inputs (the resize norm enters the factor too)
    big_a, big_b = structured_images(2, 40, seed=3), structured_images(2, 40, seed=4)
    torch.testing.assert_close(signed(_signed(big_a), _signed(big_b)), unit(big_a, big_b), rtol=1e-12, atol=1e-15)
    assert signed.prepare(_signed(big_a)).resize_norm == unit.prepare(big_a).resize_norm / 2


def test_radii_are_in_signed_units_twice_the_unit_ones(models, data):
    """Mapping [-1, 1] onto [0, 1] halves every l2 norm: a radius in [-1, 1] pixels is twice the [0, 1] one, and a
    budget eps in [-1, 1] pixels is worth eps / 2 in [0, 1] pixels."""
    unit, signed = models
    ref, a, b = data
    tau = float(unit(a, b).median())
    c1 = unit.certify(a, b, eps=0.05, threshold=tau)
    c2 = signed.certify(_signed(a), _signed(b), eps=0.1, threshold=tau)
    assert c1.radius is not None and c2.radius is not None
    torch.testing.assert_close(c2.radius, 2 * c1.radius, rtol=1e-12, atol=0)
    torch.testing.assert_close((c2.lower, c2.upper), (c1.lower, c1.upper), rtol=1e-12, atol=1e-15)
    assert torch.equal(c2.same, c1.same) and c2.eps == 0.1
    r1, r2 = unit.two_afc(ref, a, b), signed.two_afc(_signed(ref), _signed(a), _signed(b))
    assert torch.equal(r1.choice, r2.choice)
    torch.testing.assert_close(r2.radius, 2 * r1.radius, rtol=1e-12, atol=0)
    assert r1.radius.median() > 1e-3  # not a vacuous check
    e1, e2 = unit.embed_batch(a), signed.embed_batch(_signed(a))
    torch.testing.assert_close(e2.resize_norm, e1.resize_norm / 2, rtol=0, atol=0)


def test_signed_radii_hold_under_attack_in_signed_pixels(models, data):
    """l2 PGD on [-1, 1] images within 0.99 x the certified radius (in [-1, 1] units) never flips a 2AFC choice."""
    _, signed = models
    ref, x0, x1 = (_signed(t) for t in data)
    r = signed.two_afc(ref, x0, x1)
    phi0, phi1 = signed.embed(x0), signed.embed(x1)
    sign = 1.0 - 2.0 * r.choice.double()

    def margin(x: torch.Tensor) -> torch.Tensor:
        p = signed.embed_batch(x).phi
        return sign * (0.5 * (p - phi1).pow(2).sum(1) - 0.5 * (p - phi0).pow(2).sum(1))

    best, _ = pgd_l2(margin, [ref], 0.99 * r.radius, steps=40, box=(-1.0, 1.0))
    assert (best > 0).all(), f"{int((best <= 0).sum())} choices flipped within 0.99 x the [-1, 1] radius"
    assert (best < sign * (r.d1 - r.d0)).all()  # the attack did move the margin
    flipped, _ = pgd_l2(margin, [ref], 16 * r.radius, steps=40, box=(-1.0, 1.0))
    assert (flipped < 0).sum() >= N // 5  # the same attack flips choices well beyond the radius


def test_signed_gradients_are_half_the_unit_ones(models, data):
    unit, signed = models
    _, a, b = data
    x1 = a[:2].clone().requires_grad_(True)
    x2 = _signed(a[:2]).requires_grad_(True)
    unit(x1, b[:2]).sum().backward()
    signed(x2, _signed(b[:2])).sum().backward()
    torch.testing.assert_close(x2.grad, x1.grad / 2, rtol=1e-9, atol=1e-15)


def test_files_uint8_and_pil_keep_their_own_range(models, tmp_path):
    """Only float tensors follow value_range; other inputs are converted as usual, their radii in signed units."""
    unit, signed = models
    u8 = (structured_images(2, 16, seed=7) * 255).round().to(torch.uint8)
    path = tmp_path / "a.png"
    Image.fromarray(u8[0].permute(1, 2, 0).numpy()).save(path)
    pil = Image.open(path)
    ref = unit(u8, u8.flip(-1))
    torch.testing.assert_close(signed(u8, u8.flip(-1)), ref, rtol=1e-12, atol=0)
    torch.testing.assert_close(signed(path, u8[:1].flip(-1)), ref[:1], rtol=1e-12, atol=0)
    torch.testing.assert_close(signed(pil, _signed(u8[:1].flip(-1).double() / 255)), ref[:1], rtol=1e-5, atol=0)
    c1, c2 = unit.certify(path, u8[1], threshold=0.01), signed.certify(path, u8[1], threshold=0.01)
    assert c1.radius is not None and c2.radius is not None
    torch.testing.assert_close(c2.radius, 2 * c1.radius, rtol=1e-12, atol=0)


def test_signed_range_errors(models):
    _, signed = models
    x = torch.rand(1, 3, 16, 16, dtype=torch.float64) * 3 - 1  # values up to 2
    lo, hi = float(x.min()), float(x.max())
    msg = f"img0: float values must be in [-1, 1], got min={lo:.6g}, max={hi:.6g}"
    with pytest.raises(ValueError, match=f"^{re.escape(msg)}$"):
        signed(x, torch.zeros(1, 3, 16, 16))
    y = torch.zeros(1, 3, 16, 16)
    y[0, 0, 0, 0] = float("nan")
    msg = "img1: contains non-finite values (1 NaN, 0 inf); expected values in [-1, 1]"
    with pytest.raises(ValueError, match=f"^{re.escape(msg)}$"):
        signed(torch.zeros(1, 3, 16, 16), y)
    msg = "img0: expected a float tensor in [-1, 1] or a uint8 tensor in [0, 255], got dtype torch.int64"
    with pytest.raises(TypeError, match=f"^{re.escape(msg)}$"):
        signed(torch.zeros(1, 3, 16, 16, dtype=torch.int64), y)


def test_the_unit_range_error_points_at_value_range():
    y = torch.rand(1, 3, 4, 4) * 2 - 1
    y[0, 0, 0, :2] = torch.tensor([-0.75, 0.5])
    lo, hi = float(y.min()), float(y.max())
    msg = (
        f"x: float values must be in [0, 1], got min={lo:.6g}, max={hi:.6g}; images in [-1, 1] (the LPIPS "
        "convention): pass value_range=(-1, 1) to LipSim, or use (x + 1) / 2"
    )
    with pytest.raises(ValueError, match=f"^{re.escape(msg)}$"):
        to_batch(y, "x")


@pytest.mark.parametrize("bad", [(1, 0), (0, 0), (0, float("inf")), (0,), (0, 1, 2), "01", (True, 2), None, (0, "1")])
def test_bad_value_range(bad):
    msg = f"value_range must be (low, high) with finite numbers low < high, such as (0, 1) or (-1, 1); got {bad!r}"
    with pytest.raises(ValueError, match=f"^{re.escape(msg)}$"):
        LipSim(pretrained=False, value_range=bad, **TINY["efficient"])
    with pytest.raises(ValueError, match=f"^{re.escape(msg)}$"):
        to_batch(torch.zeros(1, 3, 2, 2), value_range=bad)


def test_value_range_forms_and_repr():
    assert check_value_range([-1, 1]) == (-1.0, 1.0) and check_value_range((0.0, 255)) == (0.0, 255.0)
    m = LipSim(pretrained=False, value_range=[-1, 1], **TINY["efficient"])
    assert m.value_range == (-1.0, 1.0)
    assert "constant_coordinate='append', value_range=(-1.0, 1.0)" in repr(m)
    assert "value_range" not in repr(LipSim(pretrained=False, **TINY["efficient"]))
    x = torch.tensor([0.0, 127.5, 255.0], dtype=torch.float64).view(1, 3, 1, 1)
    assert to_batch(x, value_range=(0, 255)).flatten().tolist() == [0.0, 0.5, 1.0]
    u = torch.rand(2, 3, 4, 4)
    assert to_batch(u, value_range=(0, 1)) is u  # the default range: passed through untouched


def test_indexes_refuse_a_signed_model(models):
    _, signed = models
    msg = (
        "indexes and embedding caches need a model with the default value_range (0, 1), got one with "
        "value_range=(-1, 1); build it with lipsim.LipSim(...) without value_range"
    )
    with pytest.raises(ValueError, match=f"^{re.escape(msg)}$"):
        lipsim.Index(signed)
    from lipsim.index.embed import embed_tensors

    with pytest.raises(ValueError, match=f"^{re.escape(msg)}$"):
        embed_tensors(signed, lambda i: torch.rand(3, 16, 16), 1)


# ---------------------------------------------------------------------------------------------- one against N
def test_one_image_against_a_batch(models, data):
    unit, _ = models
    _, a, b = data
    one = a[:1]
    expected = unit(one.expand(N, -1, -1, -1), b)
    torch.testing.assert_close(unit(one, b), expected, rtol=1e-12, atol=1e-15)
    torch.testing.assert_close(unit(b, one), expected, rtol=1e-12, atol=1e-15)
    torch.testing.assert_close(unit(a[0], b[:3]), expected[:3], rtol=1e-12, atol=1e-15)  # CHW is a batch of one
    torch.testing.assert_close(lipsim.distance(one, b, model=unit, reduction="mean"), expected.mean())
    cert = unit.certify(one, b, threshold=0.01)
    full = unit.certify(one.expand(N, -1, -1, -1), b, threshold=0.01)
    assert cert.distance.shape == (N,)
    for field in ("distance", "lower", "upper", "radius"):
        torch.testing.assert_close(getattr(cert, field), getattr(full, field), rtol=1e-12, atol=1e-15)


def test_one_against_a_batch_in_the_larger_joint_pass_and_apart(data):
    """Batches above the joint-pass size and inputs of different sizes take the separate passes; same answers."""
    m = tiny_model("efficient")
    big = structured_images(20, 16, seed=5)
    one = structured_images(1, 16, seed=6)
    torch.testing.assert_close(m(one, big), m(one.expand(20, -1, -1, -1), big), rtol=1e-12, atol=1e-15)
    large = structured_images(1, 32, seed=6)  # another size: embedded apart
    torch.testing.assert_close(m(large, big[:3]), m(large.expand(3, -1, -1, -1), big[:3]), rtol=1e-12, atol=1e-15)


def test_the_single_image_gets_the_summed_gradient(models, data):
    unit, _ = models
    _, a, b = data
    x = a[:1].clone().requires_grad_(True)
    unit(x, b[:4]).sum().backward()
    xs = a[:1].expand(4, -1, -1, -1).clone().requires_grad_(True)
    unit(xs, b[:4]).sum().backward()
    torch.testing.assert_close(x.grad, xs.grad.sum(0, keepdim=True), rtol=1e-9, atol=1e-15)


def test_two_afc_broadcasts(models, data):
    unit, _ = models
    ref, x0, x1 = data
    r = unit.two_afc(ref[:1], x0, x1)
    full = unit.two_afc(ref[:1].expand(N, -1, -1, -1), x0, x1)
    for field in ("d0", "d1", "choice", "radius"):
        torch.testing.assert_close(getattr(r, field), getattr(full, field), rtol=1e-12, atol=1e-15)
    r = unit.two_afc(ref, x0[:1], x1)  # one candidate against N others, N references
    full = unit.two_afc(ref, x0[:1].expand(N, -1, -1, -1), x1)
    torch.testing.assert_close(r.radius, full.radius, rtol=1e-12, atol=1e-15)


def test_n_against_m_still_refused(models):
    unit, _ = models
    msg = (
        "batch sizes differ: img0 has 2 images, img1 has 3; expected the same number, or one image to compare with "
        "every image of the other"
    )
    with pytest.raises(ValueError, match=f"^{re.escape(msg)}$"):
        unit(torch.rand(2, 3, 16, 16), torch.rand(3, 3, 16, 16))
    with pytest.raises(ValueError, match=f"^{re.escape(msg)}$"):
        unit.certify(torch.rand(2, 3, 16, 16), torch.rand(3, 3, 16, 16))
    msg = msg.replace("img0", "ref").replace("img1 has", "x0/x1 have")
    with pytest.raises(ValueError, match=f"^{re.escape(msg)}$"):
        unit.two_afc(torch.rand(2, 3, 16, 16), torch.rand(3, 3, 16, 16), torch.rand(3, 3, 16, 16))
    msg = (
        "batch sizes differ: x0 has 2 images, x1 has 3; expected the same number, or one image to compare with "
        "every image of the other"
    )
    with pytest.raises(ValueError, match=f"^{re.escape(msg)}$"):
        unit.two_afc(torch.rand(1, 3, 16, 16), torch.rand(2, 3, 16, 16), torch.rand(3, 3, 16, 16))


def test_numpy_is_untouched_by_value_range():
    """value_range does not widen what types are accepted."""
    m = tiny_model("efficient", value_range=(-1, 1))
    with pytest.raises(TypeError, match=r"^img0: expected a torch\.Tensor, PIL\.Image\.Image, path or list of those"):
        m(np.zeros((16, 16, 3), dtype=np.float32), torch.zeros(1, 3, 16, 16))
