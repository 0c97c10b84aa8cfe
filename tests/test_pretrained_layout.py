"""Whether the default weights know where things are: on the example photos every layout change (none seen in training)
should be farther than a JPEG copy and "different" at the weights' threshold, while the JPEG copy is "same".

The default weights v5 fail this (their global pool makes them blind to layout; issue 19): the tests are strict
expected failures, so they pass while the defect is there and fail, asking to drop the marks, once weights fix it."""

from pathlib import Path

import pytest
import torch

import lipsim

pytest.importorskip("torchvision")  # lipsim.train.data needs it
from lipsim.train.data.layout_changes import LAYOUT_CHANGES, change_layout  # noqa: E402

IMAGES = Path(__file__).resolve().parents[1] / "examples" / "images"


@pytest.fixture(scope="module")
def model():
    return lipsim.LipSim(pretrained=True)


BLIND = pytest.mark.xfail(strict=True, reason="the default weights v5 are blind to layout (issue 19)")


@BLIND
@pytest.mark.parametrize("name", ["chelsea", "astronaut", "coffee", "rocket"])
def test_every_layout_change_is_farther_than_a_jpeg_copy_and_different(model, name):
    img, jpeg = lipsim.load_image(IMAGES / f"{name}.png"), _jpeg_copy(IMAGES / f"{name}.png", quality=60)
    d_jpeg = model(img, jpeg).item()
    assert d_jpeg <= model.threshold, (name, d_jpeg)
    changed = torch.stack([change_layout(img, c, seed=0) for c in LAYOUT_CHANGES])
    d = model(img.expand_as(changed).contiguous(), changed)
    for c, v in zip(LAYOUT_CHANGES, d.tolist()):
        assert v > d_jpeg and v > model.threshold, (name, c, v, d_jpeg, model.threshold)
    labels = model.certify(img.expand_as(changed).contiguous(), changed, threshold=model.threshold)
    assert not labels.same.any()


@BLIND
def test_the_issue_table_on_chelsea(model):
    """The table that showed v5 calling a mirrored or scrambled photo "the same" (chelsea vs its JPEG copy file)."""
    img, jpeg = lipsim.load_image(IMAGES / "chelsea.png"), lipsim.load_image(IMAGES / "chelsea_jpeg.png")
    d_jpeg = model(img, jpeg).item()
    for c in ("hflip", "vflip", "rot180", "quadrant_swap", "tile_shuffle"):
        d = model(img, change_layout(img, c, seed=0)).item()
        assert d > d_jpeg and d > model.threshold, (c, d, d_jpeg)


def _jpeg_copy(path: Path, quality: int) -> torch.Tensor:
    import io

    from PIL import Image

    buf = io.BytesIO()
    Image.open(path).convert("RGB").save(buf, "JPEG", quality=quality)
    return lipsim.load_image(buf.getvalue())
