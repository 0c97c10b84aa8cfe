"""Resize to the model resolution and its operator norm ||P|| (used to report radii in caller pixels)."""

from __future__ import annotations

import json
import random
import re
import subprocess
import sys

import pytest
import torch
import torch.nn.functional as F

from lipsim.errors import ImageError
from lipsim.resize import (
    MAX_RESIZE_FACTOR,
    MAX_RESIZE_INPUT_SIDE,
    MAX_RESIZE_SIDE,
    check_resize,
    resize,
    resize_band,
    resize_matrix_1d,
    resize_operator_norm,
    resize_singular_value,
)

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


# ---------------------------------------------------------------------------------------------- the banded matrices
def _dense_probe(n_in: int, n_out: int, dtype: torch.dtype) -> torch.Tensor:
    """The (n_out, n_in) matrix as lipsim built it before: torch's kernel on the n_in x n_in identity (dense)."""
    eye = torch.eye(n_in, dtype=dtype).view(n_in, 1, n_in, 1).expand(n_in, 1, n_in, 2).contiguous()
    out = F.interpolate(eye, size=(n_out, 2), mode="bilinear", antialias=True, align_corners=False)
    return out[:, 0, :, 0].T.to(torch.float64)


def _from_band(n_in: int, n_out: int, dtype: torch.dtype) -> torch.Tensor:
    band = resize_band(n_in, n_out, dtype)
    k = band.weights.shape[1]
    dense = torch.zeros(n_out, n_in + k, dtype=torch.float64)
    dense.scatter_(1, band.start[:, None] + torch.arange(k)[None, :], band.weights)
    assert not dense[:, n_in:].any()
    return dense[:, :n_in]


def _pairs(n: int, top: int, seed: int) -> list[tuple[int, int]]:
    rng = random.Random(seed)
    return [(rng.randint(1, top), rng.randint(1, top)) for _ in range(n)]


BAND_SIZES = [
    (1, 5),
    (5, 1),
    (2, 1),
    (4, 2),
    (7, 3),
    (3, 7),
    (16, 16),
    (640, 3),
    (3, 200),
    (255, 64),
    *_pairs(40, 200, 0),
]


@pytest.mark.parametrize("dtype", [torch.float32, torch.float64])
def test_band_holds_torchs_own_matrix_exactly(dtype):
    for n_in, n_out in BAND_SIZES:
        if n_in != n_out:
            torch.testing.assert_close(_from_band(n_in, n_out, dtype), _dense_probe(n_in, n_out, dtype), rtol=0, atol=0)


def test_singular_value_against_the_dense_svd():
    """New (banded Gram + bisection) against the old dense computation (SVD of the full matrix, float64), for both
    kernels: an upper bound on both, tight to 1e-9."""
    sizes = [(448, 224), (224, 448), (1, 16), (16, 1), (300, 7), (7, 300), (97, 96), (96, 97), *_pairs(60, 300, 1)]
    for n_in, n_out in sizes:
        if n_in == n_out:
            continue
        exact = max(
            float(torch.linalg.matrix_norm(_dense_probe(n_in, n_out, dt), ord=2))
            for dt in (torch.float32, torch.float64)
        )
        bound = resize_singular_value(n_in, n_out)
        assert exact <= bound <= exact * (1 + 1e-9), (n_in, n_out, exact, bound)


def test_float32_and_float64_kernels_differ_and_both_are_covered():
    """torch computes the weights in the input's precision: here sigma_max differs by 3e-6 between the two,
    more than the 1e-6 headroom, so the bound takes the larger one."""
    s32, s64 = (
        float(torch.linalg.matrix_norm(_dense_probe(922, 969, dt), ord=2)) for dt in (torch.float32, torch.float64)
    )
    assert abs(s32 / s64 - 1) > 1e-6
    assert max(s32, s64) <= resize_singular_value(922, 969) <= max(s32, s64) * (1 + 1e-9)


def test_width_one_is_resized_exactly():
    """torch's antialiased kernel mixes the batch when the width stays 1; resize goes around it."""
    x = torch.rand(4, 3, 10, 1, dtype=torch.float64)
    expected = torch.einsum("oh,nchw->ncow", resize_matrix_1d(10, 5), x)
    torch.testing.assert_close(resize(x, (5, 1)), expected, rtol=1e-6, atol=1e-6)
    torch.testing.assert_close(resize(x, (20, 1)), torch.einsum("oh,nchw->ncow", resize_matrix_1d(10, 20), x))


# ---------------------------------------------------------------------------------------------- limits
def _msg(in_size, out_size, why: str) -> str:
    return re.escape(f"resizing (H, W) = {tuple(in_size)} to {tuple(out_size)} is refused: {why}")


SIDE = (
    f"a side over {MAX_RESIZE_SIDE} px (lipsim.resize.MAX_RESIZE_SIDE); the image is too elongated, or the size "
    "asked for too large"
)


@pytest.mark.parametrize(
    "in_size, out_size, why",
    [
        ((1, 60000), (64, 3840000), SIDE),  # a 60000 x 1 PNG at the default weights' native size
        ((20000, 3), (426667, 64), SIDE),  # 3 x 20000
        ((500, 500), (100000, 100000), SIDE),  # lipsim dedup --size 100000
        ((16, 16), (0, 16), "every side must be at least 1 px"),
        (
            (MAX_RESIZE_INPUT_SIDE + 1, 10),
            (512, 1),
            f"the image has a side over {MAX_RESIZE_INPUT_SIDE} px (lipsim.resize.MAX_RESIZE_INPUT_SIDE)",
        ),
        (
            (1, 60000),
            (16, 16),
            f"it shrinks a side more than {MAX_RESIZE_FACTOR} times (lipsim.resize.MAX_RESIZE_FACTOR); the image is "
            "too elongated for this size",
        ),
    ],
)
def test_absurd_resizes_are_refused_in_one_line(in_size, out_size, why):
    for fn in (check_resize, resize_operator_norm):
        with pytest.raises(ImageError, match=f"^{_msg(in_size, out_size, why)}$"):
            fn(in_size, out_size)
    with pytest.raises(ImageError, match=f"^'x.png': {_msg(in_size, out_size, why)}$"):
        check_resize(in_size, out_size, "'x.png'")


def test_limits_are_what_the_docs_say():
    assert (MAX_RESIZE_SIDE, MAX_RESIZE_INPUT_SIDE, MAX_RESIZE_FACTOR) == (8192, 65536, 1024)
    check_resize((MAX_RESIZE_INPUT_SIDE, 64), (MAX_RESIZE_INPUT_SIDE // MAX_RESIZE_FACTOR, MAX_RESIZE_SIDE))
    with pytest.raises(TypeError, match=r"^in_size must be a pair of ints \(H, W\), got \(1\.5, 2\)$"):
        resize_operator_norm((1.5, 2), (4, 4))
    with pytest.raises(ValueError, match=r"^resize_matrix_1d\(8192, 4096\) would hold 33,554,432 entries, more "):
        resize_matrix_1d(8192, 4096)


_MEASURE = """
import json, resource, sys, time
import torch
torch.set_num_threads(1)
from lipsim.resize import resize_operator_norm
resize_operator_norm((32, 48), (16, 16))
before, t = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss, time.process_time()
for a, b in json.loads(sys.argv[1]):
    resize_operator_norm(tuple(a), tuple(b))
print(json.dumps([resource.getrusage(resource.RUSAGE_SELF).ru_maxrss - before, time.process_time() - t]))
"""


def test_norms_of_large_images_take_little_memory_and_time():
    """Network sizes of a 16000 x 1000 panorama, an 8192 x 64 strip and an 8000 x 8000 photo (default weights):
    the dense matrices needed 2-4 GB and 38 s for these; the bands need a few MB."""
    cases = [((1000, 16000), (32, 512)), ((64, 8192), (4, 512)), ((8000, 8000), (512, 512))]
    out = subprocess.run(
        [sys.executable, "-c", _MEASURE, json.dumps(cases)], capture_output=True, text=True, timeout=600, check=True
    )
    grew_kib, cpu_s = json.loads(out.stdout)
    assert grew_kib < 100 * 1024, f"peak RSS grew by {grew_kib / 1024:.0f} MiB"
    assert cpu_s < 10.0
