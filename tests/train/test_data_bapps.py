"""Tests for lipsim.train.data.bapps on small fixture trees in the real BAPPS layout."""

import zlib

import numpy as np
import pytest
import torch
from PIL import Image

from lipsim.train.data.bapps import BAPPS2AFC
from tests.train._images import noise_image

SIDE = 16


def _write(root, split: str, category: str, judges: dict[str, float]) -> None:
    base = root / "2afc" / split / category
    for sub in ("ref", "p0", "p1", "judge"):
        (base / sub).mkdir(parents=True, exist_ok=True)
    for stem, p in judges.items():
        for j, sub in enumerate(("ref", "p0", "p1")):
            pixels = noise_image(zlib.crc32(f"{category}/{stem}/{j}".encode()), SIDE, SIDE)
            Image.fromarray(pixels).save(base / sub / f"{stem}.png")
        np.save(base / "judge" / f"{stem}.npy", np.array([p], dtype=np.float32))


@pytest.fixture()
def bapps(tmp_path):
    root = tmp_path / "bapps"
    _write(root, "val", "traditional", {"000000": 0.0, "000001": 0.75, "000002": 1.0})
    _write(root, "val", "cnn", {"000000": 0.25, "000001": 0.5})
    _write(root, "train", "traditional", {"000000": 0.6})
    return root


def test_parses_every_category_with_values(bapps):
    ds = BAPPS2AFC(bapps, split="val")
    assert ds.categories == ["cnn", "traditional"] and len(ds) == 5
    assert ds.judges.tolist() == [0.25, 0.5, 0.0, 0.75, 1.0]
    item = ds[3]
    assert item["category"] == "traditional" and item["id"] == "000001"
    assert item["p"].dtype == torch.float32 and item["p"].shape == () and item["p"].item() == 0.75
    for sub in ("ref", "p0", "p1"):
        stored = np.array(Image.open(bapps / "2afc/val/traditional" / sub / "000001.png"))
        expected = torch.from_numpy(stored).permute(2, 0, 1).float() / 255
        assert item[sub].shape == (3, SIDE, SIDE) and torch.equal(item[sub], expected)
    assert not torch.equal(item["p0"], item["p1"])


def test_category_subset_split_and_resize(bapps):
    ds = BAPPS2AFC(bapps, split="val", categories=["traditional"], image_size=24)
    assert len(ds) == 3 and {ds[i]["category"] for i in range(3)} == {"traditional"}
    assert ds[0]["ref"].shape == (3, 24, 24)
    assert 0.0 <= ds[0]["ref"].min().item() and ds[0]["ref"].max().item() <= 1.0
    train = BAPPS2AFC(bapps, split="train")
    assert len(train) == 1 and train[0]["p"].item() == pytest.approx(0.6)


def test_loads_in_a_dataloader(bapps):
    batch = next(iter(torch.utils.data.DataLoader(BAPPS2AFC(bapps), batch_size=4)))
    assert batch["ref"].shape == (4, 3, SIDE, SIDE) and batch["p"].shape == (4,)
    assert batch["category"][:2] == ["cnn", "cnn"]


def test_missing_split_folder(bapps):
    with pytest.raises(ValueError, match=r"2afc[/\\]test.*not found"):
        BAPPS2AFC(bapps, split="test")
    with pytest.raises(ValueError, match="not found"):
        BAPPS2AFC(bapps / "2afc", split="val")  # root one level too deep


def test_missing_requested_category(bapps):
    with pytest.raises(ValueError, match=r"superres.*not found"):
        BAPPS2AFC(bapps, categories=["traditional", "superres"])


def test_category_lacking_a_subfolder(bapps):
    for f in (bapps / "2afc/val/cnn/judge").iterdir():
        f.unlink()
    (bapps / "2afc/val/cnn/judge").rmdir()
    with pytest.raises(ValueError, match=r"cnn.*lacks subfolder\(s\) \['judge'\]"):
        BAPPS2AFC(bapps)


def test_mismatched_ids(bapps):
    (bapps / "2afc/val/traditional/p1/000002.png").unlink()
    with pytest.raises(ValueError, match=r"ids differ.*traditional.*000002"):
        BAPPS2AFC(bapps)


def test_extra_judge_without_images(bapps):
    np.save(bapps / "2afc/val/cnn/judge/000009.npy", np.array([0.5], dtype=np.float32))
    with pytest.raises(ValueError, match=r"judge/ has 000009"):
        BAPPS2AFC(bapps)


@pytest.mark.parametrize(
    "value, message",
    [
        (np.array([1.5], dtype=np.float32), r"holds 1\.5, expected a share in \[0, 1\]"),
        (np.array([np.nan], dtype=np.float32), r"expected a share in \[0, 1\]"),
        (np.array([0.2, 0.3], dtype=np.float32), r"one number in \[0, 1\].*shape \(2,\)"),
        (np.array(["a"]), r"one number"),
    ],
)
def test_bad_judge_values(bapps, value, message):
    np.save(bapps / "2afc/val/cnn/judge/000001.npy", value)
    with pytest.raises(ValueError, match=message):
        BAPPS2AFC(bapps)


def test_unreadable_judge_file(bapps):
    (bapps / "2afc/val/cnn/judge/000001.npy").write_bytes(b"not numpy")
    with pytest.raises(ValueError, match=r"000001\.npy.*not a readable \.npy"):
        BAPPS2AFC(bapps)


def test_empty_split_and_empty_category(tmp_path):
    (tmp_path / "2afc" / "val").mkdir(parents=True)
    with pytest.raises(ValueError, match="no category folders"):
        BAPPS2AFC(tmp_path)
    for sub in ("ref", "p0", "p1", "judge"):
        (tmp_path / "2afc" / "val" / "color" / sub).mkdir(parents=True)
    with pytest.raises(ValueError, match=r"color.*holds no triplets"):
        BAPPS2AFC(tmp_path)
