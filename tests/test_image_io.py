"""load_image: exact PNG round trip, colour modes, alpha compositing, 16-bit, errors."""

from __future__ import annotations

import re
from pathlib import Path

import numpy as np
import pytest
import torch
from PIL import Image

from lipsim import load_image
from lipsim.image_io import pil_to_tensor

EXAMPLES = Path(__file__).resolve().parents[1] / "examples" / "images"


@pytest.fixture
def rgb_u8() -> np.ndarray:
    return np.random.default_rng(0).integers(0, 256, (12, 10, 3), dtype=np.uint8)


def test_png_round_trip_is_exact(tmp_path, rgb_u8):
    Image.fromarray(rgb_u8).save(tmp_path / "a.png")
    x = load_image(tmp_path / "a.png")
    assert x.shape == (3, 12, 10) and x.dtype == torch.float32
    torch.testing.assert_close(x, torch.from_numpy(rgb_u8).permute(2, 0, 1).float() / 255, rtol=0, atol=0)
    torch.testing.assert_close((x * 255).round().to(torch.uint8).permute(1, 2, 0).numpy(), rgb_u8)
    torch.testing.assert_close(load_image(str(tmp_path / "a.png")), x, rtol=0, atol=0)  # str or Path


@pytest.mark.parametrize("fmt", ["bmp", "tiff", "ppm"])
def test_lossless_formats(tmp_path, rgb_u8, fmt):
    Image.fromarray(rgb_u8).save(tmp_path / f"a.{fmt}")
    expected = torch.from_numpy(rgb_u8).permute(2, 0, 1).float() / 255
    torch.testing.assert_close(load_image(tmp_path / f"a.{fmt}"), expected, rtol=0, atol=0)


def test_jpeg_loads(tmp_path, rgb_u8):
    Image.fromarray(rgb_u8).save(tmp_path / "a.jpg", quality=95)
    x = load_image(tmp_path / "a.jpg")
    assert x.shape == (3, 12, 10) and 0 <= x.min() and x.max() <= 1


def test_grayscale_becomes_rgb(tmp_path):
    arr = np.arange(120, dtype=np.uint8).reshape(12, 10)
    Image.fromarray(arr).save(tmp_path / "g.png")
    x = load_image(tmp_path / "g.png")
    assert x.shape == (3, 12, 10)
    for c in range(3):
        torch.testing.assert_close(x[c], torch.from_numpy(arr).float() / 255, rtol=0, atol=0)


def test_16_bit_grayscale_keeps_its_range(tmp_path):
    arr = (np.arange(120, dtype=np.uint16).reshape(12, 10) * 550)  # up to 65450
    Image.fromarray(arr).save(tmp_path / "g16.png")
    x = load_image(tmp_path / "g16.png")
    assert x.shape == (3, 12, 10)
    torch.testing.assert_close(x[1], torch.from_numpy(arr.astype(np.float32)) / 65535, rtol=0, atol=1e-7)
    assert x.max() < 1  # not saturated at white


def test_alpha_is_composited_on_white(tmp_path):
    rgba = np.zeros((2, 2, 4), dtype=np.uint8)
    rgba[0, 0] = (255, 0, 0, 255)  # opaque red
    rgba[0, 1] = (0, 0, 255, 0)  # fully transparent: white
    rgba[1, 0] = (0, 0, 0, 128)  # half-transparent black: mid grey
    rgba[1, 1] = (0, 255, 0, 255)
    Image.fromarray(rgba, mode="RGBA").save(tmp_path / "a.png")
    x = load_image(tmp_path / "a.png")
    torch.testing.assert_close(x[:, 0, 0], torch.tensor([1.0, 0.0, 0.0]))
    torch.testing.assert_close(x[:, 0, 1], torch.ones(3))
    assert abs(float(x[0, 1, 0]) - 127 / 255) <= 1 / 255
    torch.testing.assert_close(x[:, 1, 1], torch.tensor([0.0, 1.0, 0.0]))


def test_palette_with_transparency(tmp_path):
    im = Image.new("P", (2, 1))
    im.putpalette([255, 0, 0, 0, 255, 0] + [0] * 762)
    im.putpixel((0, 0), 0)
    im.putpixel((1, 0), 1)
    im.info["transparency"] = 1
    im.save(tmp_path / "p.png", transparency=1)
    x = load_image(tmp_path / "p.png")
    torch.testing.assert_close(x[:, 0, 0], torch.tensor([1.0, 0.0, 0.0]))
    torch.testing.assert_close(x[:, 0, 1], torch.ones(3))  # transparent index: white


def test_pil_to_tensor_modes():
    assert pil_to_tensor(Image.new("L", (5, 4), 255)).shape == (1, 4, 5)
    torch.testing.assert_close(pil_to_tensor(Image.new("RGB", (5, 4), (0, 51, 255))),
                               torch.tensor([0.0, 0.2, 1.0]).view(3, 1, 1).expand(3, 4, 5))


def test_example_images_load():
    files = sorted(EXAMPLES.glob("*.png"))
    assert len(files) >= 4
    for f in files:
        x = load_image(f)
        assert x.dim() == 3 and x.shape[0] == 3 and 0 <= x.min() and x.max() <= 1


def test_errors(tmp_path):
    missing = tmp_path / "missing.png"
    with pytest.raises(FileNotFoundError, match=f"^{re.escape(f'image file not found: {str(missing)!r}')}$"):
        load_image(missing)
    with pytest.raises(ValueError, match=f"^{re.escape(f'expected an image file, got a directory: {str(tmp_path)!r}')}$"):
        load_image(tmp_path)
    text = tmp_path / "a.png"
    text.write_bytes(b"plain text, not an image")
    with pytest.raises(ValueError, match=f"^{re.escape(f'not a readable image file: {str(text)!r} (UnidentifiedImageError')}"):
        load_image(text)
    Image.fromarray(np.zeros((64, 64, 3), dtype=np.uint8) + 7).save(tmp_path / "t.png")
    data = (tmp_path / "t.png").read_bytes()
    (tmp_path / "t.png").write_bytes(data[: len(data) // 2])  # truncated PNG
    truncated = str(tmp_path / "t.png")
    with pytest.raises(ValueError, match=f"^{re.escape(f'not a readable image file: {truncated!r} (OSError')}"):
        load_image(truncated)
