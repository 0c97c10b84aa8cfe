"""Tests for lipsim.train.data.image_files: listing, colour modes, unreadable and truncated files, errors."""

import pytest
import torch
from PIL import Image

from lipsim.train.data.image_files import ImageFiles, list_images, load_rgb, pil_to_uint8, read_image
from tests.train._images import noise_image
from tests.train._photo_folder import make_photo_folder


@pytest.fixture()
def folder(tmp_path):
    return make_photo_folder(tmp_path / "photos")


def test_lists_images_recursively_sorted_and_skips_other_files(folder):
    names = [p.relative_to(folder).as_posix() for p in list_images(folder)]
    assert names == ["a_rgb.png", "e.JPG", "sub/b_gray.png", "sub/c_rgba.png", "sub/deeper/d_palette.gif"]


def test_every_mode_becomes_rgb_with_its_size(folder):
    files = ImageFiles(folder)
    assert files.files == list_images(folder) and files.root == folder
    assert files.sizes == [(64, 48), (52, 60), (40, 40), (36, 50), (44, 36)]
    for i, path in enumerate(files.files):
        img = files.image(i)
        assert img.mode == "RGB" and img.size == files.sizes[i]
        x = read_image(path)
        assert x.shape == (3, img.size[1], img.size[0]) and x.dtype == torch.float32
        assert 0.0 <= x.min().item() and x.max().item() <= 1.0
        assert torch.equal(pil_to_uint8(load_rgb(path)), (x * 255).round().to(torch.uint8))
    gray = read_image(folder / "sub" / "b_gray.png")
    assert torch.equal(gray[0], gray[1]) and torch.equal(gray[1], gray[2])
    assert read_image(folder / "a_rgb.png", image_size=(20, 24)).shape == (3, 20, 24)


def test_cache_keeps_decoded_images(folder):
    cached = ImageFiles(folder, cache=True)
    assert cached.image(2) is cached.image(2)
    plain = ImageFiles(folder)
    assert plain.image(2) is not plain.image(2)


def test_unreadable_file_raises_naming_it_or_is_skipped_with_warning(folder):
    (folder / "sub" / "broken.png").write_bytes(b"\x89PNG\r\n\x1a\n garbage")
    with pytest.raises(ValueError, match=r"broken\.png.*on_error='skip'"):
        ImageFiles(folder)
    with pytest.warns(UserWarning, match=r"broken\.png"):
        files = ImageFiles(folder, on_error="skip")
    assert len(files.files) == 5 and all(p.name != "broken.png" for p in files.files)


def test_truncated_file_found_by_verify_or_when_decoded(folder):
    data = (folder / "e.JPG").read_bytes()
    (folder / "e.JPG").write_bytes(data[: len(data) // 3])
    files = ImageFiles(folder)  # header is fine
    with pytest.raises(ValueError, match=r"e\.JPG"):
        for i in range(len(files.files)):
            files.image(i)
    with pytest.raises(ValueError, match=r"e\.JPG"):
        ImageFiles(folder, verify=True)


def test_folder_and_argument_errors(tmp_path):
    with pytest.raises(ValueError, match="does not exist or is not a directory"):
        ImageFiles(tmp_path / "nope")
    (tmp_path / "empty").mkdir()
    (tmp_path / "empty" / "readme.txt").write_text("x")
    with pytest.raises(ValueError, match="no readable images"):
        ImageFiles(tmp_path / "empty")
    Image.fromarray(noise_image(0, 8, 8)).save(tmp_path / "x.png")
    with pytest.raises(ValueError, match="on_error must be one of"):
        ImageFiles(tmp_path, on_error="ignore")
