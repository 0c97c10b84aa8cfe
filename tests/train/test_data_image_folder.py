"""Tests for lipsim.train.data.image_folder: listing, modes, crops, views, determinism, errors."""

import numpy as np
import pytest
import torch
from PIL import Image

from lipsim.train.data.image_folder import (
    FixedCropPool,
    ImageFolderCrops,
    jitter_view,
    lipsim_views,
    list_images,
    read_image,
    seeded_generator,
)
from tests.train._images import noise_image


@pytest.fixture()
def folder(tmp_path):
    root = tmp_path / "photos"
    (root / "sub" / "deeper").mkdir(parents=True)
    Image.fromarray(noise_image(0, 48, 64)).save(root / "a_rgb.png")
    Image.fromarray(noise_image(1, 40, 40)[..., 0]).save(root / "sub" / "b_gray.png")
    rgba = np.concatenate([noise_image(2, 50, 36), np.full((50, 36, 1), 128, np.uint8)], axis=2)
    Image.fromarray(rgba, "RGBA").save(root / "sub" / "c_rgba.png")
    Image.fromarray(noise_image(3, 36, 44)).convert("P").save(root / "sub" / "deeper" / "d_palette.gif")
    Image.fromarray(noise_image(4, 60, 52)).save(root / "e.JPG", quality=90)
    (root / "notes.txt").write_text("not an image")
    Image.fromarray(noise_image(5, 8, 8)).save(root / ".hidden.png")
    return root


def test_lists_images_recursively_sorted_and_skips_other_files(folder):
    names = [p.relative_to(folder).as_posix() for p in list_images(folder)]
    assert names == ["a_rgb.png", "e.JPG", "sub/b_gray.png", "sub/c_rgba.png", "sub/deeper/d_palette.gif"]


def test_every_mode_becomes_rgb_and_items_have_the_right_shape(folder):
    ds = ImageFolderCrops(folder, size=24, seed=0, crops_per_image=2)
    assert len(ds) == 10
    for i in range(len(ds)):
        x = ds[i]
        assert x.shape == (3, 24, 24) and x.dtype == torch.float32
        assert 0.0 <= x.min().item() and x.max().item() <= 1.0
    gray = read_image(folder / "sub" / "b_gray.png")
    assert gray.shape == (3, 40, 40) and torch.equal(gray[0], gray[1]) and torch.equal(gray[1], gray[2])


def test_items_are_a_pure_function_of_index_seed_and_epoch(folder):
    a = ImageFolderCrops(folder, size=16, seed=5, crops_per_image=3)
    b = ImageFolderCrops(folder, size=16, seed=5, crops_per_image=3)
    forward = [a[i] for i in range(len(a))]
    backward = [b[i] for i in reversed(range(len(b)))][::-1]  # other access order, other instance
    assert all(torch.equal(x, y) for x, y in zip(forward, backward))
    a.set_epoch(1)
    assert sum(torch.equal(a[i], forward[i]) for i in range(len(a))) < 3
    a.set_epoch(0)
    assert torch.equal(a[4], forward[4])
    c = ImageFolderCrops(folder, size=16, seed=6, crops_per_image=3)
    assert sum(torch.equal(c[i], forward[i]) for i in range(len(c))) < 3


def test_crop_boxes_respect_scale_and_bounds(folder):
    ds = ImageFolderCrops(folder, size=16, scale=(0.25, 0.5), seed=0, crops_per_image=20)
    files = ds.files
    sizes = {f: Image.open(f).size for f in files}
    flips = []
    for i in range(len(ds)):
        path, box = ds.crop_box(i)
        assert path == files[i % len(files)]
        w, h = sizes[path]
        short = min(w, h)
        assert 0.5 * short - 1 <= box.side <= np.sqrt(0.5) * short + 1
        assert 0 <= box.left <= w - box.side and 0 <= box.top <= h - box.side
        flips.append(box.flipped)
    assert 0.3 < np.mean(flips) < 0.7


def test_crop_content_matches_the_box_and_flip(tmp_path):
    ramp = np.tile(np.linspace(0, 255, 32).astype(np.uint8)[None, :, None], (32, 1, 3))
    Image.fromarray(ramp).save(tmp_path / "ramp.png")
    ds = ImageFolderCrops(tmp_path, size=32, scale=(1.0, 1.0), seed=0, crops_per_image=16)
    for i in range(len(ds)):
        _, box = ds.crop_box(i)
        assert box.side == 32
        row = ds.crop(i)[0, 16].float()
        increasing = bool(row[-1] > row[0])
        assert increasing != box.flipped
        assert torch.allclose(row, torch.from_numpy(ramp[16, :, 0]).float().flip(0) if box.flipped
                              else torch.from_numpy(ramp[16, :, 0]).float(), atol=1)


def test_two_views_share_view_a_and_b_is_jittered(folder):
    single = ImageFolderCrops(folder, size=16, seed=1, crops_per_image=4)
    pairs = ImageFolderCrops(folder, size=16, seed=1, crops_per_image=4, two_views=True)
    changed = 0
    for i in range(len(single)):
        a, b = pairs[i]
        assert torch.equal(a, single[i])
        assert b.shape == a.shape and 0.0 <= b.min().item() and b.max().item() <= 1.0
        changed += not torch.allclose(a, b)
        assert torch.equal(pairs[i][1], b)
    assert changed >= len(single) // 2


def test_jitter_view_components():
    a = torch.rand(3, 12, 12, generator=torch.Generator().manual_seed(0))
    assert torch.equal(jitter_view(a, seeded_generator(0), p_jitter=0.0, p_gray=0.0), a)
    gray = jitter_view(a, seeded_generator(0), p_jitter=0.0, p_gray=1.0)
    assert torch.equal(gray[0], gray[1]) and torch.equal(gray[1], gray[2])
    expected = (0.299 * a[0] + 0.587 * a[1] + 0.114 * a[2])
    assert torch.allclose(gray[0], expected, atol=1e-3)
    half = a * 0.5
    bright = jitter_view(half, seeded_generator(3), contrast=0, saturation=0, hue=0, p_jitter=1.0, p_gray=0.0)
    ratio = (bright / half.clamp_min(1e-6)).flatten()
    assert torch.allclose(ratio, ratio[0].expand_as(ratio), atol=1e-3) and 0.6 <= ratio[0] <= 1.4
    assert not torch.allclose(ratio[0], torch.tensor(1.0))


def test_lipsim_views_deterministic_and_flip_drawn():
    crop = (torch.rand(3, 10, 10, generator=torch.Generator().manual_seed(1)) * 255).to(torch.uint8)
    a1, b1 = lipsim_views(crop, seeded_generator("v", 0))
    a2, b2 = lipsim_views(crop, seeded_generator("v", 0))
    assert torch.equal(a1, a2) and torch.equal(b1, b2)
    base = crop.float() / 255
    flipped = [not torch.equal(lipsim_views(crop, seeded_generator("v", s))[0], base) for s in range(40)]
    assert 10 < sum(flipped) < 30
    assert all(torch.equal(lipsim_views(crop, seeded_generator("v", s), flip=False)[0], base) for s in range(5))
    with pytest.raises(ValueError, match=r"shape \(3, H, W\)"):
        lipsim_views(crop[None], seeded_generator(0))


def test_fixed_crop_pool_is_seeded_and_prefix_stable(folder):
    pool = FixedCropPool(folder, n=8, size=20, seed=3)
    assert pool.images.shape == (8, 3, 20, 20) and pool.images.dtype == torch.uint8
    again = FixedCropPool(folder, n=8, size=20, seed=3)
    assert torch.equal(pool.images, again.images) and pool.fingerprint() == again.fingerprint()
    prefix = FixedCropPool(folder, n=5, size=20, seed=3)
    assert torch.equal(prefix.images, pool.images[:5])
    other = FixedCropPool(folder, n=8, size=20, seed=4)
    assert not torch.equal(other.images, pool.images) and other.fingerprint() != pool.fingerprint()
    files = list_images(folder)
    assert [path for path, _ in pool.records] == [files[i % len(files)] for i in range(8)]
    assert torch.equal(pool[6], pool.images[6]) and len(pool) == 8


def test_unreadable_file_raises_naming_it_or_is_skipped_with_warning(folder):
    (folder / "sub" / "broken.png").write_bytes(b"\x89PNG\r\n\x1a\n garbage")
    with pytest.raises(ValueError, match=r"broken\.png.*on_error='skip'"):
        ImageFolderCrops(folder, size=16)
    with pytest.warns(UserWarning, match=r"broken\.png"):
        ds = ImageFolderCrops(folder, size=16, on_error="skip")
    assert len(ds) == 5 and all(p.name != "broken.png" for p in ds.files)
    with pytest.raises(ValueError, match=r"broken\.png"):
        FixedCropPool(folder, n=2, size=8)


def test_truncated_file_found_by_verify(folder):
    data = (folder / "e.JPG").read_bytes()
    (folder / "e.JPG").write_bytes(data[: len(data) // 3])
    ds = ImageFolderCrops(folder, size=16)  # header is fine
    with pytest.raises(ValueError, match=r"e\.JPG"):
        for i in range(len(ds)):
            ds[i]
    with pytest.raises(ValueError, match=r"e\.JPG"):
        ImageFolderCrops(folder, size=16, verify=True)


def test_folder_and_argument_errors(tmp_path):
    with pytest.raises(ValueError, match="does not exist or is not a directory"):
        ImageFolderCrops(tmp_path / "nope")
    (tmp_path / "empty").mkdir()
    (tmp_path / "empty" / "readme.txt").write_text("x")
    with pytest.raises(ValueError, match="no readable images"):
        ImageFolderCrops(tmp_path / "empty")
    Image.fromarray(noise_image(0, 8, 8)).save(tmp_path / "x.png")
    with pytest.raises(ValueError, match="scale must be"):
        ImageFolderCrops(tmp_path, scale=(0.0, 1.0))
    with pytest.raises(ValueError, match="on_error must be one of"):
        ImageFolderCrops(tmp_path, on_error="ignore")
    with pytest.raises(IndexError, match="out of range"):
        ImageFolderCrops(tmp_path, size=8)[3]
