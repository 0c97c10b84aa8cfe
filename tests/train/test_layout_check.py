"""Layout changes (each a permutation of positions) and the layout check on a small photo folder."""

from __future__ import annotations

import pytest
import torch

from lipsim.errors import UnknownNameError
from lipsim.train.data.layout_changes import LAYOUT_CHANGES, change_layout
from lipsim.train.layout_check import layout_check, layout_triplets
from tests.train._packages import require


@pytest.mark.parametrize("change", LAYOUT_CHANGES)
@pytest.mark.parametrize("size", [(16, 16), (17, 23)])
def test_every_change_moves_pixels_and_keeps_their_values(change, size):
    x = torch.rand(3, *size)
    y = change_layout(x, change, seed=3)
    assert y.shape == x.shape and not torch.equal(x, y)
    torch.testing.assert_close(y.flatten().sort().values, x.flatten().sort().values, rtol=0, atol=0)


def test_tile_shuffle_is_seeded():
    x = torch.rand(3, 16, 16)
    torch.testing.assert_close(change_layout(x, "tile_shuffle", 5), change_layout(x, "tile_shuffle", 5))
    assert not torch.equal(change_layout(x, "tile_shuffle", 5), change_layout(x, "tile_shuffle", 6))


def test_unknown_change_is_a_clear_error():
    with pytest.raises(UnknownNameError, match="unknown layout change 'shear'; choose one of hflip, vflip"):
        change_layout(torch.rand(3, 8, 8), "shear")


@pytest.fixture(scope="module")
def photos(make_photos):
    return make_photos()


def test_layout_triplets_shapes(photos):
    require("torchvision")  # the distortions
    refs, copies, changed = layout_triplets(photos, size=32, limit=3)
    assert refs.shape == copies.shape == (3, 3, 32, 32)
    assert list(changed) == list(LAYOUT_CHANGES) and all(v.shape == refs.shape for v in changed.values())


def test_pixel_distance_tells_layout_changes_from_mild_copies(photos):
    """Pixel MSE knows where things are: a mild copy is nearer than any rearrangement of a photo."""
    require("torchvision")
    mse = lambda x, y: (x - y).pow(2).flatten(1).mean(1)  # noqa: E731
    result = layout_check(mse, photos, size=32, threshold=1e-9)
    assert result["two_afc"] > 0.9 and result["called_same"] == 0.0
    assert set(result["by_change"]) == set(LAYOUT_CHANGES)
    blind = layout_check(lambda x, y: (x.mean((1, 2, 3)) - y.mean((1, 2, 3))).abs(), photos, size=32)
    assert blind["by_change"]["hflip"]["two_afc"] < 0.5  # a position-free statistic: a mirror is (almost) the same
