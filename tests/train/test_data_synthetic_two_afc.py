"""Tests for lipsim.train.data.synthetic_two_afc: layout, labels, determinism, manifest, errors."""

import csv
import hashlib
import json

import numpy as np
import pytest
import torch
from PIL import Image

from lipsim.train.data.bapps import BAPPS2AFC
from lipsim.train.data.distortions import FAMILIES, MILD_FAMILIES
from lipsim.train.data.synthetic_two_afc import make_two_afc

skdata = pytest.importorskip("skimage.data")


@pytest.fixture(scope="module")
def photos(tmp_path_factory):
    root = tmp_path_factory.mktemp("photos")
    for name, (h, w) in {"astronaut": (96, 96), "chelsea": (60, 90), "coffee": (80, 120)}.items():
        img = Image.fromarray(getattr(skdata, name)()).resize((w, h), Image.Resampling.BOX)
        (root / "sub").mkdir(exist_ok=True)
        img.save(root / ("sub" if name == "coffee" else "") / f"{name}.png")
    Image.open(root / "astronaut.png").transpose(Image.Transpose.ROTATE_90).save(root / "rot.jpg", quality=92)
    return root


def mse_metric(x0: torch.Tensor, x1: torch.Tensor) -> torch.Tensor:
    return ((x0 - x1) ** 2).flatten(1).mean(1)


def _files(root):
    return {p.relative_to(root).as_posix(): p.read_bytes() for p in sorted(root.rglob("*")) if p.is_file()}


def test_layout_counts_and_loadable(photos, tmp_path):
    info = make_two_afc(photos, tmp_path / "out", n=16, seed=0, size=32)
    assert info["counts"] == {f: (3 if i < 2 else 2) for i, f in enumerate(FAMILIES)}
    split = tmp_path / "out" / "2afc" / "val"
    assert sorted(p.name for p in split.iterdir()) == sorted(FAMILIES)
    for sub in ("ref", "p0", "p1"):
        assert sorted(p.name for p in (split / "noise" / sub).iterdir()) == ["000000.png", "000001.png", "000002.png"]
    judge = np.load(split / "blur" / "judge" / "000001.npy")
    assert judge.dtype == np.float32 and judge.shape == (1,) and judge[0] in (0.0, 1.0)
    ds = BAPPS2AFC(tmp_path / "out", split="val")
    assert len(ds) == 16 and ds[0]["ref"].shape == (3, 32, 32)
    assert set(ds.judges.tolist()) <= {0.0, 1.0}


def test_severity_labels_point_at_the_milder_distortion(photos, tmp_path):
    make_two_afc(photos, tmp_path / "out", n=42, seed=1, size=32)
    ds = BAPPS2AFC(tmp_path / "out")
    sides = []
    for i in range(len(ds)):
        item = ds[i]
        d0 = mse_metric(item["ref"][None], item["p0"][None]).item()
        d1 = mse_metric(item["ref"][None], item["p1"][None]).item()
        assert (d1 < d0) == (item["p"].item() == 1.0), (item["category"], item["id"], d0, d1)
        sides.append(item["p"].item())
    assert 0.25 < np.mean(sides) < 0.75  # the milder one goes to both sides
    with open(tmp_path / "out" / "triplets_val.csv") as fh:
        rows = list(csv.DictReader(fh))
    assert len(rows) == 42
    for row in rows:
        s0, s1 = float(row["strength0"]), float(row["strength1"])
        mild, strong = sorted((s0, s1))
        assert 0.1 <= mild <= 0.35 and 0.65 <= strong <= 1.0
        assert float(row["judge"]) == (1.0 if s1 < s0 else 0.0)


def test_same_seed_gives_byte_identical_files(photos, tmp_path):
    kwargs = dict(n=10, seed=7, size=24, cross_family=0.3, reference_metric=mse_metric)
    make_two_afc(photos, tmp_path / "a", **kwargs)
    make_two_afc(photos, tmp_path / "b", **kwargs)
    a, b = _files(tmp_path / "a"), _files(tmp_path / "b")
    assert len(a) == 4 * 10 + 2 and a == b
    make_two_afc(photos, tmp_path / "c", **{**kwargs, "seed": 8})
    c = _files(tmp_path / "c")
    differing = [k for k in a if k.endswith(".png") and a[k] != c.get(k)]
    assert len(differing) > 20


def test_cross_family_labelled_by_reference_metric(photos, tmp_path):
    calls = []

    def metric(x0, x1):
        calls.append(tuple(x0.shape))
        assert x0.dtype == torch.float32 and 0.0 <= x0.min() and x1.max() <= 1.0
        return mse_metric(x0, x1)

    info = make_two_afc(photos, tmp_path / "out", n=20, seed=2, size=32, cross_family=0.25, reference_metric=metric)
    assert info["counts"]["cross"] == 5 and sum(info["counts"].values()) == 20
    assert calls == [(5, 3, 32, 32), (5, 3, 32, 32)]
    ds = BAPPS2AFC(tmp_path / "out", categories=["cross"])
    assert len(ds) == 5
    for i in range(5):
        item = ds[i]
        d0 = mse_metric(item["ref"][None], item["p0"][None]).item()
        d1 = mse_metric(item["ref"][None], item["p1"][None]).item()
        assert item["p"].item() == (1.0 if d1 < d0 else 0.0 if d0 < d1 else 0.5)
    assert info["reference_metric"] == "test_cross_family_labelled_by_reference_metric.<locals>.metric"


def test_copy_triplets_put_a_mild_copy_against_another_photo(photos, tmp_path):
    kwargs = dict(n=16, seed=5, size=32, copies=0.5, cross_family=0.25, reference_metric=mse_metric)
    info = make_two_afc(photos, tmp_path / "out", **kwargs)
    assert info["counts"]["copy"] == 8 and info["counts"]["cross"] == 4 and sum(info["counts"].values()) == 16
    assert info["copies"] == 0.5 and info["copy_range"] == [0.05, 0.3]
    with open(tmp_path / "out" / "triplets_val.csv") as fh:
        rows = [r for r in csv.DictReader(fh) if r["category"] == "copy"]
    ds = BAPPS2AFC(tmp_path / "out", categories=["copy"])
    assert len(rows) == len(ds) == 8
    for i, row in enumerate(rows):
        copy_side = 1 if row["family0"] == "other-photo" else 0
        family, strength = row[f"family{copy_side}"], float(row[f"strength{copy_side}"])
        assert family in MILD_FAMILIES and 0.05 <= strength <= 0.3 and row[f"family{1 - copy_side}"] == "other-photo"
        assert row["other_source"] not in ("", row["source"]) and float(row["judge"]) == copy_side
        item = ds[i]
        d = [mse_metric(item["ref"][None], item[f"p{k}"][None]).item() for k in (0, 1)]
        assert d[copy_side] < d[1 - copy_side] and item["p"].item() == copy_side
    assert {r["judge"] for r in rows} == {"0.0", "1.0"}  # the copy goes to both sides
    with pytest.raises(ValueError, match="copies must be a share in"):
        make_two_afc(photos, tmp_path / "x", n=4, seed=0, copies=0.8, cross_family=0.5, reference_metric=mse_metric)
    (tmp_path / "one").mkdir()
    Image.open(photos / "astronaut.png").save(tmp_path / "one" / "a.png")
    with pytest.raises(ValueError, match="copy triplets need at least 2 photos"):
        make_two_afc(tmp_path / "one", tmp_path / "y", n=4, seed=0, copies=0.5)


def test_ties_get_one_half(photos, tmp_path):
    make_two_afc(
        photos,
        tmp_path / "out",
        n=3,
        seed=0,
        size=16,
        cross_family=1.0,
        reference_metric=lambda x0, x1: torch.zeros(x0.shape[0]),
    )
    ds = BAPPS2AFC(tmp_path / "out")
    assert ds.categories == ["cross"] and ds.judges.tolist() == [0.5, 0.5, 0.5]


def test_manifest_records_sources_and_settings(photos, tmp_path):
    make_two_afc(photos, tmp_path / "out", n=7, seed=3, size=16)
    make_two_afc(photos, tmp_path / "out", n=7, seed=4, size=16, split="train", families=("blur", "noise"))
    manifest = json.loads((tmp_path / "out" / "manifest.json").read_text())
    assert "lipsim_version" in manifest and set(manifest["splits"]) == {"train", "val"}
    val = manifest["splits"]["val"]
    assert (val["seed"], val["n"], val["size"], val["families"]) == (3, 7, 16, list(FAMILIES))
    assert manifest["splits"]["train"]["families"] == ["blur", "noise"]
    assert manifest["splits"]["train"]["counts"] == {"blur": 4, "noise": 3}
    paths = [s["path"] for s in val["sources"]]
    assert paths == ["astronaut.png", "chelsea.png", "rot.jpg", "sub/coffee.png"]
    for src in val["sources"]:
        assert src["sha256"] == hashlib.sha256((photos / src["path"]).read_bytes()).hexdigest()
    assert val["sources"][2]["width"] == 96


def test_existing_output_needs_overwrite(photos, tmp_path):
    make_two_afc(photos, tmp_path / "out", n=7, seed=0, size=16)
    before = _files(tmp_path / "out")
    with pytest.raises(ValueError, match=r"already exists.*overwrite=True"):
        make_two_afc(photos, tmp_path / "out", n=7, seed=0, size=16)
    (tmp_path / "out" / "2afc" / "val" / "noise" / "ref" / "000099.png").write_bytes(b"stale")
    make_two_afc(photos, tmp_path / "out", n=7, seed=0, size=16, overwrite=True)
    assert _files(tmp_path / "out") == before


def test_argument_errors(photos, tmp_path):
    out = tmp_path / "out"
    with pytest.raises(ValueError, match=r"cross-family triplets.*pass reference_metric"):
        make_two_afc(photos, out, n=10, seed=0, cross_family=0.5)
    with pytest.raises(ValueError, match="families must be distinct names"):
        make_two_afc(photos, out, n=10, seed=0, families=("blur", "fog"))
    with pytest.raises(ValueError, match="at least two families"):
        make_two_afc(photos, out, n=10, seed=0, families=("blur",), cross_family=0.5, reference_metric=mse_metric)
    with pytest.raises(ValueError, match="cross_family must be a share"):
        make_two_afc(photos, out, n=10, seed=0, cross_family=1.5, reference_metric=mse_metric)
    with pytest.raises(ValueError, match="n must be a positive int"):
        make_two_afc(photos, out, n=0, seed=0)
    with pytest.raises(ValueError, match="split must be a plain folder name"):
        make_two_afc(photos, out, n=3, seed=0, split="../x")
    with pytest.raises(ValueError, match="must lie entirely below"):
        make_two_afc(photos, out, n=3, seed=0, mild_range=(0.1, 0.7))
    (tmp_path / "empty").mkdir()
    with pytest.raises(ValueError, match="no readable images"):
        make_two_afc(tmp_path / "empty", out, n=3, seed=0)


def test_bad_metric_output(photos, tmp_path):
    with pytest.raises(ValueError, match=r"shape \(2,\).*gave \(2, 1\)"):
        make_two_afc(
            photos,
            tmp_path / "out",
            n=2,
            seed=0,
            size=16,
            cross_family=1.0,
            reference_metric=lambda x0, x1: torch.zeros(x0.shape[0], 1),
        )
