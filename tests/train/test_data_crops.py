"""Tests for lipsim.train.data.crops: crop boxes, cutting and flipping, FixedCropPool determinism (pinned), errors."""

import numpy as np
import pytest
import torch
from PIL import Image

from lipsim.train.data.crops import CropBox, FixedCropPool, crop_resize, pixels_fingerprint, sample_crop_box
from lipsim.train.data.image_files import ImageFiles, list_images
from lipsim.train.rng import seeded_generator
from tests.train._images import noise_image
from tests.train._photo_folder import make_photo_folder


@pytest.fixture()
def folder(tmp_path):
    return make_photo_folder(tmp_path / "photos")


def _crop(files, i, size, seed, scale=(0.08, 1.0)):
    width, height = files.sizes[i % len(files.files)]
    box = sample_crop_box(width, height, scale, seeded_generator("crop", seed, 0, i))
    return crop_resize(files.image(i % len(files.files)), box, size)


def test_crops_of_every_mode_are_uint8_rgb(folder):
    files = ImageFiles(folder)
    for i in range(10):
        x = _crop(files, i, 24, 0)
        assert x.shape == (3, 24, 24) and x.dtype == torch.uint8


def test_crops_are_a_pure_function_of_the_generator_seed(folder):
    a, b = ImageFiles(folder), ImageFiles(folder, cache=True)
    forward = [_crop(a, i, 16, 5) for i in range(15)]
    backward = [_crop(b, i, 16, 5) for i in reversed(range(15))][::-1]  # other access order, other instance
    assert all(torch.equal(x, y) for x, y in zip(forward, backward))
    assert sum(torch.equal(_crop(a, i, 16, 6), forward[i]) for i in range(15)) < 3


def test_crop_box_draws_four_numbers_whatever_the_image():
    g1, g2 = seeded_generator("b", 1), seeded_generator("b", 1)
    sample_crop_box(640, 480, (0.08, 1.0), g1)
    sample_crop_box(20, 90, (0.5, 0.5), g2, flip=False, side_px=(3, 9))
    assert torch.equal(torch.rand(3, generator=g1), torch.rand(3, generator=g2))


def test_crop_boxes_respect_scale_side_px_and_bounds(folder):
    files = ImageFiles(folder)
    flips = []
    for i in range(100):
        w, h = files.sizes[i % 5]
        short = min(w, h)
        box = sample_crop_box(w, h, (0.25, 0.5), seeded_generator("crop", 0, 0, i))
        assert 0.5 * short - 1 <= box.side <= np.sqrt(0.5) * short + 1
        assert 0 <= box.left <= w - box.side and 0 <= box.top <= h - box.side
        flips.append(box.flipped)
        px = sample_crop_box(w, h, (0.25, 0.5), seeded_generator("px", i), flip=False, side_px=(10, 20))
        assert 10 <= px.side <= 20 and not px.flipped
        assert 0 <= px.left <= w - px.side and 0 <= px.top <= h - px.side
    assert 0.3 < np.mean(flips) < 0.7
    assert sample_crop_box(30, 20, (1.0, 1.0), seeded_generator(0), side_px=(50, 60)).side == 20


def test_crop_content_matches_the_box_and_flip(tmp_path):
    ramp = np.tile(np.linspace(0, 255, 32).astype(np.uint8)[None, :, None], (32, 1, 3))
    Image.fromarray(ramp).save(tmp_path / "ramp.png")
    img = ImageFiles(tmp_path).image(0)
    expected = torch.from_numpy(ramp[16, :, 0]).float()
    for i in range(16):
        box = sample_crop_box(32, 32, (1.0, 1.0), seeded_generator("crop", 0, 0, i))
        assert box.side == 32
        row = crop_resize(img, box, 32)[0, 16].float()
        assert bool(row[-1] > row[0]) != box.flipped
        assert torch.allclose(row, expected.flip(0) if box.flipped else expected, atol=1)
    pool = FixedCropPool(tmp_path, n=8, size=32, scale=(1.0, 1.0))
    for (_, box), crop in zip(pool.records, pool.images):
        assert torch.equal(crop, crop_resize(img, box, 32))
    part = crop_resize(img, CropBox(left=8, top=0, side=16, flipped=False), 16)[0, 0].float()
    assert torch.allclose(part, expected[8:24], atol=1)


def test_fixed_crop_pool_is_seeded_and_prefix_stable(folder):
    pool = FixedCropPool(folder, n=8, size=20, seed=3)
    assert pool.images.shape == (8, 3, 20, 20) and pool.images.dtype == torch.uint8
    again = FixedCropPool(folder, n=8, size=20, seed=3)
    assert torch.equal(pool.images, again.images) and pool.fingerprint() == again.fingerprint()
    assert pool.fingerprint() == pixels_fingerprint(pool.images)
    prefix = FixedCropPool(folder, n=5, size=20, seed=3)
    assert torch.equal(prefix.images, pool.images[:5])
    other = FixedCropPool(folder, n=8, size=20, seed=4)
    assert not torch.equal(other.images, pool.images) and other.fingerprint() != pool.fingerprint()
    files = list_images(folder)
    assert [path for path, _ in pool.records] == [files[i % len(files)] for i in range(8)]
    assert torch.equal(pool[6], pool.images[6]) and len(pool) == 8


def test_fixed_crop_pool_is_pinned(tmp_path):
    # Training runs cache teacher embeddings of these crops keyed by the fingerprint: boxes and pixels must not change.
    Image.fromarray(noise_image(0, 48, 64)).save(tmp_path / "a.png")
    Image.fromarray(noise_image(4, 60, 52)).save(tmp_path / "e.jpg", quality=90)
    pool = FixedCropPool(tmp_path, n=7, size=20, seed=3)
    assert [box for _, box in pool.records][:3] == [
        CropBox(left=8, top=26, side=16, flipped=False),
        CropBox(left=2, top=0, side=50, flipped=False),
        CropBox(left=13, top=4, side=26, flipped=False),
    ]
    assert pool.records[6][1] == CropBox(left=1, top=1, side=42, flipped=True)
    assert pool.fingerprint() == "0b5ad13c64bc770e4e1c91c14cdc55599e1e4a910047aa4301cf58e3f9d5981d"
    px = FixedCropPool(tmp_path, n=7, size=20, seed=3, side_px=(8, 30))
    assert px.records[0][1] == CropBox(left=9, top=31, side=9, flipped=False)
    assert px.fingerprint() == "9b6619f0a2e784e9932d04234365d3e2e27fa90847ef7d9de6735bedd5f1470e"
    assert sample_crop_box(640, 480, (0.08, 1.0), seeded_generator(0)) == CropBox(359, 186, 241, True)


def test_unreadable_file_fails_the_pool_naming_it(folder):
    (folder / "sub" / "broken.png").write_bytes(b"\x89PNG\r\n\x1a\n garbage")
    with pytest.raises(ValueError, match=r"broken\.png"):
        FixedCropPool(folder, n=2, size=8)
    with pytest.warns(UserWarning, match=r"broken\.png"):
        pool = FixedCropPool(folder, n=6, size=8, on_error="skip")
    assert all(path.name != "broken.png" for path, _ in pool.records)


def test_pool_argument_errors(tmp_path):
    Image.fromarray(noise_image(0, 8, 8)).save(tmp_path / "x.png")
    with pytest.raises(ValueError, match="scale must be"):
        FixedCropPool(tmp_path, n=1, scale=(0.0, 1.0))
    with pytest.raises(ValueError, match="n must be a positive int"):
        FixedCropPool(tmp_path, n=0)
    with pytest.raises(ValueError, match="size must be a positive int"):
        FixedCropPool(tmp_path, n=1, size=0)
    with pytest.raises(ValueError, match="side_px must be"):
        FixedCropPool(tmp_path, n=1, side_px=(5, 2))
    with pytest.raises(ValueError, match="does not exist or is not a directory"):
        FixedCropPool(tmp_path / "nope", n=1)
