"""AOL layers: formula, exact operator norm <= 1, Lipschitz estimates, 1x1 and cin != cout."""

from __future__ import annotations

import pytest
import torch
import torch.nn.functional as F

from lipsim.layers import AOLConv2d, AOLLinear
from lipsim.layers.aol import aol_scale
from tests._helpers import randomize_
from tests._lipschitz import check_lipschitz, operator_matrix, record

pytestmark = pytest.mark.usefixtures("single_thread")


def _conv(cin=4, cout=4, k=3, random=False, seed=0, rescale="in", init_noise=0.01):
    torch.manual_seed(seed)
    layer = AOLConv2d(cin, cout, kernel_size=k, rescale=rescale, init_noise=init_noise)
    layer = layer.double().eval().requires_grad_(False)
    return randomize_(layer, seed) if random else layer


def _linear(fin=10, fout=10, random=False, seed=0, rescale="in"):
    torch.manual_seed(seed)
    layer = AOLLinear(fin, fout, rescale=rescale).double().eval().requires_grad_(False)
    return randomize_(layer, seed) if random else layer


def _conv_norm(layer: AOLConv2d, h: int, w: int) -> float:
    """Exact spectral norm of the layer's (zero-padded) convolution on (cin, h, w) inputs."""
    (kernel,) = layer.compute_weights()
    m = operator_matrix(
        lambda x: F.conv2d(x, kernel, padding=layer.kernel_size // 2),
        torch.zeros(1, layer.in_channels, h, w, dtype=torch.float64),
    )
    return float(torch.linalg.matrix_norm(m, ord=2))


CONV_CASES = [
    pytest.param(dict(), id="3x3-init"),
    pytest.param(dict(random=True), id="3x3-random"),
    pytest.param(dict(k=1, random=True), id="1x1-random"),
    pytest.param(dict(k=1), id="1x1-init"),
    pytest.param(dict(cin=4, cout=6, random=True), id="widen-random"),
    pytest.param(dict(cin=6, cout=4, random=True), id="narrow-random"),
    pytest.param(dict(cin=12, cout=8, k=1, random=True), id="1x1-narrow-random"),
    pytest.param(dict(cin=3, cout=4, k=5, random=True, seed=2), id="5x5-random"),
    pytest.param(dict(rescale="out", random=True), id="adjoint-3x3-random"),
    pytest.param(dict(cin=6, cout=4, rescale="out", random=True), id="adjoint-narrow-random"),
    pytest.param(dict(cin=4, cout=6, rescale="out", random=True, seed=3), id="adjoint-widen-random"),
    pytest.param(dict(cin=12, cout=8, k=1, rescale="out", random=True), id="adjoint-1x1-narrow-random"),
    pytest.param(dict(cin=12, cout=8, rescale="out", init_noise=0.0), id="adjoint-narrow-isometric-init"),
    pytest.param(dict(cin=3, cout=4, k=5, rescale="out", random=True, seed=2), id="adjoint-5x5-random"),
]


def test_shapes_and_repr():
    assert AOLConv2d(8, 16)(torch.rand(2, 8, 10, 12)).shape == (2, 16, 10, 12)
    assert AOLConv2d(8, 4, kernel_size=1)(torch.rand(1, 8, 3, 5)).shape == (1, 4, 3, 5)
    assert AOLLinear(16, 8)(torch.rand(4, 16)).shape == (4, 8)
    assert repr(AOLConv2d(2, 3, bias=False)) == "AOLConv2d(2, 3, kernel_size=3, bias=False)"
    assert AOLLinear(3, 2, bias=False).bias is None


def test_even_kernel_rejected():
    with pytest.raises(ValueError, match=r"^kernel_size must be odd, got 2$"):
        AOLConv2d(3, 3, kernel_size=2)


def test_linear_matches_the_formula():
    """W' = W diag(d), d_j = (sum_i |(W^T W)_ij|)^{-1/2}."""
    layer = _linear(fin=7, fout=5, random=True)
    w = layer.weight
    d = (w.T @ w).abs().sum(dim=0).rsqrt()
    x = torch.randn(3, 7, dtype=torch.float64)
    torch.testing.assert_close(layer(x), x @ (w * d).T + layer.bias, rtol=1e-12, atol=1e-12)


@pytest.mark.parametrize("k", [1, 3])
def test_conv_matches_the_formula(k):
    """d_j from the interior column of K^T K (all offsets of the autocorrelation) of the conv operator."""
    layer = _conv(cin=3, cout=5, k=k, random=True)
    h = w = 7
    kmat = operator_matrix(
        lambda x: F.conv2d(x, layer.kernel, padding=k // 2), torch.zeros(1, 3, h, w, dtype=torch.float64)
    )
    gram = (kmat.T @ kmat).abs().view(3, h * w, 3, h * w)
    centre = (h // 2) * w + w // 2
    d = gram[:, :, :, centre].sum(dim=(0, 1)).rsqrt()  # column j = (channel j, centre pixel)
    (kernel,) = layer.compute_weights()
    torch.testing.assert_close(kernel, layer.kernel * d.view(1, -1, 1, 1), rtol=1e-12, atol=1e-12)
    x = torch.randn(2, 3, 5, 6, dtype=torch.float64)
    torch.testing.assert_close(layer(x), F.conv2d(x, kernel, layer.bias, padding=k // 2))


def test_aol_scale_zero_column():
    w = torch.tensor([[1.0, 0.0], [2.0, 0.0]], dtype=torch.float64)
    torch.testing.assert_close(aol_scale((w.T @ w).abs()), torch.tensor([5**-0.5, 0.0], dtype=torch.float64))
    layer = _linear(fin=3, fout=2)
    with torch.no_grad():
        layer.weight[:, 1] = 0
    out = layer(torch.randn(4, 3, dtype=torch.float64))
    assert torch.isfinite(out).all()


@pytest.mark.parametrize("case", CONV_CASES)
def test_conv_exact_operator_norm(case):
    layer = _conv(**case)
    for size in [(5, 5), (4, 7)]:
        n = record(f"AOLConv2d {case} [exact operator norm]", _conv_norm(layer, *size))
        assert n <= 1 + 1e-9


@pytest.mark.parametrize("case", CONV_CASES)
def test_conv_is_1_lipschitz(case):
    layer = _conv(**case)
    x = torch.randn(3, layer.in_channels, 6, 7, dtype=torch.float64)
    check_lipschitz(f"AOLConv2d {case}", layer, x)


@pytest.mark.parametrize("rescale", ["in", "out"])
@pytest.mark.parametrize("shape", [(10, 10), (10, 16), (16, 10), (1, 5), (5, 1)])
@pytest.mark.parametrize("random", [False, True])
def test_linear_exact_norm_and_lipschitz(shape, random, rescale):
    layer = _linear(*shape, random=random, rescale=rescale)
    (weight,) = layer.compute_weights()
    n = record(f"AOLLinear {shape} {rescale} [exact operator norm]", torch.linalg.matrix_norm(weight, ord=2))
    assert n <= 1 + 1e-9
    check_lipschitz(
        f"AOLLinear {shape} random={random} rescale={rescale}", layer, torch.randn(3, shape[0], dtype=torch.float64)
    )


def test_adjoint_rescaling_matches_the_formula():
    """rescale='out': W' = diag(d) W with d_i = (sum_j |(W W^T)_ij|)^{-1/2}, for dense and conv (1x1) layers."""
    dense = _linear(7, 4, random=True, rescale="out")
    w = dense.weight
    expected = w / (w @ w.T).abs().sum(dim=1, keepdim=True).sqrt()
    torch.testing.assert_close(dense.compute_weights()[0], expected)
    conv = _conv(7, 4, k=1, random=True, rescale="out")
    k = conv.kernel[:, :, 0, 0]
    expected = k / (k @ k.T).abs().sum(dim=1, keepdim=True).sqrt()
    torch.testing.assert_close(conv.compute_weights()[0][:, :, 0, 0], expected)


def test_narrowing_layers_are_co_isometries_at_init_only_on_the_adjoint_side():
    """Orthogonal init of a narrowing layer: 'out' keeps every singular value at 1, 'in' shrinks them."""
    (w_out,) = _linear(256, 32, rescale="out").compute_weights()
    assert torch.linalg.svdvals(w_out).min() > 0.999
    (w_in,) = _linear(256, 32).compute_weights()
    assert torch.linalg.svdvals(w_in).max() < 0.55
    assert _conv_norm(_conv(12, 8, rescale="out", init_noise=0.0), 5, 5) == pytest.approx(1.0, abs=1e-6)
    (kernel,) = _conv(8, 8, init_noise=0.0).compute_weights()
    assert kernel[:, :, [0, 2], :].abs().max() == 0 and kernel[:, :, :, [0, 2]].abs().max() == 0


def test_rescale_side_is_checked_and_shown():
    with pytest.raises(ValueError, match="rescale must be one of \\('in', 'out'\\), got 'both'"):
        AOLLinear(3, 2, rescale="both")
    with pytest.raises(ValueError, match="rescale must be one of"):
        AOLConv2d(3, 2, rescale="rows")
    assert repr(AOLLinear(3, 2, rescale="out")) == "AOLLinear(3, 2, bias=True, rescale='out')"
    assert repr(AOLConv2d(3, 2, rescale="out")) == "AOLConv2d(3, 2, kernel_size=3, bias=True, rescale='out')"


def test_near_isometry_at_init():
    """The orthogonal init makes AOL's rescaling ~1: the layers start close to norm preserving."""
    square = _linear(16, 16)
    (w,) = square.compute_weights()
    s = torch.linalg.svdvals(w)
    assert s.min() > 0.999 and s.max() <= 1 + 1e-9
    assert _conv_norm(_conv(8, 8), 6, 6) > 0.75
    assert _conv_norm(_conv(8, 8, k=1), 6, 6) == pytest.approx(1.0, abs=1e-6)  # float32 init, then .double()


@pytest.mark.parametrize("factor,kernel,size", [(2, 1, (9, 10)), (2, 3, (8, 8)), (4, 3, (13, 7)), (3, 3, (6, 11))])
def test_forward_unshuffled_is_space_to_depth_then_the_conv(factor, kernel, size):
    from lipsim.layers import SpaceToDepth

    torch.manual_seed(0)
    conv = AOLConv2d(3 * factor * factor, 6, kernel_size=kernel, init_noise=0.3)
    with torch.no_grad():
        conv.bias.normal_()
    x = torch.randn(2, 3, *size, dtype=torch.float64, requires_grad=True)
    conv = conv.double()
    fused = conv.forward_unshuffled(x, factor)
    plain = conv(SpaceToDepth(factor)(x))
    assert fused.shape == plain.shape
    torch.testing.assert_close(fused, plain, rtol=0, atol=1e-12)
    g = torch.randn_like(plain)
    (gx_fused, gk_fused) = torch.autograd.grad(fused, (x, conv.kernel), g)
    (gx_plain, gk_plain) = torch.autograd.grad(plain, (x, conv.kernel), g)
    torch.testing.assert_close(gx_fused, gx_plain, rtol=0, atol=1e-12)
    torch.testing.assert_close(gk_fused, gk_plain, rtol=0, atol=1e-12)


def test_forward_unshuffled_checks_the_channels():
    with pytest.raises(ValueError, match="space-to-depth by 2 of 3 channels gives 12, but this layer takes 8"):
        AOLConv2d(8, 4).forward_unshuffled(torch.rand(1, 3, 8, 8), 2)
