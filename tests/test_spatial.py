"""Difference maps (``spatial=True``): where two images differ, at the caller's size; a planted local edit is where
the map is hot."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
import torch

import lipsim
from lipsim.spatial import stage_features
from tests._helpers import structured_images, tiny_model

pytestmark = pytest.mark.usefixtures("single_thread")

EXAMPLES = Path(__file__).resolve().parents[1] / "examples" / "images"


def _planted(x: torch.Tensor, top: int, left: int, size: int) -> tuple[torch.Tensor, torch.Tensor]:
    """``x`` with a bright yellow square pasted at (top, left), and the (H, W) mask of the square."""
    y = x.clone()
    y[..., top : top + size, left : left + size] = torch.tensor([1.0, 0.9, 0.2], dtype=x.dtype).view(3, 1, 1)
    mask = torch.zeros(x.shape[-2:], dtype=torch.bool)
    mask[top : top + size, left : left + size] = True
    return y, mask


def test_planted_edit_is_where_the_default_model_map_is_hot():
    model = lipsim.LipSim()
    x = lipsim.load_image(EXAMPLES / "chelsea.png")  # 256 x 256
    y, mask = _planted(x, 20, 180, 48)  # top-right corner
    m = model.difference_map(x, y)
    assert m.shape == (1, 1, 256, 256)
    inside, outside = float(m[0, 0][mask].mean()), float(m[0, 0][~mask].mean())
    assert inside > 10 * outside, (inside, outside)
    hot = m[0, 0] > 0.5 * float(m.max())
    assert float((hot & mask).sum()) / float(hot.sum()) > 0.5  # most of the hot area is on the square
    torch.testing.assert_close(model(x, y, spatial=True), m, rtol=0, atol=0)
    assert float(model.difference_map(x, x).max()) == 0.0


@pytest.mark.parametrize("size", [(16, 16), (21, 27), (40, 24)])
def test_shape_follows_the_caller_and_identical_images_give_zero(size):
    model = tiny_model("efficient")
    x = structured_images(2, max(size), seed=1)[..., : size[0], : size[1]]
    y = structured_images(2, max(size), seed=2)[..., : size[0], : size[1]]
    m = model.difference_map(x, y)
    assert m.shape == (2, 1, *size) and m.dtype == torch.float64
    assert (m >= 0).all() and (m <= 4).all() and float(m.min()) < float(m.max())
    assert float(model.difference_map(x, x.clone()).max()) == 0.0


def test_planted_edit_on_a_tiny_model():
    model = tiny_model("efficient", widths=(8, 16), image_size=32)
    x = structured_images(1, 48, seed=3)[0]
    y, mask = _planted(x, 30, 2, 12)  # bottom-left
    m = model.difference_map(x, y)[0, 0]
    assert float(m[mask].mean()) > 3 * float(m[~mask].mean())


def test_one_against_a_batch_and_value_range():
    model = tiny_model("efficient")
    x, ys = structured_images(1, 16, seed=1), structured_images(3, 16, seed=2)
    m = model.difference_map(x, ys)
    torch.testing.assert_close(m, model.difference_map(x.expand(3, -1, -1, -1), ys), rtol=1e-12, atol=1e-15)
    torch.testing.assert_close(model.difference_map(ys, x), m, rtol=1e-12, atol=1e-15)
    signed = tiny_model("efficient", value_range=(-1, 1))
    torch.testing.assert_close(signed.difference_map(x * 2 - 1, ys * 2 - 1), m, rtol=1e-12, atol=1e-15)


def test_the_map_is_differentiable():
    model = tiny_model("efficient")
    x = structured_images(1, 16, seed=1).requires_grad_(True)
    model(x, structured_images(1, 16, seed=2), spatial=True).sum().backward()
    assert x.grad is not None and torch.isfinite(x.grad).all() and float(x.grad.abs().sum()) > 0


def test_stages_are_the_last_map_at_each_resolution():
    model = tiny_model("efficient", widths=(8, 16, 32), image_size=32)  # stem 2, then 2 and 2
    x = torch.rand(1, 3, 32, 32, dtype=torch.float64)
    stages = stage_features(model.backbone.features, x)
    assert [(tuple(f.shape[1:]), cell) for f, cell in stages] == [((8, 16, 16), 2), ((16, 8, 8), 4), ((32, 4, 4), 8)]
    torch.testing.assert_close(stages[-1][0], model.backbone.features(x), rtol=0, atol=0)


def test_errors():
    model = tiny_model("efficient")
    msg = (
        "a difference map needs two images of one size, got img0 16x16 and img1 16x20 (height x width); "
        "resize one of them first"
    )
    with pytest.raises(ValueError, match=f"^{re.escape(msg)}$"):
        model.difference_map(torch.rand(1, 3, 16, 16), torch.rand(1, 3, 16, 20))
    with pytest.raises(ValueError, match=r"^batch sizes differ: img0 has 2 images, img1 has 3; expected the same"):
        model(torch.rand(2, 3, 16, 16), torch.rand(3, 3, 16, 16), spatial=True)
    msg = (
        "a difference map needs a backbone with convolutional feature maps (backbone.features, as in arch "
        "'efficient'); arch 'paper-small' has none"
    )
    with pytest.raises(ValueError, match=f"^{re.escape(msg)}$"):
        tiny_model("paper-small").difference_map(torch.rand(1, 3, 16, 16), torch.rand(1, 3, 16, 16))
