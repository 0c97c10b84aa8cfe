"""Input validation: every bad input fails with its exact message; every good format gives the same batch."""

from __future__ import annotations

import re

import numpy as np
import pytest
import torch
from PIL import Image

from lipsim.inputs import to_batch
from tests._helpers import tiny_model


@pytest.fixture(scope="module")
def model():
    return tiny_model("efficient", dtype=torch.float32)


@pytest.fixture
def u8() -> torch.Tensor:
    g = torch.Generator().manual_seed(0)
    return torch.randint(0, 256, (3, 16, 16), generator=g, dtype=torch.uint8)


def _save(tmp_path, arr: np.ndarray, name: str = "img.png", mode: str | None = None) -> str:
    path = tmp_path / name
    Image.fromarray(arr, mode=mode).save(path) if mode else Image.fromarray(arr).save(path)
    return str(path)


# ---------------------------------------------------------------------------------------------- good inputs
def test_float_tensors_pass_through():
    x = torch.rand(2, 3, 8, 8)
    assert to_batch(x) is x
    assert to_batch(x[0]).shape == (1, 3, 8, 8)
    assert to_batch(x.half()).dtype == torch.float16
    assert to_batch(torch.zeros(1, 3, 2, 2)).shape == (1, 3, 2, 2) and to_batch(torch.ones(3, 2, 2)).max() == 1


def test_uint8_pil_and_path_agree_with_float(tmp_path, u8, model):
    x = u8.float() / 255
    path = _save(tmp_path, u8.permute(1, 2, 0).numpy())
    pil = Image.open(path)
    for other in (u8, u8[None], pil, path, tmp_path / "img.png", [path], [u8]):
        torch.testing.assert_close(to_batch(other), x[None], rtol=0, atol=0)  # PNG round trip of uint8 is exact
    ref = model(x, x.flip(-1))
    for a, b in ((u8, u8.flip(-1)), (path, x.flip(-1)), (pil, u8.flip(-1))):
        torch.testing.assert_close(model(a, b), ref, rtol=0, atol=0)


def test_lists_are_stacked():
    a, b = torch.rand(3, 4, 4), torch.rand(3, 4, 4, dtype=torch.float64)
    out = to_batch([a, b])
    assert out.shape == (2, 3, 4, 4) and out.dtype == torch.float64
    assert to_batch((a, a)).dtype == torch.float32


def test_grayscale_with_expand_gray(tmp_path, model):
    g = torch.rand(2, 1, 16, 16)
    torch.testing.assert_close(to_batch(g, expand_gray=True), g.expand(2, 3, 16, 16), rtol=0, atol=0)
    arr = np.arange(256, dtype=np.uint8).reshape(16, 16)
    expected = torch.from_numpy(arr).float().div(255).expand(1, 3, 16, 16)
    torch.testing.assert_close(to_batch(Image.fromarray(arr), expand_gray=True), expected, rtol=0, atol=0)
    path = _save(tmp_path, arr, "gray.png")
    torch.testing.assert_close(to_batch(path), expected, rtol=0, atol=0)  # load_image always gives RGB
    m = tiny_model("efficient", dtype=torch.float32, expand_gray=True)
    torch.testing.assert_close(m(g, g.expand(2, 3, 16, 16)), torch.zeros(2), rtol=0, atol=1e-7)


def test_16_bit_grayscale_pil_is_rescaled():
    arr = np.arange(256, dtype=np.uint16).reshape(16, 16) * 257  # full 16-bit range
    out = to_batch(Image.fromarray(arr), expand_gray=True)
    torch.testing.assert_close(out[0, 0], torch.from_numpy(arr.astype(np.float32) / 65535), rtol=0, atol=1e-7)


# ---------------------------------------------------------------------------------------------- bad inputs
@pytest.mark.parametrize(
    "value, counts", [(float("nan"), "1 NaN, 0 inf"), (float("inf"), "0 NaN, 1 inf"), (-float("inf"), "0 NaN, 1 inf")]
)
def test_non_finite(model, value, counts):
    x = torch.rand(2, 3, 16, 16)
    x[1, 2, 3, 4] = value
    msg = f"img0: contains non-finite values ({counts}); expected values in [0, 1]"
    with pytest.raises(ValueError, match=f"^{re.escape(msg)}$"):
        model(x, torch.rand(2, 3, 16, 16))


def test_out_of_range(model):
    x = torch.rand(1, 3, 16, 16) * 0.5
    x[0, 0, 0, :2] = torch.tensor([1.5, 0.0])
    with pytest.raises(
        ValueError,
        match=r"^img1: float values must be in \[0, 1\], got min=0, max=1.5; "
        r"uint8-range floats convert with x / 255$",
    ):
        model(torch.rand(1, 3, 16, 16), x)
    y = torch.rand(1, 3, 16, 16) * 2 - 1
    y[0, 0, 0, :2] = torch.tensor([-0.75, 0.5])
    lo, hi = float(y.min()), float(y.max())
    msg = (
        f"img0: float values must be in [0, 1], got min={lo:.6g}, max={hi:.6g}; "
        "images in [-1, 1] (the LPIPS convention): pass value_range=(-1, 1) to LipSim, or use (x + 1) / 2"
    )
    with pytest.raises(ValueError, match=f"^{re.escape(msg)}$"):
        model(y, torch.rand(1, 3, 16, 16))
    with pytest.raises(ValueError, match=r"^x: float values must be in \[0, 1\], got min=0, max=300$"):
        to_batch(torch.tensor([0.0, 300.0]).view(1, 1, 1, 2).expand(1, 3, 1, 2), "x")


def test_wrong_channels(model):
    with pytest.raises(
        ValueError, match=re.escape("img0: expected 3 channels (RGB) in dim 1, got 4 in shape (2, 4, 16, 16)") + "$"
    ):
        model(torch.rand(2, 4, 16, 16), torch.rand(2, 3, 16, 16))
    with pytest.raises(
        ValueError, match=re.escape("got 16 in shape (1, 16, 16, 3) (channels-last? use x.permute(0, 3, 1, 2))") + "$"
    ):
        to_batch(torch.rand(16, 16, 3))


def test_grayscale_without_expand_gray(model):
    msg = (
        "img0: expected 3 channels (RGB), got 1 in shape (2, 1, 16, 16); "
        "pass expand_gray=True to replicate grayscale over 3 channels"
    )
    with pytest.raises(ValueError, match=f"^{re.escape(msg)}$"):
        model(torch.rand(2, 1, 16, 16), torch.rand(2, 3, 16, 16))
    msg = (
        "x: expected an RGB image, got a grayscale PIL image (mode 'L'); "
        "pass expand_gray=True to replicate it over 3 channels"
    )
    with pytest.raises(ValueError, match=f"^{re.escape(msg)}$"):
        to_batch(Image.new("L", (4, 4)), "x")


def test_mismatched_batch_sizes(model):
    with pytest.raises(ValueError, match=r"^batch sizes differ: img0 has 2 images, img1 has 3; expected the same"):
        model(torch.rand(2, 3, 16, 16), torch.rand(3, 3, 16, 16))


@pytest.mark.parametrize("shape", [(16, 16), (1, 1, 3, 16, 16), (3,)])
def test_wrong_rank(shape):
    msg = f"image: expected shape (C, H, W) or (N, C, H, W), got {shape} (rank {len(shape)})"
    with pytest.raises(ValueError, match=f"^{re.escape(msg)}$"):
        to_batch(torch.rand(shape))


def test_empty_inputs():
    with pytest.raises(ValueError, match=re.escape("image: empty image batch of shape (0, 3, 4, 4)")):
        to_batch(torch.rand(0, 3, 4, 4))
    with pytest.raises(ValueError, match=r"^image: empty list of images$"):
        to_batch([])


def test_list_of_different_sizes():
    with pytest.raises(
        ValueError, match=r"^image: images in a list must share one size, got sizes \[\(4, 4\), \(5, 5\)\]$"
    ):
        to_batch([torch.rand(3, 4, 4), torch.rand(3, 5, 5)])
    with pytest.raises(ValueError, match=r"^image\[1\]: expected 3 channels"):
        to_batch([torch.rand(3, 4, 4), torch.rand(2, 4, 4)])


@pytest.mark.parametrize("dtype", [torch.int64, torch.bool, torch.int32, torch.complex64])
def test_bad_dtype(model, dtype):
    msg = f"img0: expected a float tensor in [0, 1] or a uint8 tensor in [0, 255], got dtype {dtype}"
    with pytest.raises(TypeError, match=f"^{re.escape(msg)}$"):
        model(torch.zeros(1, 3, 16, 16, dtype=dtype), torch.rand(1, 3, 16, 16))


def test_unsupported_types(model):
    msg = (
        "img0: expected a torch.Tensor, PIL.Image.Image, path or list of those, got ndarray; "
        "for numpy arrays use torch.from_numpy(a).permute(2, 0, 1)"
    )
    with pytest.raises(TypeError, match=f"^{re.escape(msg)}$"):
        model(np.zeros((16, 16, 3), dtype=np.float32), torch.rand(1, 3, 16, 16))
    with pytest.raises(
        TypeError,
        match=r"^image: expected a torch.Tensor, PIL.Image.Image, path or list of those, "
        r"got int$",
    ):
        to_batch(3)


def test_not_an_image_file(tmp_path, model):
    bad = tmp_path / "notes.png"
    bad.write_text("this is not a png")
    msg = f"not a readable image file: {str(bad)!r} (UnidentifiedImageError: not in any image format Pillow reads)"
    with pytest.raises(ValueError, match=f"^{re.escape(msg)}$"):
        model(str(bad), torch.rand(1, 3, 16, 16))


def test_missing_file(tmp_path, model):
    missing = tmp_path / "nope.png"
    with pytest.raises(FileNotFoundError, match=f"^{re.escape(f'image file not found: {str(missing)!r}')}$"):
        model(missing, torch.rand(1, 3, 16, 16))


def test_directory_path(tmp_path):
    with pytest.raises(
        ValueError, match=f"^{re.escape(f'expected an image file, got a directory: {str(tmp_path)!r}')}$"
    ):
        to_batch(tmp_path)


@pytest.mark.parametrize("mode", ["RGBA", "LA"])
def test_pil_with_alpha(model, mode):
    msg = (
        f"img0: PIL image has an alpha channel (mode {mode!r}); expected RGB. "
        "Use image.convert('RGB') or lipsim.load_image(path)"
    )
    with pytest.raises(ValueError, match=f"^{re.escape(msg)}$"):
        model(Image.new(mode, (16, 16)), torch.rand(1, 3, 16, 16))
