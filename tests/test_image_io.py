"""The one image-reading path: exact round trips, colour modes and depths, alpha, EXIF orientation, animations,
the pixel limit, non-regular files, and the training loader reading through it."""

from __future__ import annotations

import io
import os
import re
import struct
import threading
import warnings
import zlib
from pathlib import Path

import numpy as np
import pytest
import torch
from PIL import Image, ImageOps

from lipsim import ImageError, load_image
from lipsim.image_io import DEFAULT_MAX_PIXELS, describe_path, load_image_pil, pil_to_tensor
from lipsim.inputs import to_batch

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
    arr = np.arange(120, dtype=np.uint16).reshape(12, 10) * 550  # up to 65450
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
    torch.testing.assert_close(
        pil_to_tensor(Image.new("RGB", (5, 4), (0, 51, 255))),
        torch.tensor([0.0, 0.2, 1.0]).view(3, 1, 1).expand(3, 4, 5),
    )


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
    with pytest.raises(
        ImageError, match=f"^{re.escape(f'expected an image file, got a directory: {str(tmp_path)!r}')}$"
    ):
        load_image(tmp_path)
    text = tmp_path / "a.png"
    text.write_bytes(b"plain text, not an image")
    message = f"not a readable image file: {str(text)!r} (UnidentifiedImageError: not in any image format Pillow reads)"
    with pytest.raises(ImageError, match=f"^{re.escape(message)}$"):
        load_image(text)
    Image.fromarray(np.zeros((64, 64, 3), dtype=np.uint8) + 7).save(tmp_path / "t.png")
    data = (tmp_path / "t.png").read_bytes()
    (tmp_path / "t.png").write_bytes(data[: len(data) // 2])  # truncated PNG
    truncated = str(tmp_path / "t.png")
    with pytest.raises(ValueError, match=f"^{re.escape(f'not a readable image file: {truncated!r} (OSError')}"):
        load_image(truncated)
    msg = (
        "expected an image path (str or os.PathLike), bytes or a binary file object (open(path, 'rb'), "
        "io.BytesIO), got int"
    )
    with pytest.raises(TypeError, match=f"^{re.escape(msg)}$"):
        load_image(3)


# ---------------------------------------------------------------------------------------------- EXIF orientation
def _exif(orientation: int) -> Image.Exif:
    exif = Image.Exif()
    exif[0x0112] = orientation
    return exif


@pytest.mark.parametrize("orientation", range(1, 9))
def test_exif_orientation_is_applied(tmp_path, rgb_u8, orientation):
    """Stored pixels + orientation tag must come out as Pillow's exif_transpose shows them."""
    Image.fromarray(rgb_u8).save(tmp_path / "o.png", exif=_exif(orientation))
    with Image.open(tmp_path / "o.png") as im:
        expected = np.asarray(ImageOps.exif_transpose(im).convert("RGB"))
    x = load_image(tmp_path / "o.png")
    torch.testing.assert_close(x, torch.from_numpy(expected.copy()).permute(2, 0, 1).float() / 255, rtol=0, atol=0)
    assert np.array_equal(np.asarray(load_image_pil(tmp_path / "o.png")), expected)


def test_exif_rotation_by_the_spec(tmp_path, rgb_u8):
    """Orientation 6: the stored image is the upright one turned 90 degrees counter-clockwise (EXIF 2.3)."""
    upright = torch.from_numpy(rgb_u8).permute(2, 0, 1).float() / 255
    Image.fromarray(np.ascontiguousarray(np.rot90(rgb_u8, 1))).save(tmp_path / "six.png", exif=_exif(6))
    Image.fromarray(np.ascontiguousarray(np.rot90(rgb_u8, -1))).save(tmp_path / "eight.png", exif=_exif(8))
    Image.fromarray(np.ascontiguousarray(rgb_u8[::-1, ::-1])).save(tmp_path / "three.png", exif=_exif(3))
    for name in ("six", "eight", "three"):
        torch.testing.assert_close(load_image(tmp_path / f"{name}.png"), upright, rtol=0, atol=0)


def test_exif_orientation_of_16_bit_grayscale(tmp_path):
    arr = np.arange(12, dtype=np.uint16).reshape(3, 4) * 5000
    Image.fromarray(np.ascontiguousarray(np.rot90(arr, 1))).save(tmp_path / "g.tiff", exif=_exif(6))
    torch.testing.assert_close(load_image(tmp_path / "g.tiff")[0], torch.from_numpy(arr.astype(np.float32)) / 65535)


def test_training_loader_reads_through_the_same_path(tmp_path):
    """load_rgb (training) and load_image (metric) agree on orientation and on alpha over white."""
    from lipsim.train.data.image_files import load_rgb

    rgba = np.random.default_rng(1).integers(0, 256, (6, 5, 4), dtype=np.uint8)
    Image.fromarray(rgba, mode="RGBA").save(tmp_path / "a.png", exif=_exif(8))
    metric = (load_image(tmp_path / "a.png") * 255).round().to(torch.uint8)
    train = torch.from_numpy(np.asarray(load_rgb(tmp_path / "a.png")).copy()).permute(2, 0, 1)
    assert metric.shape == (3, 5, 6) and torch.equal(metric, train)
    with pytest.raises(ImageError, match=r"^expected an image file, got a directory: "):
        load_rgb(tmp_path)


# ---------------------------------------------------------------------------------------------- depths and ranges
def test_float_image_in_unit_range_is_kept(tmp_path):
    arr = np.linspace(0, 1, 12, dtype=np.float32).reshape(3, 4)
    Image.fromarray(arr).save(tmp_path / "f.tiff")
    x = load_image(tmp_path / "f.tiff")
    assert x.shape == (3, 3, 4)
    torch.testing.assert_close(x[2], torch.from_numpy(arr), rtol=0, atol=0)  # not black
    with Image.open(tmp_path / "f.tiff") as im:  # a PIL image given to the metric, with expand_gray
        torch.testing.assert_close(to_batch(im, expand_gray=True)[0, 1], torch.from_numpy(arr), rtol=0, atol=0)
    assert np.array_equal(np.asarray(load_image_pil(tmp_path / "f.tiff"))[..., 0], np.rint(arr * 255).astype(np.uint8))


@pytest.mark.parametrize("values, found", [((0.0, 255.0), "[0, 255]"), ((-0.5, 0.5), "[-0.5, 0.5]")])
def test_float_image_outside_unit_range_is_refused(tmp_path, values, found):
    Image.fromarray(np.array([values], dtype=np.float32)).save(tmp_path / "f.tiff")
    msg = (
        f"{str(tmp_path / 'f.tiff')!r}: float image (mode 'F') with values in {found}; float images must hold "
        "intensities in [0, 1] (lipsim does not guess another range): rescale it first"
    )
    with pytest.raises(ImageError, match=f"^{re.escape(msg)}$"):
        load_image(tmp_path / "f.tiff")
    with pytest.raises(ImageError, match=re.escape(f"PIL image: float image (mode 'F') with values in {found}")):
        pil_to_tensor(Image.fromarray(np.array([values], dtype=np.float32)))


def test_non_finite_float_image_is_refused(tmp_path):
    Image.fromarray(np.array([[0.5, np.nan]], dtype=np.float32)).save(tmp_path / "n.tiff")
    with pytest.raises(
        ImageError,
        match=f"^{re.escape(repr(str(tmp_path / 'n.tiff')))}: float image \\(mode 'F'\\) with NaN or infinite values$",
    ):
        load_image(tmp_path / "n.tiff")


def test_int32_image_is_refused_not_saturated(tmp_path):
    Image.fromarray(np.array([[0, 1000, 70000]], dtype=np.int32)).save(tmp_path / "i.tiff")
    msg = (
        f"{str(tmp_path / 'i.tiff')!r}: TIFF image of 32-bit integers (mode 'I') whose white level is unknown; "
        "lipsim reads 8- and 16-bit integer images and float images in [0, 1]: convert it to one of those"
    )
    with pytest.raises(ImageError, match=f"^{re.escape(msg)}$"):
        load_image(tmp_path / "i.tiff")
    with pytest.raises(ImageError, match=r"^PIL image: image of 32-bit integers \(mode 'I'\) whose white level"):
        to_batch(Image.fromarray(np.array([[0, 5]], dtype=np.int32)), expand_gray=True)


def test_16_bit_pgm_opens_as_mode_i_and_keeps_its_range(tmp_path):
    vals = np.array([[0, 500, 65535]], dtype=">u2")
    (tmp_path / "g.pgm").write_bytes(b"P5 3 1 65535\n" + vals.tobytes())
    with Image.open(tmp_path / "g.pgm") as im:
        assert im.mode == "I"  # Pillow's mode for PGM with maxval > 255
    torch.testing.assert_close(load_image(tmp_path / "g.pgm")[0, 0], torch.tensor([0.0, 500 / 65535, 1.0]))


def test_16_bit_tiff(tmp_path):
    arr = np.array([[0, 1000, 65535]], dtype=np.uint16)
    Image.fromarray(arr).save(tmp_path / "g.tiff")
    torch.testing.assert_close(load_image(tmp_path / "g.tiff")[1, 0], torch.tensor([0.0, 1000 / 65535, 1.0]))


# ---------------------------------------------------------------------------------------------- animations
@pytest.mark.parametrize("fmt", ["gif", "tiff"])
def test_animated_and_multi_page_files_warn_and_use_the_first_frame(tmp_path, fmt):
    frames = [Image.new("RGB", (4, 3), (200, 10 * i, 0)) for i in range(3)]
    path = tmp_path / f"anim.{fmt}"
    frames[0].save(path, save_all=True, append_images=frames[1:])
    msg = f"{str(path)!r} holds 3 frames (an animation or multi-page file); only the first frame is used"
    with pytest.warns(UserWarning, match=f"^{re.escape(msg)}$"):
        x = load_image(path)
    with Image.open(path) as im:
        first = torch.from_numpy(np.asarray(im.convert("RGB")).copy()).permute(2, 0, 1).float() / 255
    torch.testing.assert_close(x, first, rtol=0, atol=0)


def test_single_frame_gif_does_not_warn(tmp_path):
    Image.new("RGB", (4, 3), (1, 2, 3)).save(tmp_path / "one.gif")
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        load_image(tmp_path / "one.gif")


# ---------------------------------------------------------------------------------------------- pixel limit
def _png_header_only(path: Path, width: int, height: int) -> Path:
    """A PNG declaring width x height 8-bit gray with a tiny (wrong-length) IDAT: a decompression-bomb header."""

    def chunk(kind: bytes, data: bytes) -> bytes:
        return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data) & 0xFFFFFFFF)

    ihdr = struct.pack(">IIBBBBB", width, height, 8, 0, 0, 0, 0)
    path.write_bytes(
        b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", ihdr) + chunk(b"IDAT", zlib.compress(b"\x00" * 64)) + chunk(b"IEND", b"")
    )
    return path


def test_decompression_bomb_is_a_clear_error_without_pil_warnings(tmp_path):
    bomb = _png_header_only(tmp_path / "bomb.png", 14000, 14000)
    msg = (
        f"{str(bomb)!r} is 14000x14000 = 196,000,000 pixels, more than the limit of {DEFAULT_MAX_PIXELS:,}; "
        "raise it with max_pixels= (lipsim-compare --max-pixels) if the file is trusted"
    )
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # Pillow's DecompressionBombWarning would fail the test
        with pytest.raises(ImageError, match=f"^{re.escape(msg)}$"):
            load_image(bomb)
        big = _png_header_only(tmp_path / "big.png", 10000, 10000)  # under Pillow's error limit, over ours
        with pytest.raises(ImageError, match=r"is 10000x10000 = 100,000,000 pixels, more than the limit"):
            load_image(big)
    assert DEFAULT_MAX_PIXELS == 8192 * 8192


def test_max_pixels_is_ours_and_replaces_pillows(tmp_path, rgb_u8, monkeypatch):
    Image.fromarray(rgb_u8).save(tmp_path / "a.png")  # 12 x 10 = 120 pixels
    with pytest.raises(ImageError, match=r"is 10x12 = 120 pixels, more than the limit of 119; "):
        load_image(tmp_path / "a.png", max_pixels=119)
    assert load_image(tmp_path / "a.png", max_pixels=120).shape == (3, 12, 10)
    monkeypatch.setattr(Image, "MAX_IMAGE_PIXELS", 20)  # Pillow would raise (120 > 2 x 20)
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        assert load_image(tmp_path / "a.png").shape == (3, 12, 10)
        assert load_image(tmp_path / "a.png", max_pixels=None).shape == (3, 12, 10)
    assert Image.MAX_IMAGE_PIXELS == 20  # restored


@pytest.mark.parametrize("bad", [0, -5, 1.5, True, "10"])
def test_bad_max_pixels(tmp_path, bad):
    with pytest.raises(
        ValueError, match=rf"^max_pixels must be a positive int or None \(no limit\), got {re.escape(repr(bad))}$"
    ):
        load_image(tmp_path / "whatever.png", max_pixels=bad)


# ---------------------------------------------------------------------------------------------- non-regular files
def _in_thread(fn, timeout: float = 20.0):
    """Run fn in a daemon thread; fail (instead of hanging the suite) if it does not return in time."""
    out: dict[str, object] = {}

    def target() -> None:
        try:
            out["value"] = fn()
        except BaseException as e:  # noqa: BLE001 - handed back to the test
            out["error"] = e

    t = threading.Thread(target=target, daemon=True)
    t.start()
    t.join(timeout)
    assert not t.is_alive(), f"still blocked after {timeout} s"
    if "error" in out:
        raise out["error"]  # type: ignore[misc]
    return out.get("value")


@pytest.mark.skipif(not hasattr(os, "mkfifo"), reason="no FIFOs on this platform")
def test_fifo_is_refused_without_blocking(tmp_path):
    fifo = tmp_path / "pipe.png"
    os.mkfifo(fifo)
    assert describe_path(fifo) == "FIFO (named pipe)"
    with pytest.raises(
        ImageError, match=f"^{re.escape(f'expected an image file, got a FIFO (named pipe): {str(fifo)!r}')}$"
    ):
        _in_thread(lambda: load_image(fifo))


@pytest.mark.skipif(not os.path.exists("/dev/null"), reason="no /dev/null")
def test_device_is_refused():
    with pytest.raises(ImageError, match=r"^expected an image file, got a character device: '/dev/null'$"):
        _in_thread(lambda: load_image("/dev/null"))


def test_symlinks(tmp_path, rgb_u8):
    Image.fromarray(rgb_u8).save(tmp_path / "a.png")
    (tmp_path / "link.png").symlink_to(tmp_path / "a.png")
    torch.testing.assert_close(load_image(tmp_path / "link.png"), load_image(tmp_path / "a.png"), rtol=0, atol=0)
    (tmp_path / "loop1").symlink_to(tmp_path / "loop2")
    (tmp_path / "loop2").symlink_to(tmp_path / "loop1")
    assert describe_path(tmp_path / "loop1") == "symbolic link loop"
    loop = str(tmp_path / "loop1")
    with pytest.raises(
        ImageError, match=f"^{re.escape(f'expected an image file, got a symbolic link loop: {loop!r}')}$"
    ):
        load_image(loop)
    (tmp_path / "dangling.png").symlink_to(tmp_path / "gone.png")
    msg = (
        f"expected an image file, got a broken symbolic link: {str(tmp_path / 'dangling.png')!r} -> "
        f"{str(tmp_path / 'gone.png')!r}, which does not exist"
    )
    with pytest.raises(ImageError, match=f"^{re.escape(msg)}$"):
        load_image(tmp_path / "dangling.png")
    assert describe_path(tmp_path / "nothing") == "missing"
    assert describe_path(tmp_path / "a.png" / "below") == "missing"


# ---------------------------------------------------------------------------------------------- header only
def test_image_size_from_the_header(tmp_path, rgb_u8):
    from lipsim.image_io import image_size

    Image.fromarray(rgb_u8).save(tmp_path / "a.png")  # 12 rows x 10 columns
    Image.fromarray(rgb_u8).save(tmp_path / "r.png", exif=_exif(6))  # shown turned by 90 degrees
    assert image_size(tmp_path / "a.png") == (10, 12)
    assert image_size(tmp_path / "r.png") == (12, 10) == tuple(load_image(tmp_path / "r.png").shape[:0:-1])
    bomb = _png_header_only(tmp_path / "bomb.png", 14000, 14000)
    with pytest.raises(ImageError, match=r"is 14000x14000 = 196,000,000 pixels, more than the limit of "):
        image_size(bomb)
    assert image_size(bomb, max_pixels=None) == (14000, 14000)
    with pytest.raises(ImageError, match=r"^expected an image file, got a directory: "):
        image_size(tmp_path)


# ---------------------------------------------------------------------------------------------- bytes and file objects
def test_bytes_and_binary_file_objects_read_like_the_path(tmp_path, rgb_u8):
    path = tmp_path / "a.png"
    Image.fromarray(rgb_u8).save(path)
    expected = load_image(path)
    data = path.read_bytes()
    for source in (data, bytearray(data), memoryview(data), io.BytesIO(data)):
        torch.testing.assert_close(load_image(source), expected, rtol=0, atol=0)
    with open(path, "rb") as f:
        f.read(5)  # read from the start wherever the position is, as Pillow does
        torch.testing.assert_close(load_image(f), expected, rtol=0, atol=0)
        assert not f.closed  # the caller's file stays open
    with open(path, "rb", buffering=0) as raw:  # an unbuffered io.FileIO
        torch.testing.assert_close(load_image(raw), expected, rtol=0, atol=0)
    assert np.array_equal(np.asarray(load_image_pil(io.BytesIO(data))), rgb_u8)


def test_bytes_get_the_same_policy(tmp_path, rgb_u8):
    """EXIF orientation, alpha over white, 16-bit gray, float range, animations: as for paths."""
    from lipsim.image_io import image_size

    buf = io.BytesIO()
    Image.fromarray(np.ascontiguousarray(np.rot90(rgb_u8, 1))).save(buf, format="PNG", exif=_exif(6))
    upright = torch.from_numpy(rgb_u8).permute(2, 0, 1).float() / 255
    torch.testing.assert_close(load_image(buf.getvalue()), upright, rtol=0, atol=0)
    assert image_size(buf.getvalue()) == (10, 12) and image_size(buf) == (10, 12)
    buf = io.BytesIO()
    Image.new("RGBA", (3, 2), (255, 0, 0, 0)).save(buf, format="PNG")
    torch.testing.assert_close(load_image(buf), torch.ones(3, 2, 3), rtol=0, atol=0)
    buf = io.BytesIO()
    Image.fromarray(np.full((2, 3), 65535, dtype=np.uint16)).save(buf, format="PNG")
    torch.testing.assert_close(load_image(buf), torch.ones(3, 2, 3), rtol=0, atol=0)
    buf = io.BytesIO()
    Image.fromarray(np.full((2, 2), 3.0, dtype=np.float32)).save(buf, format="TIFF")
    msg = (
        f"image bytes ({len(buf.getvalue()):,} bytes): float image (mode 'F') with values in [3, 3]; float images "
        "must hold intensities in [0, 1] (lipsim does not guess another range): rescale it first"
    )
    with pytest.raises(ImageError, match=f"^{re.escape(msg)}$"):
        load_image(buf.getvalue())
    buf = io.BytesIO()
    frames = [Image.new("RGB", (4, 4), c) for c in ("red", "blue")]
    frames[0].save(buf, format="GIF", save_all=True, append_images=frames[1:])
    with pytest.warns(UserWarning, match=r"^BytesIO object holds 2 frames \(an animation or multi-page file\); only"):
        assert load_image(buf).shape == (3, 4, 4)


def test_pixel_limit_applies_to_bytes_and_file_objects(tmp_path):
    bomb = _png_header_only(tmp_path / "bomb.png", 14000, 14000)
    data = bomb.read_bytes()
    limit = f"196,000,000 pixels, more than the limit of {DEFAULT_MAX_PIXELS:,}; raise it with max_pixels="
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # no Pillow DecompressionBombWarning either
        with pytest.raises(ImageError, match=f"^image bytes \\({len(data):,} bytes\\) is 14000x14000 = {limit}"):
            load_image(data)
        with pytest.raises(ImageError, match=f"^BytesIO object is 14000x14000 = {limit}"):
            load_image(io.BytesIO(data))
        with open(bomb, "rb") as f, pytest.raises(ImageError, match=f"^BufferedReader {str(bomb)!r} is 14000x14000"):
            load_image(f)


def test_bytes_and_file_objects_that_are_not_images(tmp_path):
    message = "not a readable image: {} (UnidentifiedImageError: not in any image format Pillow reads)"
    with pytest.raises(ImageError, match=f"^{re.escape(message.format('image bytes (9 bytes)'))}$"):
        load_image(b"not a png")
    with pytest.raises(ImageError, match=f"^{re.escape(message.format('image bytes (0 bytes)'))}$"):
        load_image(b"")
    with pytest.raises(ImageError, match=f"^{re.escape(message.format('BytesIO object'))}$"):
        load_image(io.BytesIO(b"not a png"))
    notes = tmp_path / "notes.png"
    notes.write_text("plain text")
    with (
        open(notes, "rb") as f,
        pytest.raises(ImageError, match=f"^{re.escape(message.format(f'BufferedReader {str(notes)!r}'))}$"),
    ):
        load_image(f)
    Image.new("RGB", (64, 64), (7, 7, 7)).save(tmp_path / "t.png")
    data = (tmp_path / "t.png").read_bytes()
    with pytest.raises(ImageError, match=r"^not a readable image: image bytes \(\d+ bytes\) \(OSError: "):
        load_image(data[: len(data) // 2])  # truncated


def test_text_mode_and_closed_file_objects_are_refused(tmp_path, rgb_u8):
    path = tmp_path / "a.png"
    Image.fromarray(rgb_u8).save(path)
    with open(path, encoding="latin-1") as f:
        msg = (
            f"expected a binary file object, got a text-mode one: TextIOWrapper {str(path)!r} (mode 'r'); "
            "open the file with open(path, 'rb')"
        )
        with pytest.raises(ImageError, match=f"^{re.escape(msg)}$"):
            load_image(f)
    msg = "expected a binary file object, got a text-mode one: StringIO object; open the file with open(path, 'rb')"
    with pytest.raises(ImageError, match=f"^{re.escape(msg)}$"):
        load_image(io.StringIO("text"))
    with open(path, "rb") as f:
        pass
    msg = f"cannot read an image from BufferedReader {str(path)!r}: the file object is closed"
    with pytest.raises(ImageError, match=f"^{re.escape(msg)}$"):
        load_image(f)
    with pytest.raises(TypeError, match=r"^expected an image path \(str or os\.PathLike\), bytes or a binary file"):
        load_image([b"not", b"bytes"])
