"""The count sketch behind the ``lpips-sketch`` recipe: linear, deterministic, norm-preserving on average."""

from __future__ import annotations

import pytest
import torch

from lipsim.train.teachers.embeddings import EMBEDDINGS, embedding_dim, lpips_maps
from lipsim.train.teachers.sketch import SKETCH_DIM, count_sketch, sketch_tables


def maps(seed: int, n: int = 2) -> list[torch.Tensor]:
    g = torch.Generator().manual_seed(seed)
    return [torch.randn(n, 8, 12, 10, generator=g), torch.randn(n, 16, 6, 5, generator=g)]


def test_linear_and_deterministic():
    a, b = maps(0), maps(1)
    sa, sb = count_sketch(a, 256), count_sketch(b, 256)
    torch.testing.assert_close(count_sketch([x - 2 * y for x, y in zip(a, b)], 256), sa - 2 * sb)
    assert torch.equal(count_sketch(a, 256), sa)
    # each coordinate lands in exactly one bucket with sign +-1: a single non-zero input moves one output
    one = [torch.zeros(1, 8, 12, 10), torch.zeros(1, 16, 6, 5)]
    one[1][0, 3, 2, 1] = 1.5
    s = count_sketch(one, 256)
    assert int((s != 0).sum()) == 1 and float(s.abs().sum()) == 1.5


def test_squared_norm_is_kept_in_expectation():
    """Over many seeds the sketched squared norm averages to the true one, with relative spread about
    sqrt(2 / k)."""
    v = maps(2, n=1)
    true = sum(float(m.pow(2).sum()) for m in v)
    k = 256
    est = torch.tensor([float(count_sketch(v, k, seed=s).pow(2).sum()) for s in range(200)])
    assert abs(float(est.mean()) / true - 1) < 0.02
    assert 0.5 * (2 / k) ** 0.5 < float(est.std()) / true < 1.5 * (2 / k) ** 0.5


def test_tables_depend_on_layer_and_shape():
    i0, s0 = sketch_tables(0, (8, 12, 10), 256)
    i1, _ = sketch_tables(1, (8, 12, 10), 256)
    i2, _ = sketch_tables(0, (8, 12, 11), 256)
    assert i0.dtype == torch.int32 and s0.abs().eq(1).all()
    assert not torch.equal(i0, i1) and not torch.equal(i0[:100], i2[:100])


def test_lpips_sketch_recipe_estimates_the_lpips_distance():
    """With heads, ||sketch(x) - sketch(y)||^2 is close to sum_l mean_hw sum_c w (u_x - u_y)^2."""
    g = torch.Generator().manual_seed(3)
    tx = [torch.rand(1, 32, 20, 20, generator=g), torch.rand(1, 64, 10, 10, generator=g)]
    ty = [t + 0.3 * torch.rand(t.shape, generator=g) for t in tx]
    heads = [torch.rand(1, 32, 1, 1, generator=g), torch.rand(1, 64, 1, 1, generator=g)]
    exact = sum(float((a - b).pow(2).sum()) for a, b in zip(lpips_maps(tx, heads), lpips_maps(ty, heads)))
    est = float((EMBEDDINGS["lpips-sketch"](tx, heads) - EMBEDDINGS["lpips-sketch"](ty, heads)).pow(2).sum())
    assert abs(est / exact - 1) < 0.15
    assert embedding_dim("lpips-sketch", (32, 64)) == SKETCH_DIM == 1024


def test_bad_arguments():
    with pytest.raises(ValueError, match="sketch width must be >= 1, got 0"):
        count_sketch(maps(0), 0)
    with pytest.raises(ValueError, match=r"expected a non-empty list of \(N, C, H, W\) maps, got shapes \[\(2, 3\)\]"):
        count_sketch([torch.zeros(2, 3)], 8)
    with pytest.raises(ValueError, match="LPIPS linear heads"):
        EMBEDDINGS["lpips-sketch"](maps(0), None)
