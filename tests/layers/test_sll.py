"""SLL residual layers: formula, 1-Lipschitz (numerically and by the SDP certificate), adjoint, edge cases."""

from __future__ import annotations

import pytest
import torch
import torch.nn.functional as F

from lipsim.layers import SLLConv2d, SLLLinear
from lipsim.layers.sll import sll_scale
from tests._helpers import randomize_
from tests._lipschitz import check_lipschitz, exact_jacobian_norm, operator_matrix, record

pytestmark = pytest.mark.usefixtures("single_thread")


def _conv(channels=4, inner=3, quirk=False, random=False, kernel_size=3, seed=0):
    torch.manual_seed(seed)
    layer = SLLConv2d(channels, inner, kernel_size, paper_q_quirk=quirk).double().eval().requires_grad_(False)
    return randomize_(layer, seed) if random else layer


def _linear(features=10, inner=16, random=False, seed=0):
    torch.manual_seed(seed)
    layer = SLLLinear(features, inner).double().eval().requires_grad_(False)
    return randomize_(layer, seed) if random else layer


def _conv_operator(kernel: torch.Tensor, h: int, w: int) -> torch.Tensor:
    """Matrix of x -> conv2d(x, kernel, padding=k//2) on (C, h, w) inputs: (inner*h*w, C*h*w)."""
    c = kernel.shape[1]
    eye = torch.eye(c * h * w, dtype=kernel.dtype).view(-1, c, h, w)
    out = F.conv2d(eye, kernel, padding=kernel.shape[-1] // 2)
    return out.flatten(1).T


# ---------------------------------------------------------------------------------------------- shapes
def test_shapes_and_defaults():
    assert SLLConv2d(8, inner_channels=4)(torch.rand(2, 8, 16, 16)).shape == (2, 8, 16, 16)
    assert SLLConv2d(5)(torch.rand(1, 5, 7, 9)).shape == (1, 5, 7, 9)
    assert SLLConv2d(5).inner_channels == 5
    assert SLLLinear(16, inner_features=32)(torch.rand(4, 16)).shape == (4, 16)
    assert SLLLinear(6).inner_features == 6
    assert "paper_q_quirk=True" in repr(SLLConv2d(4, 2, paper_q_quirk=True))


def test_even_kernel_rejected():
    with pytest.raises(ValueError, match=r"^kernel_size must be odd, got 4$"):
        SLLConv2d(4, 2, kernel_size=4)


# ---------------------------------------------------------------------------------------------- formula
def test_linear_matches_the_formula():
    """h(x) = x - 2 W^T T^{-1} relu(W x + b), t_i = sum_j |(W W^T)_ij| q_j / q_i (docs/layers.md, 'SLL')."""
    layer = _linear(random=True)
    w, b, q = layer.weight, layer.bias[0], torch.exp(layer.q)
    gram = (w @ w.T).abs()
    t = torch.stack([sum(gram[i, j] * q[j] / q[i] for j in range(len(q))) for i in range(len(q))])
    x = torch.randn(5, 10, dtype=torch.float64)
    expected = x - 2 * (torch.relu(x @ w.T + b) / t) @ w
    torch.testing.assert_close(layer(x), expected, rtol=1e-12, atol=1e-12)


@pytest.mark.parametrize("quirk", [False, True])
def test_conv_matches_the_formula(quirk):
    """t_i sums |G_ij[u, v]| over the 5x5 autocorrelation, read here off the interior row of K K^T."""
    layer = _conv(random=True, quirk=quirk)
    k, q = layer.kernel, torch.exp(layer.q)
    h = w = 7
    kk = _conv_operator(k, h, w)
    big = (kk @ kk.T).abs().view(3, h * w, 3, h * w)
    centre = (h // 2) * w + w // 2  # all 25 offsets of the 5x5 autocorrelation fit around the centre
    g_abs = big[:, centre, :, :].sum(dim=-1)  # (inner i, inner j): sum over offsets of |G_ij|
    qq = torch.ones_like(q) if quirk else q
    t = (g_abs * qq.view(1, -1)).sum(dim=1) / qq
    x = torch.randn(2, 4, 6, 5, dtype=torch.float64)
    z = torch.relu(F.conv2d(x, k, padding=1) + layer.bias) / t.view(1, -1, 1, 1)
    expected = x - 2 * F.conv_transpose2d(z, k, padding=1)
    torch.testing.assert_close(layer(x), expected, rtol=1e-12, atol=1e-12)


def test_paper_quirk_ignores_q_and_the_proper_layer_does_not():
    x = torch.randn(2, 4, 6, 6, dtype=torch.float64)
    quirk, proper = _conv(quirk=True, random=True), _conv(quirk=False, random=True)
    y_quirk, y_proper = quirk(x), proper(x)
    with torch.no_grad():
        quirk.q.add_(torch.randn(3, dtype=torch.float64))
        proper.q.add_(torch.randn(3, dtype=torch.float64))
    torch.testing.assert_close(quirk(x), y_quirk, rtol=0, atol=0)
    assert (proper(x) - y_proper).abs().max() > 1e-3


def test_sll_scale_zero_row_is_zero():
    gram = torch.tensor([[0.0, 0.0], [0.0, 4.0]], dtype=torch.float64)
    expected = torch.tensor([0.0, 0.5], dtype=torch.float64)  # 2 / t, with 2 / 0 taken as 0
    torch.testing.assert_close(sll_scale(gram, None), expected)
    torch.testing.assert_close(sll_scale(gram, torch.zeros(2, dtype=torch.float64)), expected)


def test_zero_weights_give_the_identity():
    conv, lin = _conv(), _linear()
    with torch.no_grad():
        conv.kernel.zero_()
        lin.weight.zero_()
    x = torch.randn(2, 4, 5, 5, dtype=torch.float64)
    torch.testing.assert_close(conv(x), x, rtol=0, atol=0)
    v = torch.randn(3, 10, dtype=torch.float64)
    torch.testing.assert_close(lin(v), v, rtol=0, atol=0)


def test_q_is_shift_invariant_and_overflow_safe():
    layer = _linear(random=True)
    x = torch.randn(4, 10, dtype=torch.float64)
    y = layer(x)
    with torch.no_grad():
        layer.q.add_(800.0)  # exp(800) overflows float64; the layer subtracts max(q) first
    out = layer(x)
    assert torch.isfinite(out).all()
    torch.testing.assert_close(out, y, rtol=1e-12, atol=1e-12)


# ---------------------------------------------------------------------------------------------- adjoint
@pytest.mark.parametrize("kernel_size", [1, 3, 5])
@pytest.mark.parametrize("size", [(6, 6), (5, 8), (1, 3)])
def test_conv_transpose_is_the_exact_adjoint(kernel_size, size):
    """<K x, y> = <x, K^T y> with K = conv2d, K^T = conv_transpose2d, both with padding k // 2."""
    g = torch.Generator().manual_seed(kernel_size)
    k = torch.randn(3, 4, kernel_size, kernel_size, generator=g, dtype=torch.float64)
    x = torch.randn(2, 4, *size, generator=g, dtype=torch.float64)
    y = torch.randn(2, 3, *size, generator=g, dtype=torch.float64)
    pad = kernel_size // 2
    lhs = (F.conv2d(x, k, padding=pad) * y).sum()
    rhs = (x * F.conv_transpose2d(y, k, padding=pad)).sum()
    torch.testing.assert_close(lhs, rhs, rtol=1e-12, atol=1e-12)


def test_layer_uses_the_adjoint_of_its_own_conv():
    """The Jacobian at a point where every ReLU is active is I - 2 K^T S K with a symmetric middle factor."""
    layer = _conv(random=True)
    with torch.no_grad():
        layer.bias.fill_(1e6)  # all active: h(x) = x - 2 K^T T^{-1} (K x + b), an affine map
    j = operator_matrix(layer, torch.zeros(1, 4, 5, 5, dtype=torch.float64))
    torch.testing.assert_close(j, j.T, rtol=0, atol=1e-12)


@pytest.mark.parametrize("kind", ["conv", "linear"])
def test_forward_and_reverse_ad_through_a_frozen_eval_layer(kind):
    """torch.func.jvp / vjp through an eval-mode layer with frozen weights (its inference path) give the
    same Jacobian products as the train-mode path."""
    layer = _conv(random=True) if kind == "conv" else _linear(random=True)
    x = torch.randn(2, 4, 6, 5, dtype=torch.float64) if kind == "conv" else torch.randn(3, 10, dtype=torch.float64)
    v = torch.randn_like(x)
    _, jv_eval = torch.func.jvp(layer.eval(), (x,), (v,))
    _, vjp_eval = torch.func.vjp(layer, x)
    _, jv_train = torch.func.jvp(layer.train(), (x,), (v,))
    _, vjp_train = torch.func.vjp(layer, x)
    torch.testing.assert_close(jv_eval, jv_train, rtol=1e-12, atol=1e-12)
    torch.testing.assert_close(vjp_eval(v)[0], vjp_train(v)[0], rtol=1e-12, atol=1e-12)


# ---------------------------------------------------------------------------------------------- Lipschitz
CONV_CASES = [
    pytest.param(dict(), id="init"),
    pytest.param(dict(random=True), id="random"),
    pytest.param(dict(random=True, quirk=True), id="random-quirk"),
    pytest.param(dict(quirk=True), id="init-quirk"),
    pytest.param(dict(random=True, inner=6), id="random-wide-inner"),
    pytest.param(dict(random=True, kernel_size=5, seed=3), id="random-5x5"),
]


@pytest.mark.parametrize("case", CONV_CASES)
def test_conv_is_1_lipschitz(case):
    layer = _conv(**case)
    x = torch.randn(4, 4, 7, 9, dtype=torch.float64)
    power, _ = check_lipschitz(f"SLLConv2d {case}", layer, x)
    assert power > 0.5  # a residual layer: far from a vacuous check


@pytest.mark.parametrize("case", [dict(), dict(random=True), dict(random=True, inner=6), dict(random=True, seed=5)])
def test_linear_is_1_lipschitz(case):
    layer = _linear(**case)
    check_lipschitz(f"SLLLinear {case}", layer, torch.randn(6, 10, dtype=torch.float64) * 2)


@pytest.mark.parametrize("case", CONV_CASES[:4])
def test_conv_sdp_certificate(case):
    """T - K K^T is PSD on the zero-padded conv operator; then ||I - 2 K^T T^-1 D K|| <= 1 for any D in [0, I]."""
    layer = _conv(**case)
    _, _, scale = layer.compute_weights()
    t = 2.0 / scale.flatten()
    h, w = 6, 5
    kk = _conv_operator(layer.kernel, h, w)
    m = torch.diag(t.repeat_interleave(h * w)) - kk @ kk.T
    assert torch.linalg.eigvalsh(m).min() >= -1e-10 * t.max()


@pytest.mark.parametrize("case", [dict(), dict(random=True), dict(random=True, inner=6)])
def test_linear_sdp_certificate(case):
    layer = _linear(**case)
    w, _, scale = layer.compute_weights()
    t = 2.0 / scale.flatten()
    assert torch.linalg.eigvalsh(torch.diag(t) - w @ w.T).min() >= -1e-10 * t.max()


@pytest.mark.parametrize("random", [False, True])
def test_exact_jacobian_norm_at_random_points(random):
    conv, lin = _conv(random=random), _linear(random=random)
    for i in range(3):
        g = torch.Generator().manual_seed(i)
        c = exact_jacobian_norm(conv, torch.randn(1, 4, 6, 5, generator=g, dtype=torch.float64))
        s = exact_jacobian_norm(lin, torch.randn(1, 10, generator=g, dtype=torch.float64))
        record("SLLConv2d [exact Jacobian]", c)
        record("SLLLinear [exact Jacobian]", s)
        assert c <= 1 + 1e-9 and s <= 1 + 1e-9
