"""Tests for lipsim.train.data.nights on small fixture trees in the real NIGHTS layout."""

import csv
import zlib

import pytest
import torch
from PIL import Image

from lipsim.train.data.nights import NIGHTS
from tests.train._images import noise_image

HEADER = ["id", "votes", "right_share", "left_vote", "ref_path", "left_path", "right_path", "split", "is_imagenet"]
# (id, votes, p, split, is_imagenet)
ROWS = [
    (0, 6, 0.0, "train", True),
    (1, 10, 1.0, "train", False),
    (2, 5, 0.4, "val", True),
    (3, 8, 0.75, "val", False),
    (4, 6, 0.5, "test", True),
    (5, 7, 1 / 7, "test", True),
    (6, 4, 0.25, "test", True),
    (7, 9, 2 / 3, "test", False),
    (8, 6, 1.0, "test", False),
    (9, 6, 0.0, "test", False),
]


def _write_tree(root, rows=ROWS, header=HEADER, order=None):
    root.mkdir(parents=True, exist_ok=True)
    order = order or list(range(len(header)))
    with open(root / "data.csv", "w", newline="") as fh:
        w = csv.writer(fh)
        w.writerow([header[i] for i in order])
        for rid, votes, p, split, imnet in rows:
            folder = f"{rid // 4:03d}"
            stem = f"{folder}/{rid:03d}"
            rel = (f"ref/{stem}.png", f"distort/{stem}_0.png", f"distort/{stem}_1.png")
            for r in rel:
                (root / r).parent.mkdir(parents=True, exist_ok=True)
                Image.fromarray(noise_image(zlib.crc32(r.encode()), 20, 20)).save(root / r)
            full = [rid, votes, p, 0, *rel, split, imnet]
            w.writerow([full[i] for i in order])
    return root


@pytest.fixture()
def nights(tmp_path):
    return _write_tree(tmp_path / "nights")


def test_test_split_filters_votes(nights):
    ds = NIGHTS(nights, split="test", image_size=None)
    assert [ds[i]["id"] for i in range(len(ds))] == ["4", "5", "7", "8", "9"]  # id 6 has 4 votes
    assert torch.allclose(ds.judges, torch.tensor([0.5, 1 / 7, 2 / 3, 1.0, 0.0]))
    assert len(NIGHTS(nights, split="test", min_votes=0, image_size=None)) == 6
    assert len(NIGHTS(nights, split="test", min_votes=7, image_size=None)) == 2


def test_imagenet_filter_partitions_the_split(nights):
    both = NIGHTS(nights, split="test", image_size=None)
    inet = NIGHTS(nights, split="test", imagenet=True, image_size=None)
    rest = NIGHTS(nights, split="test", imagenet=False, image_size=None)
    assert len(inet) == 2 and len(rest) == 3 and len(inet) + len(rest) == len(both)
    assert {inet[i]["category"] for i in range(len(inet))} == {"imagenet"}
    assert {rest[i]["category"] for i in range(len(rest))} == {"no_imagenet"}


def test_item_values_map_left_to_p0_and_right_to_p1(nights):
    item = NIGHTS(nights, split="val", image_size=None)[0]
    assert item["id"] == "3" and item["p"].dtype == torch.float32 and item["p"].item() == 0.75
    for key, rel in (("ref", "ref/000/003.png"), ("p0", "distort/000/003_0.png"), ("p1", "distort/000/003_1.png")):
        expected = torch.from_numpy(noise_image(zlib.crc32(rel.encode()), 20, 20)).permute(2, 0, 1).float() / 255
        assert torch.equal(item[key], expected), key


def test_named_columns_are_found_by_name(tmp_path):
    order = [0, 1, 2, 3, 4, 5, 6, 8, 7]  # is_imagenet before split
    root = _write_tree(tmp_path / "n", order=order)
    ds = NIGHTS(root, split="test", imagenet=False, image_size=None)
    assert [ds[i]["id"] for i in range(len(ds))] == ["7", "8", "9"]


def test_resize_bicubic_then_clamp(nights):
    ds = NIGHTS(nights, split="test", image_size=48)
    item = ds[0]
    assert item["ref"].shape == (3, 48, 48) and item["p1"].shape == (3, 48, 48)
    assert item["ref"].min().item() >= 0.0 and item["ref"].max().item() <= 1.0
    raw = NIGHTS(nights, split="test", image_size=None)[0]["ref"]
    unclamped = torch.nn.functional.interpolate(raw[None], size=(48, 48), mode="bicubic", antialias=True)[0]
    assert unclamped.max() > 1.0 or unclamped.min() < 0.0  # random pixels overshoot: clamping matters
    assert torch.allclose(item["ref"], unclamped.clamp(0, 1))
    assert NIGHTS(nights, split="test")[0]["ref"].shape == (3, 224, 224)  # default size


def test_missing_csv(tmp_path):
    with pytest.raises(ValueError, match=r"data\.csv.*not found"):
        NIGHTS(tmp_path)


def test_missing_named_column(tmp_path):
    header = HEADER[:-1] + ["imagenet"]
    root = _write_tree(tmp_path / "n", header=header)
    with pytest.raises(ValueError, match=r"missing \['is_imagenet'\]"):
        NIGHTS(root)


def test_too_few_columns(tmp_path):
    root = tmp_path / "n"
    root.mkdir()
    (root / "data.csv").write_text("id,votes,split,is_imagenet\n0,6,test,True\n")
    with pytest.raises(ValueError, match="at least 7 columns"):
        NIGHTS(root)


def test_split_without_rows(nights):
    with pytest.raises(ValueError, match=r"no rows with split='holdout'.*splits present: \['test', 'train', 'val'\]"):
        NIGHTS(nights, split="holdout")
    with pytest.raises(ValueError, match=r"split='val', votes >= 9.*2 rows of that split"):
        NIGHTS(nights, split="val", min_votes=9)
    with pytest.raises(ValueError, match=r"is_imagenet=True"):
        NIGHTS(nights, split="val", imagenet=True)  # the only imagenet val row has 5 votes


def test_missing_image_files_are_named(nights):
    (nights / "distort/001/005_1.png").unlink()
    (nights / "ref/002/008.png").unlink()
    with pytest.raises(ValueError, match=r"missing.*'distort/001/005_1\.png', 'ref/002/008\.png'"):
        NIGHTS(nights, split="test")
    assert len(NIGHTS(nights, split="train", image_size=None)) == 2  # other splits unaffected


def test_p_outside_unit_interval(tmp_path):
    rows = ROWS[:4] + [(4, 6, 1.5, "test", True)]
    root = _write_tree(tmp_path / "n", rows=rows)
    with pytest.raises(ValueError, match=r"line 6: p \(column 2\) must be a share in \[0, 1\], got 1\.5"):
        NIGHTS(root, split="test")


@pytest.mark.parametrize(
    "row, message",
    [
        ((4, "many", 0.5, "test", True), r"votes must be a number, got 'many'"),
        ((4, 6, "half", "test", True), r"p \(column 2\) must be a number, got 'half'"),
        ((4, 6, 0.5, "test", "maybe"), r"is_imagenet must be True or False, got 'maybe'"),
    ],
)
def test_unparsable_values(tmp_path, row, message):
    root = _write_tree(tmp_path / "n", rows=[row])
    with pytest.raises(ValueError, match=message):
        NIGHTS(root, split="test")


def test_ragged_row(nights):
    with open(nights / "data.csv", "a") as fh:
        fh.write("99,6,0.5\n")
    with pytest.raises(ValueError, match=r"line 12: expected 9 fields like the header, got 3"):
        NIGHTS(nights)


def test_imagenet_argument_type(nights):
    with pytest.raises(TypeError, match="imagenet must be True, False or None"):
        NIGHTS(nights, imagenet="yes")
