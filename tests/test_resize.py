"""Resize to the model resolution and its operator norm ||P|| (used to report radii in caller pixels)."""

from __future__ import annotations

import pytest
import torch
import torch.nn.functional as F

from lipsim.resize import resize, resize_matrix_1d, resize_operator_norm

pytestmark = pytest.mark.usefixtures("single_thread")

CASES = [
    ((32, 32), (16, 16)),
    ((64, 48), (16, 16)),
    ((12, 12), (16, 16)),
    ((8, 20), (16, 16)),
    ((16, 16), (7, 23)),
    ((1, 40), (16, 16)),
    ((3, 3), (16, 16)),
    ((17, 31), (16, 16)),
]


def _exact_norm(in_size, out_size) -> float:
    """||P|| of the actual resize: the full (out, in) matrix of F.interpolate on float64 basis images, then SVD."""
    n = in_size[0] * in_size[1]
    basis = torch.eye(n, dtype=torch.float64).view(n, 1, *in_size)
    p = resize(basis, out_size).flatten(1).T
    return float(torch.linalg.matrix_norm(p, ord=2))


def test_identity_when_sizes_match():
    x = torch.rand(2, 3, 16, 16)
    assert resize(x, (16, 16)) is x
    assert resize_operator_norm((16, 16), (16, 16)) == 1.0


def test_resize_is_bilinear_antialiased():
    x = torch.rand(2, 3, 40, 30)
    expected = F.interpolate(x, size=(16, 16), mode="bilinear", antialias=True, align_corners=False)
    torch.testing.assert_close(resize(x, (16, 16)), expected, rtol=0, atol=0)


@pytest.mark.parametrize("in_size, out_size", CASES)
def test_matrices_reproduce_the_resize(in_size, out_size):
    x = torch.rand(2, 3, *in_size, dtype=torch.float64)
    ph, pw = resize_matrix_1d(in_size[0], out_size[0]), resize_matrix_1d(in_size[1], out_size[1])
    assert ph.shape == (out_size[0], in_size[0]) and ph.dtype == torch.float64
    torch.testing.assert_close(torch.einsum("oh,nchw,pw->ncop", ph, x, pw), resize(x, out_size), rtol=1e-6, atol=1e-6)


@pytest.mark.parametrize("in_size, out_size", CASES)
def test_operator_norm_bounds_the_resize_tightly(in_size, out_size):
    bound = resize_operator_norm(in_size, out_size)
    est = _exact_norm(in_size, out_size)
    assert est <= bound  # sound: radii divided by it are never too large
    assert bound <= est * (1 + 1e-5)  # and tight


def test_down_and_upsampling_norms():
    assert resize_operator_norm((448, 448), (224, 224)) == pytest.approx(0.501, abs=1e-3)
    assert resize_operator_norm((32, 32), (16, 16)) < 0.6
    assert resize_operator_norm((12, 12), (16, 16)) > 1.2
    assert resize_operator_norm((1, 1), (16, 16)) == pytest.approx(16.0, rel=1e-5)  # one pixel copied 256 times


def test_lipschitz_of_the_resize_on_random_pairs():
    g = torch.Generator().manual_seed(0)
    for in_size, out_size in CASES:
        x = torch.rand(20, 3, *in_size, generator=g, dtype=torch.float64)
        y = torch.rand(20, 3, *in_size, generator=g, dtype=torch.float64)
        ratio = (resize(x, out_size) - resize(y, out_size)).flatten(1).norm(dim=1) / (x - y).flatten(1).norm(dim=1)
        assert ratio.max() <= resize_operator_norm(in_size, out_size)
