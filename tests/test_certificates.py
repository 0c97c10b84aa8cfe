"""Certificates hold under attack: l2 PGD within 0.99 x the certified radius never changes a decision, and
never moves d outside its certified interval (docs/certificates.md).

The model is a random-init float64 network; images are structured (colour offsets + smooth fields + noise) so
that distances and radii are far from zero (checked), which makes every attack below a real test.
"""

from __future__ import annotations

import functools
from collections.abc import Callable, Sequence

import pytest
import torch

from lipsim import LipSim
from lipsim.certificates import (
    CERTIFIED_EPS,
    DEFAULT_EPS,
    EmbeddingBatch,
    certify_pair,
    certify_two_afc,
    phi_shift_bound,
    radius_for_margin,
)
from lipsim.resize import resize, resize_operator_norm
from tests._attacks import pgd_l2
from tests._helpers import structured_images, tiny_model

pytestmark = pytest.mark.usefixtures("single_thread")

N = 50  # triplets / pairs per check
STEPS = 50  # PGD steps
EPS = DEFAULT_EPS
SLACK = 1e-12  # float64 rounding


def pgd(objective: Callable[..., torch.Tensor], xs: Sequence[torch.Tensor], radius: torch.Tensor) -> torch.Tensor:
    """The lowest value of ``objective`` (N,) that l2 PGD finds with each tensor of ``xs`` moved within ``radius``."""
    return pgd_l2(objective, xs, radius, steps=STEPS)[0]


def _phi(model: LipSim) -> Callable[[torch.Tensor], torch.Tensor]:
    """phi of caller images through the public path (validation, resize, backbone, normalisation)."""
    return lambda x: model.embed_batch(x).phi


def _d(p: torch.Tensor, q: torch.Tensor) -> torch.Tensor:
    return 0.5 * (p - q).pow(2).sum(dim=1)


def _split_threshold(d: torch.Tensor) -> float:
    """A threshold half-way between the two middle distances: half the pairs "same", none exactly at tau."""
    v = d.sort().values
    return float(0.5 * (v[len(v) // 2 - 1] + v[len(v) // 2]))


# paper-small keeps the mean colour (no centring, sum pools), so ||f|| ~ 4 and, without the constant
# coordinate, its radii are within ~3x of what PGD reaches: the sharpest of these checks.
MODELS = [("efficient", "append"), ("efficient", "none"), ("paper-small", "none")]


@pytest.fixture(scope="module", params=MODELS, ids=["-".join(m) for m in MODELS])
def model(request) -> LipSim:
    arch, cc = request.param
    return tiny_model(arch, constant_coordinate=cc)


@pytest.fixture(scope="module", params=MODELS[:2], ids=["-".join(m) for m in MODELS[:2]])
def efficient_model(request) -> LipSim:
    """The interval checks (several attacks each) run on the cheaper efficient models only."""
    arch, cc = request.param
    return tiny_model(arch, constant_coordinate=cc)


@pytest.fixture(scope="module")
def data() -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
    return structured_images(N, 16, seed=10), structured_images(N, 16, seed=11), structured_images(N, 16, seed=12)


# ---------------------------------------------------------------------------------------------- non-vacuity
def test_distances_and_radii_are_far_from_zero(model, data):
    ref, x0, x1 = data
    r = model.two_afc(ref, x0, x1)
    d = model(x0, x1)
    cert = model.certify(x0, x1, threshold=_split_threshold(d))
    assert d.median() > 1e-3
    assert r.radius.median() > 1e-3 and cert.radius.median() > 1e-3
    assert model.embed_batch(x0).feature_norm.median() > 0.1
    assert 0 < r.choice.sum() < N  # both choices occur


@pytest.mark.parametrize("arch, cc, factor", [("efficient", "append", 8), ("paper-small", "none", 4)])
def test_attack_is_strong_enough_to_flip_beyond_the_radius(data, arch, cc, factor):
    """The same PGD does flip 2AFC choices once the budget is a few times the certified radius."""
    model = tiny_model(arch, constant_coordinate=cc)
    ref, x0, x1 = data
    r = model.two_afc(ref, x0, x1)
    phi0, phi1 = model.embed(x0), model.embed(x1)
    sign = 1.0 - 2.0 * r.choice.double()  # +1: x0 chosen, keep d1 - d0 > 0
    best = pgd(lambda x: sign * (_d(_phi(model)(x), phi1) - _d(_phi(model)(x), phi0)), [ref], factor * r.radius)
    assert (best < 0).sum() >= N // 5


# ---------------------------------------------------------------------------------------------- 2AFC
def test_two_afc_radius_formula(model, data):
    ref, x0, x1 = data
    r = model.two_afc(ref, x0, x1)
    e, e0, e1 = model.embed_batch(ref), model.embed_batch(x0), model.embed_batch(x1)
    torch.testing.assert_close(r.d0, _d(e.phi, e0.phi))
    torch.testing.assert_close(r.d1, _d(e.phi, e1.phi))
    assert torch.equal(r.choice, (r.d0 >= r.d1).long())
    margin = (r.d1 - r.d0).abs() / (e0.phi - e1.phi).norm(dim=1)
    if model.constant_coordinate == "append":
        torch.testing.assert_close(r.radius, margin, rtol=1e-12, atol=0)
    else:  # phi moves by rho / (||f|| - rho) within rho
        torch.testing.assert_close(r.radius, margin * e.feature_norm / (1 + margin), rtol=1e-12, atol=0)


def test_two_afc_pgd_never_flips(model, data):
    ref, x0, x1 = data
    r = model.two_afc(ref, x0, x1)
    phi0, phi1 = model.embed(x0), model.embed(x1)
    sign = 1.0 - 2.0 * r.choice.double()

    def margin(x):
        p = _phi(model)(x)
        return sign * (_d(p, phi1) - _d(p, phi0))

    best = pgd(margin, [ref], 0.99 * r.radius)
    assert (best > 0).all(), f"{int((best <= 0).sum())} choices flipped within 0.99 x radius"
    assert (best < sign * (r.d1 - r.d0)).all()  # the attack did move the margin


def test_two_afc_ties():
    m = tiny_model("efficient")
    ref, x = structured_images(2, 16, seed=1), structured_images(2, 16, seed=2)
    r = m.two_afc(ref, x, x)
    assert torch.equal(r.choice, torch.ones(2, dtype=torch.long))  # "0 if x0 is strictly closer, else 1"
    assert torch.equal(r.radius, torch.zeros_like(r.radius))


def test_two_afc_batch_mismatch():
    m = tiny_model("efficient")
    with pytest.raises(ValueError, match=r"^batch sizes differ: ref has 2 images, x0/x1 have 3; expected the same"):
        m.two_afc(structured_images(2), structured_images(3), structured_images(3))


# ---------------------------------------------------------------------------------------------- pair interval
@pytest.mark.parametrize("eps", [EPS, 0.5])
def test_interval_either_pgd(efficient_model, data, eps):
    """One image (either one) moves by <= eps: d stays in [lower, upper], attacked up and down."""
    model = efficient_model
    _, a, b = data
    cert = model.certify(a, b, eps=eps, perturb="either")
    assert (cert.lower <= cert.distance).all() and (cert.distance <= cert.upper).all()
    if eps > EPS:  # a large budget: the lower bound is 0 for some pairs (then only image a is attacked)
        assert (cert.lower == 0).any()
    radius = torch.full((a.shape[0],), eps, dtype=torch.float64)
    phi_a, phi_b = model.embed(a), model.embed(b)
    for moving, other in ((a, phi_b), (b, phi_a))[: 1 if eps > EPS else 2]:
        lowest = pgd(lambda x, other=other: _d(_phi(model)(x), other), [moving], radius)
        highest = -pgd(lambda x, other=other: -_d(_phi(model)(x), other), [moving], radius)
        assert (lowest >= cert.lower - SLACK).all()
        assert (highest <= cert.upper + SLACK).all()
        assert (highest - lowest).median() > 0.05 * (cert.upper - cert.lower).median()  # the attack moved d


def test_interval_both_pgd(efficient_model, data):
    model = efficient_model
    _, a, b = data
    cert = model.certify(a, b, eps=EPS, perturb="both")
    either = model.certify(a, b, eps=EPS, perturb="either")
    assert (cert.lower <= either.lower).all() and (cert.upper >= either.upper).all()
    radius = torch.full((N,), EPS, dtype=torch.float64)
    phi = _phi(model)
    lowest = pgd(lambda x, y: _d(phi(x), phi(y)), [a, b], radius)
    highest = -pgd(lambda x, y: -_d(phi(x), phi(y)), [a, b], radius)
    assert (lowest >= cert.lower - SLACK).all()
    assert (highest <= cert.upper + SLACK).all()


def test_self_distance_bound():
    """d(x, x + delta) <= eps^2 / 2 for the 1-Lipschitz phi."""
    m = tiny_model("efficient")
    x = structured_images(N, 16, seed=3)
    radius = torch.full((N,), 0.5, dtype=torch.float64)
    phi_x = m.embed(x)
    highest = -pgd(lambda y: -_d(_phi(m)(y), phi_x), [x], radius)
    assert (highest <= 0.5 * 0.5**2 + SLACK).all()
    assert highest.max() > 1e-4


def test_interval_formulas():
    g = torch.Generator().manual_seed(0)
    phi0 = torch.nn.functional.normalize(torch.randn(6, 5, generator=g, dtype=torch.float64), dim=1)
    phi1 = torch.nn.functional.normalize(torch.randn(6, 5, generator=g, dtype=torch.float64), dim=1)
    one = torch.ones(6, dtype=torch.float64)
    e0, e1 = EmbeddingBatch(phi0, one, one), EmbeddingBatch(phi1, one, 2 * one)  # x1 was upsampled: ||P|| = 2
    s = (phi0 - phi1).norm(dim=1)
    c = certify_pair(e0, e1, 0.1, threshold=0.5)
    torch.testing.assert_close(c.distance, 0.5 * s**2)
    torch.testing.assert_close(c.lower, 0.5 * (s - 0.2).clamp_min(0) ** 2)
    torch.testing.assert_close(c.upper, (0.5 * (s + 0.2) ** 2).clamp_max(2))
    torch.testing.assert_close(c.radius, (s - 1.0).abs() / 2)  # |s - sqrt(2 tau)| / ||P||
    torch.testing.assert_close(c.same, c.distance <= 0.5)
    c = certify_pair(e0, e1, 0.1, threshold=0.5, perturb="both")
    torch.testing.assert_close(c.lower, 0.5 * (s - 0.3).clamp_min(0) ** 2)
    torch.testing.assert_close(c.radius, (s - 1.0).abs() / 2 / 2)
    c = certify_pair(e0, e1, 0.0)
    torch.testing.assert_close(c.lower, c.distance)
    torch.testing.assert_close(c.upper, c.distance)
    assert c.threshold is None and c.same is None and c.radius is None


def test_no_constant_coordinate_bounds():
    phi = torch.nn.functional.normalize(torch.randn(3, 4, dtype=torch.float64), dim=1)
    e = EmbeddingBatch(
        phi,
        torch.tensor([0.5, 1.0, 2.0], dtype=torch.float64),
        torch.ones(3, dtype=torch.float64),
        constant_appended=False,
    )
    torch.testing.assert_close(phi_shift_bound(e, 0.25), torch.tensor([1.0, 1 / 3, 0.25 / 1.75], dtype=torch.float64))
    assert torch.isinf(phi_shift_bound(e, 0.5)[0])  # nothing certified once rho >= ||f||
    m = torch.tensor([1.0, 1 / 3, 0.25 / 1.75], dtype=torch.float64)
    torch.testing.assert_close(radius_for_margin(e, m), torch.full((3,), 0.25, dtype=torch.float64))


def test_default_budgets():
    """One definition of the budgets: the default eps 36/255, certified scores at 36, 72 and 108/255."""
    from lipsim.model import DEFAULT_EPS as model_default
    from lipsim.train.scores import CERTIFIED_EPS as scores_eps

    assert DEFAULT_EPS == model_default == 36 / 255
    assert CERTIFIED_EPS == scores_eps == (36 / 255, 72 / 255, 108 / 255)


def test_certify_errors():
    m = tiny_model("efficient")
    a, b = structured_images(2), structured_images(2, seed=1)
    with pytest.raises(ValueError, match=r"^eps must be a non-negative number, got -0.1$"):
        m.certify(a, b, eps=-0.1)
    with pytest.raises(ValueError, match=r"^eps must be a non-negative number, got nan$"):
        m.certify(a, b, eps=float("nan"))
    with pytest.raises(ValueError, match=r"^threshold must be in \[0, 2\] \(the range of d\), got 2.5$"):
        m.certify(a, b, threshold=2.5)
    with pytest.raises(ValueError, match=r"^perturb must be 'either' or 'both', got 'one'$"):
        m.certify(a, b, perturb="one")


# ---------------------------------------------------------------------------------------------- threshold
@pytest.mark.parametrize("perturb", ["either", "both"])
def test_threshold_decision_pgd(model, data, perturb):
    _, a, b = data
    tau = _split_threshold(model(a, b))
    cert = model.certify(a, b, eps=EPS, threshold=tau, perturb=perturb)
    assert 0 < cert.same.sum() < N
    sign = torch.where(cert.same, -1.0, 1.0).double()  # keep "same" below tau, "different" above

    def keep(*moved, fixed=None):
        p = [_phi(model)(x) for x in moved]
        return sign * (_d(p[0], p[1] if len(p) > 1 else fixed) - tau)

    radius = 0.99 * cert.radius
    if perturb == "either":
        for moving, fixed in ((a, model.embed(b)), (b, model.embed(a))):
            best = pgd(functools.partial(keep, fixed=fixed), [moving], radius)
            assert (best > 0).all(), f"{int((best <= 0).sum())} decisions flipped"
    else:
        best = pgd(keep, [a, b], radius)
        assert (best > 0).all(), f"{int((best <= 0).sum())} decisions flipped"
    s = (2 * cert.distance).sqrt()
    if model.constant_coordinate == "append" and perturb == "either":
        torch.testing.assert_close(cert.radius, (s - (2 * tau) ** 0.5).abs(), rtol=1e-12, atol=1e-15)


# ---------------------------------------------------------------------------------------------- caller space
@pytest.mark.parametrize("caller_size", [32, 12], ids=["downsampled", "upsampled"])
@pytest.mark.parametrize("cc", ["append", "none"])
def test_radii_are_in_the_callers_pixel_space(caller_size, cc):
    """Images of the caller's size are resized (linear P) to 16x16: radii are network radii / ||P||, and PGD
    on the original images within 0.99 x that radius flips nothing."""
    model = tiny_model("efficient", constant_coordinate=cc)
    ref, x0, x1 = (structured_images(N, caller_size, seed=s) for s in (20, 21, 22))
    pn = resize_operator_norm((caller_size, caller_size), (16, 16))
    assert (pn < 0.6) if caller_size == 32 else (pn > 1.2)
    r = model.two_afc(ref, x0, x1)
    net = [model.embed_prepared(resize(x, (16, 16))) for x in (ref, x0, x1)]
    torch.testing.assert_close(r.radius, certify_two_afc(*net).radius / pn, rtol=1e-12, atol=0)
    assert r.radius.median() > 1e-3
    phi0, phi1 = model.embed(x0), model.embed(x1)
    sign = 1.0 - 2.0 * r.choice.double()
    best = pgd(lambda x: sign * (_d(_phi(model)(x), phi1) - _d(_phi(model)(x), phi0)), [ref], 0.99 * r.radius)
    assert (best > 0).all()

    tau = _split_threshold(model(x0, x1))
    cert = model.certify(x0, x1, threshold=tau)
    torch.testing.assert_close(cert.radius, certify_pair(net[1], net[2], EPS, tau).radius / pn, rtol=1e-12, atol=0)
    s = torch.where(cert.same, -1.0, 1.0).double()
    best = pgd(lambda x: s * (_d(_phi(model)(x), phi1) - tau), [x0], 0.99 * cert.radius)
    assert (best > 0).all()


@pytest.mark.parametrize("caller_size", [24, 40, 12], ids=["native", "downsampled", "upsampled"])
def test_native_resolution_radii_are_in_the_callers_pixel_space(caller_size):
    """A native-resolution model runs at the caller's size (resized only outside [image_size, max_size]);
    radii divide by ||P|| * L(size), and PGD on the caller's images within 0.99 x the radius flips nothing."""
    model = tiny_model("efficient", native_resolution=True, max_size=32)
    ref, x0, x1 = (structured_images(N, caller_size, seed=s) for s in (30, 31, 32))
    size = model.backbone.network_size((caller_size, caller_size))
    pn = resize_operator_norm((caller_size, caller_size), size) * model.backbone.lipschitz_bound(size)
    assert size == {24: (24, 24), 40: (32, 32), 12: (16, 16)}[caller_size]
    r = model.two_afc(ref, x0, x1)
    net = [model.embed_prepared(resize(x, size)) for x in (ref, x0, x1)]
    torch.testing.assert_close(r.radius, certify_two_afc(*net).radius / pn, rtol=1e-12, atol=0)
    assert r.radius.median() > 1e-3
    phi0, phi1 = model.embed(x0), model.embed(x1)
    sign = 1.0 - 2.0 * r.choice.double()
    best = pgd(lambda x: sign * (_d(_phi(model)(x), phi1) - _d(_phi(model)(x), phi0)), [ref], 0.99 * r.radius)
    assert (best > 0).all()
