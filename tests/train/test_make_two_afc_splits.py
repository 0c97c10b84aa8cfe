"""make-2afc writes what finetune and eval read by default; a missing split names the --split to pass."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from lipsim.train.cli import main
from lipsim.train.data.synthetic_two_afc import VAL_SHARE, make_two_afc, make_two_afc_splits, split_counts
from lipsim.train.two_afc_sets import open_two_afc


@pytest.fixture(scope="module")
def photos(make_photos) -> Path:
    return make_photos(sizes=[(72, 96)] * 3)


def test_split_counts():
    assert VAL_SHARE == 0.2
    assert split_counts(24) == {"train": 19, "val": 5}
    assert split_counts(2) == {"train": 1, "val": 1}
    assert split_counts(10, 0.9) == {"train": 1, "val": 9}
    with pytest.raises(
        ValueError,
        match=r"^n must be an int >= 2 to write both a train and a val split, got 1 "
        r"\(for one split, pass split= to make_two_afc, or --split\)$",
    ):
        split_counts(1)
    with pytest.raises(ValueError, match=r"^val_share must be a share strictly between 0 and 1, got 1\.0$"):
        split_counts(10, 1.0)


def test_default_splits_are_what_finetune_and_eval_read(photos, tmp_path):
    info = make_two_afc_splits(photos, tmp_path, n=10, seed=0, size=16)
    assert {k: v["n"] for k, v in info.items()} == {"train": 8, "val": 2}
    train = open_two_afc(str(tmp_path), "bapps", "train")  # finetune's default split
    val = open_two_afc(str(tmp_path), "bapps")  # eval's default split
    assert sum(len(d) for d in train.values()) == 8 and sum(len(d) for d in val.values()) == 2
    manifest = json.loads((tmp_path / "manifest.json").read_text())
    assert set(manifest["splits"]) == {"train", "val"}


def test_splits_refuse_existing_output_before_writing(photos, tmp_path):
    make_two_afc(photos, tmp_path, n=2, seed=0, size=16, split="val")
    with pytest.raises(
        ValueError, match=r"2afc/val' already exists and is not empty \(pass overwrite=True, or --overwrite\)"
    ):
        make_two_afc_splits(photos, tmp_path, n=4, seed=0, size=16)
    assert not (tmp_path / "2afc" / "train").exists()
    make_two_afc_splits(photos, tmp_path, n=4, seed=0, size=16, overwrite=True)
    assert (tmp_path / "2afc" / "train").is_dir()
    with pytest.raises(ValueError, match=r"^make_two_afc_splits writes the 'train' and 'val' splits"):
        make_two_afc_splits(photos, tmp_path, n=4, seed=0, split="test")


def test_missing_split_names_the_split_to_pass(photos, tmp_path):
    make_two_afc(photos, tmp_path, n=2, seed=0, size=16, split="val")
    base = str(tmp_path / "2afc")
    with pytest.raises(ValueError) as e:
        open_two_afc(str(tmp_path), "bapps", "train")
    assert str(e.value) == (
        f"BAPPS split folder '{base}/train' not found; '{base}' holds split(s) 'val': pass --split val, "
        "or write a 'train' split with lipsim-train make-2afc --split train"
    )
    make_two_afc(photos, tmp_path, n=2, seed=0, size=16, split="test")
    with pytest.raises(
        ValueError, match=r"holds split\(s\) 'test', 'val': pass one of them with --split \(e\.g\. --split test\)"
    ):
        open_two_afc(str(tmp_path), "bapps", "train")


def test_cli_make_two_afc_defaults_and_options(photos, tmp_path, capsys):
    out = tmp_path / "syn"
    assert (
        main(
            [
                "make-2afc",
                "--images",
                str(photos),
                "--out",
                str(out),
                "--n",
                "6",
                "--seed",
                "0",
                "--size",
                "16",
                "--val-share",
                "0.5",
            ]
        )
        == 0
    )
    assert capsys.readouterr().out.strip() == f"{out}: train 3 triplets, val 3 triplets"
    assert (
        main(
            [
                "make-2afc",
                "--images",
                str(photos),
                "--out",
                str(out),
                "--n",
                "4",
                "--seed",
                "0",
                "--size",
                "16",
                "--split",
                "val",
                "--overwrite",
            ]
        )
        == 0
    )
    assert capsys.readouterr().out.strip() == f"{out}: val 4 triplets"
    with pytest.raises(SystemExit) as e:
        main(
            [
                "make-2afc",
                "--images",
                str(photos),
                "--out",
                str(out),
                "--n",
                "4",
                "--seed",
                "0",
                "--split",
                "val",
                "--val-share",
                "0.3",
            ]
        )
    assert e.value.code == 2
    assert capsys.readouterr().err == (
        "lipsim-train: error: --val-share shares --n between the default train and "
        "val splits; drop it, or drop --split\n"
    )
    with pytest.raises(SystemExit):
        main(["make-2afc", "--images", str(photos), "--out", str(out), "--n", "4", "--seed", "0"])
    assert "already exists and is not empty (pass overwrite=True, or --overwrite)" in capsys.readouterr().err
