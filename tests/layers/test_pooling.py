"""SpaceToDepth, WindowSumPool, GlobalSumPool, GridSumPool: values, exact operator norms (incl. uneven sizes)."""

from __future__ import annotations

import pytest
import torch
import torch.nn.functional as F

from lipsim.layers import GlobalSumPool, GridSumPool, SpaceToDepth, WindowSumPool
from lipsim.layers.pooling import cell_bounds, pad_to_multiple
from tests._lipschitz import check_lipschitz, operator_matrix, record

pytestmark = pytest.mark.usefixtures("single_thread")

SIZES = [(8, 8), (5, 6), (7, 3), (1, 1), (4, 9)]


def _singular_values(layer, c, h, w):
    m = operator_matrix(layer, torch.zeros(1, c, h, w, dtype=torch.float64))
    return torch.linalg.svdvals(m)


# ---------------------------------------------------------------------------------------------- SpaceToDepth
def test_space_to_depth_shapes():
    assert SpaceToDepth(2)(torch.rand(1, 3, 5, 6)).shape == (1, 12, 3, 3)
    assert SpaceToDepth(4)(torch.rand(2, 3, 16, 16)).shape == (2, 48, 4, 4)
    assert SpaceToDepth(3)(torch.rand(1, 2, 1, 1)).shape == (1, 18, 1, 1)


def test_space_to_depth_equals_pixel_unshuffle_on_multiples():
    x = torch.randn(2, 3, 8, 12)
    torch.testing.assert_close(SpaceToDepth(4)(x), F.pixel_unshuffle(x, 4), rtol=0, atol=0)


def test_space_to_depth_pads_with_zeros_at_the_bottom_right():
    x = torch.arange(1.0, 16.0).view(1, 1, 3, 5)
    y = SpaceToDepth(2)(x)
    torch.testing.assert_close(y, F.pixel_unshuffle(F.pad(x, [0, 1, 0, 1]), 2), rtol=0, atol=0)
    assert y.sum() == x.sum()


@pytest.mark.parametrize("factor", [2, 3, 4])
@pytest.mark.parametrize("size", SIZES)
def test_space_to_depth_is_norm_preserving(factor, size):
    x = torch.randn(3, 2, *size, dtype=torch.float64)
    y = SpaceToDepth(factor)(x)
    torch.testing.assert_close(y.flatten(1).norm(dim=1), x.flatten(1).norm(dim=1), rtol=1e-15, atol=0)
    s = _singular_values(SpaceToDepth(factor), 2, *size)
    torch.testing.assert_close(s, torch.ones_like(s), rtol=0, atol=1e-12)  # an isometry: every sigma is 1


# ---------------------------------------------------------------------------------------------- WindowSumPool
def test_window_sum_pool_values():
    torch.testing.assert_close(WindowSumPool(2)(torch.ones(1, 1, 4, 4)), torch.full((1, 1, 2, 2), 2.0))
    x = torch.randn(2, 3, 8, 8, dtype=torch.float64)
    expected = x.unfold(2, 4, 4).unfold(3, 4, 4).sum(dim=(-1, -2)) / 4
    torch.testing.assert_close(WindowSumPool(4)(x), expected, rtol=1e-12, atol=1e-12)


def test_window_sum_pool_non_multiple_sizes():
    x = torch.randn(1, 2, 5, 7, dtype=torch.float64)
    y = WindowSumPool(2)(x)
    assert y.shape == (1, 2, 3, 4)
    # the last row/column windows hold the remaining pixels only (zero padding), still divided by 2
    torch.testing.assert_close(y[..., -1, -1], x[..., 4, 6] / 2, rtol=1e-12, atol=1e-12)
    torch.testing.assert_close(y.sum(), x.sum() / 2, rtol=1e-12, atol=1e-12)


@pytest.mark.parametrize("window", [2, 3, 4])
@pytest.mark.parametrize("size", SIZES)
def test_window_sum_pool_operator_norm(window, size):
    s = _singular_values(WindowSumPool(window), 2, *size)
    record("WindowSumPool [exact operator norm]", s.max())
    assert s.max() <= 1 + 1e-12
    if size[0] % window == 0 and size[1] % window == 0:
        torch.testing.assert_close(s, torch.ones_like(s), rtol=0, atol=1e-12)  # full windows: sigma = 1 exactly


# ---------------------------------------------------------------------------------------------- GlobalSumPool
def test_global_sum_pool_values():
    torch.testing.assert_close(GlobalSumPool()(torch.ones(1, 2, 3, 3)), torch.tensor([[3.0, 3.0]]))
    x = torch.randn(2, 3, 4, 5, dtype=torch.float64)
    torch.testing.assert_close(GlobalSumPool()(x), x.sum(dim=(2, 3)) / 20**0.5, rtol=1e-12, atol=1e-12)


@pytest.mark.parametrize("size", SIZES)
def test_global_sum_pool_operator_norm(size):
    s = _singular_values(GlobalSumPool(), 3, *size)
    torch.testing.assert_close(s, torch.ones_like(s), rtol=0, atol=1e-12)


# ---------------------------------------------------------------------------------------------- Lipschitz
@pytest.mark.parametrize(
    "layer", [SpaceToDepth(2), SpaceToDepth(3), WindowSumPool(2), WindowSumPool(4), GlobalSumPool()], ids=repr
)
def test_is_1_lipschitz(layer):
    x = torch.randn(3, 2, 7, 5, dtype=torch.float64)
    power, adv = check_lipschitz(f"{type(layer).__name__}({layer.extra_repr()})", layer, x)
    assert power > 0.99 and adv > 0.99  # norm 1 for all three (some window or channel is full)


def test_pad_to_multiple_is_a_no_op_on_multiples():
    x = torch.randn(1, 1, 4, 6)
    assert pad_to_multiple(x, 2) is x
    assert pad_to_multiple(x, 4).shape == (1, 1, 4, 8)


# ---------------------------------------------------------------------------------------------- size-normalised
@pytest.mark.parametrize("size", [(2, 2), (4, 4), (3, 7), (1, 1)])
def test_size_normalised_global_pool_norm_is_its_gain(size):
    """With ref_positions r, the exact operator norm is min(1, sqrt(r / HW)) and the output sqrt(r) * mean."""
    pool = GlobalSumPool(ref_positions=4)
    h, w = size
    s = _singular_values(pool, 2, h, w)
    expected = min(1.0, (4 / (h * w)) ** 0.5)
    assert pool.gain(h * w) == pytest.approx(expected, rel=1e-15)
    torch.testing.assert_close(s, torch.full_like(s, expected), rtol=0, atol=1e-12)
    x = torch.randn(3, 2, h, w, dtype=torch.float64)
    if h * w >= 4:
        torch.testing.assert_close(pool(x), 2 * x.mean(dim=(2, 3)), rtol=1e-12, atol=1e-12)
    power, adv = check_lipschitz(f"GlobalSumPool(ref_positions=4) at {h}x{w} / gain", lambda t: pool(t) / expected, x)
    assert power > 0.99


def test_size_normalised_global_pool_rejects_bad_reference():
    with pytest.raises(ValueError, match="ref_positions must be a positive int or None, got 0"):
        GlobalSumPool(ref_positions=0)


# ---------------------------------------------------------------------------------------------- GridSumPool
@pytest.mark.parametrize("n", [1, 2, 3, 7, 8, 13])
@pytest.mark.parametrize("cells", [1, 2, 3, 4])
def test_cell_bounds_cover_every_index_once(n, cells):
    bounds = cell_bounds(n, cells)
    assert len(bounds) == cells
    assert [i for a, b in bounds for i in range(a, b)] == list(range(n))
    sizes = [b - a for a, b in bounds]
    assert max(sizes) - min(sizes) <= 1


def test_grid_sum_pool_values_at_an_uneven_size():
    x = torch.randn(2, 3, 7, 5, dtype=torch.float64)
    y = GridSumPool(2)(x)
    assert y.shape == (2, 4 * 3)
    # cells: rows [0, 3) [3, 7), columns [0, 2) [2, 5); cell-major output, each sum / sqrt(its positions)
    cells = [x[..., :3, :2], x[..., :3, 2:], x[..., 3:, :2], x[..., 3:, 2:]]
    expected = torch.cat([c.sum(dim=(2, 3)) / (c.shape[2] * c.shape[3]) ** 0.5 for c in cells], dim=1)
    torch.testing.assert_close(y, expected, rtol=1e-12, atol=1e-12)


def test_grid_of_one_cell_is_the_global_pool():
    x = torch.randn(2, 3, 9, 6, dtype=torch.float64)
    torch.testing.assert_close(GridSumPool(1, 4)(x), GlobalSumPool(4)(x), rtol=1e-12, atol=1e-12)


@pytest.mark.parametrize("size", [(4, 4), (7, 5), (9, 9), (2, 3)])
def test_global_pool_is_a_fixed_combination_of_the_cells(size):
    """global = sum_c sqrt(n_c / HW) * cell_c (the identity behind docs/certificates.md, 'The grid pool')."""
    h, w = size
    x = torch.randn(2, 3, h, w, dtype=torch.float64)
    cells = GridSumPool(2, 4)(x).view(2, 4, 3)
    n = torch.tensor([(r1 - r0) * (c1 - c0) for r0, r1 in cell_bounds(h, 2) for c0, c1 in cell_bounds(w, 2)])
    weights = (n.double() / (h * w)).sqrt().view(1, 4, 1)
    torch.testing.assert_close((cells * weights).sum(1), GlobalSumPool(4)(x), rtol=1e-12, atol=1e-12)


@pytest.mark.parametrize("grid", [2, 3, 4])
@pytest.mark.parametrize("size", [*SIZES, (2, 2), (3, 3)])
def test_grid_sum_pool_operator_norm_is_the_global_gain(grid, size):
    """Exact operator norm = the global pool's gain at that size, also with uneven and empty cells."""
    h, w = size
    pool = GridSumPool(grid, ref_positions=4)
    s = _singular_values(pool, 2, h, w)
    gain = pool.gain(h * w)
    record("GridSumPool [exact operator norm / gain]", s.max() / gain)
    assert s.max() <= gain * (1 + 1e-12)
    torch.testing.assert_close(s.max(), torch.tensor(gain, dtype=s.dtype), rtol=1e-12, atol=0)


@pytest.mark.parametrize("size", [(7, 5), (9, 11), (1, 1)])
def test_grid_sum_pool_is_lipschitz_by_power_iteration_and_attack(size):
    pool = GridSumPool(2, ref_positions=4)
    gain = pool.gain(size[0] * size[1])
    x = torch.randn(3, 2, *size, dtype=torch.float64)
    power, adv = check_lipschitz(f"GridSumPool(2, ref 4) at {size} / gain", lambda t: pool(t) / gain, x)
    assert power > 0.99


def test_grid_sum_pool_keeps_layout():
    x = torch.randn(1, 2, 8, 8)
    assert torch.allclose(GlobalSumPool()(x), GlobalSumPool()(x.flip(-1)), atol=1e-6)
    assert not torch.allclose(GridSumPool(2)(x), GridSumPool(2)(x.flip(-1)), atol=1e-3)


@pytest.mark.parametrize("grid", [0, -1, 2.0, True, "2"])
def test_grid_sum_pool_rejects_bad_grid(grid):
    with pytest.raises(ValueError, match=f"grid must be a positive int, got {grid!r}"):
        GridSumPool(grid)
