"""The pieces of the v2 recipe: photo split, resumable teacher cache, ensembles, pools with distortions and
native-scale crops, consensus relabelling, same/different calibration, k-NN."""

import io
import json
import tarfile
from pathlib import Path

import numpy as np
import pytest
import torch
from PIL import Image

pytest.importorskip("tqdm")

from lipsim import LipSim
from lipsim.train.calibrate import MILD_FAMILIES, _pick_threshold, calibrate_threshold, roc_auc, write_threshold
from lipsim.train.data.consensus import consensus_set
from lipsim.train.data.photo_split import prepare_photo_split, split_of
from lipsim.train.distill import distill, distort_pool
from lipsim.train.knn import folder_knn_top1, knn_top1
from lipsim.train.teacher_cache import cached_teacher_embeddings
from lipsim.train.teachers.base import Teacher
from lipsim.train.teachers.ensemble import EnsembleTeacher
from tests.train._images import smooth_photo as _photo
from tests.train.test_train_cli import _distill_cfg


class _MeanTeacher(Teacher):
    name, embed_dim = "mean", 3

    def __init__(self) -> None:
        super().__init__()
        self.calls = 0

    def embed(self, x):
        self.calls += x.shape[0]
        return x.mean(dim=(2, 3)) + 0.1


def _jpeg_bytes(rng, h=64, w=64) -> bytes:
    buf = io.BytesIO()
    Image.fromarray(_photo(rng, h, w)).save(buf, format="JPEG")
    return buf.getvalue()


@pytest.fixture(scope="module")
def collection(tmp_path_factory) -> Path:
    """A tiny collection in the shared layout: a tar shard of WNID/WNID_N.JPEG and image folders."""
    root = tmp_path_factory.mktemp("collection")
    rng = np.random.default_rng(1)
    (root / "tiny").mkdir()
    with tarfile.open(root / "tiny" / "train-00.tar", "w") as tar:
        for c in range(3):
            for k in range(10):
                data = _jpeg_bytes(rng)
                info = tarfile.TarInfo(f"n0{c}/n0{c}_{k}.JPEG")
                info.size = len(data)
                tar.addfile(info, io.BytesIO(data))
    for split in ("train", "val"):
        (root / "bsds" / split).mkdir(parents=True)
        for k in range(3):
            Image.fromarray(_photo(rng, 96, 120)).save(root / "bsds" / split / f"{k}.jpg")
    return root


def test_split_rule_is_deterministic_and_respects_named_folders():
    names = [f"n01/n01_{k}.JPEG" for k in range(2000)]
    val = [n for n in names if split_of("tiny", n, 0.1) == "val"]
    assert 150 < len(val) < 250 and val == [n for n in names if split_of("tiny", n, 0.1) == "val"]
    assert split_of("bsds", "val/x.jpg", 0.0) == "val" and split_of("bsds", "train/x.jpg", 1.0) == "train"


def test_prepare_photo_split(collection, tmp_path):
    out = tmp_path / "photos"
    summary = prepare_photo_split(collection, out, val_share=0.2, progress=False)
    counts = summary["counts"]
    assert counts["train"]["tiny"] + counts["val"]["tiny"] == 30
    assert counts["train"]["bsds"] == 3 and counts["val"]["bsds"] == 3
    assert len(list((out / "val" / "tiny").rglob("*.JPEG"))) == counts["val"]["tiny"]
    assert (out / "train" / "bsds" / "0.jpg").is_symlink()
    assert json.loads((out / "split.json").read_text())["counts"] == counts
    again = prepare_photo_split(collection, out, val_share=0.2, progress=False)  # idempotent
    assert again["counts"] == counts
    with pytest.raises(ValueError, match=r"val_share must be in \[0, 1\), got 1.5"):
        prepare_photo_split(collection, out, val_share=1.5)


def test_teacher_cache_resumes_and_is_float16(tmp_path):
    imgs = torch.randint(0, 256, (10, 3, 32, 32), dtype=torch.uint8)
    t = _MeanTeacher()
    full = cached_teacher_embeddings(t, imgs, "k", tmp_path / "a", batch_size=3, progress=False, chunk=4)
    assert full.dtype == torch.float16 and full.shape == (10, 3) and t.calls == 10 + 1  # +1: the probe row
    torch.testing.assert_close(full.float(), t(imgs.float() / 255), atol=2e-3, rtol=0)
    # interrupted after the first chunk: the progress file says 4 rows are done; resuming computes the rest only
    meta_path = tmp_path / "a" / "teacher_k.json"
    meta = json.loads(meta_path.read_text())
    meta["done"] = 4
    meta_path.write_text(json.dumps(meta))
    t2 = _MeanTeacher()
    again = cached_teacher_embeddings(t2, imgs, "k", tmp_path / "a", batch_size=3, progress=False, chunk=4)
    assert t2.calls == 6 and torch.equal(again, full)
    t3 = _MeanTeacher()
    cached_teacher_embeddings(t3, imgs, "k", tmp_path / "a", progress=False)
    assert t3.calls == 0  # complete: read from disk
    with pytest.raises(RuntimeError, match="missing or incomplete and no teacher was given"):
        cached_teacher_embeddings(None, imgs, "other", tmp_path / "a", progress=False)


def test_ensemble_is_unit_norm_weighted_concatenation():
    a, b = _MeanTeacher(), _MeanTeacher()
    e = EnsembleTeacher([a, b], weights=[1, 3])
    x = torch.rand(4, 3, 32, 32)
    out = e(x)
    torch.testing.assert_close(out.norm(dim=1), torch.ones(4))
    torch.testing.assert_close(out, torch.cat([a(x) * 0.5, b(x) * 0.75**0.5], dim=1))
    y = torch.rand(4, 3, 32, 32)
    d = 1 - (e(x) * e(y)).sum(1)
    torch.testing.assert_close(d, 0.25 * (1 - (a(x) * a(y)).sum(1)) + 0.75 * (1 - (b(x) * b(y)).sum(1)))
    with pytest.raises(ValueError, match="weights must be 2 non-negative numbers"):
        EnsembleTeacher([a, b], weights=[1, -1])


def test_ensemble_of_one_backbone_runs_it_once():
    from lipsim.train.teachers import get_teacher

    try:
        members = [
            {"name": "alexnet", "kwargs": {"embedding": "mean", "layers": [0, 1]}},
            {"name": "alexnet", "kwargs": {"embedding": "mean", "layers": [4]}},
        ]
        e = get_teacher("ensemble", members=members)
        a = get_teacher("alexnet", embedding="mean", layers=[0, 1])
        b = get_teacher("alexnet", embedding="mean", layers=[4])
    except Exception as exc:  # weights package missing
        pytest.skip(f"alexnet teacher unavailable: {exc}")
    x = torch.rand(2, 3, 64, 64)
    torch.testing.assert_close(e(x), torch.cat([a(x), b(x)], 1) * 0.5**0.5, atol=1e-6, rtol=0)


def test_distort_pool_is_seeded_and_partial():
    imgs = torch.randint(0, 256, (40, 3, 32, 32), dtype=torch.uint8)
    a, b = imgs.clone(), imgs.clone()
    distort_pool(a, 0.5, seed=3)
    distort_pool(b, 0.5, seed=3)
    assert torch.equal(a, b)
    changed = (a != imgs).flatten(1).any(1).float().mean()
    assert 0.25 < changed < 0.75
    c = imgs.clone()
    distort_pool(c, 0.0, seed=3)
    assert torch.equal(c, imgs)


def test_two_pools_native_resolution_distill_resumes_bit_exactly(tmp_path):
    photos = tmp_path / "photos"
    photos.mkdir()
    rng = np.random.default_rng(0)
    for i in range(4):
        Image.fromarray(_photo(rng, 96 + 16 * i, 80 + 8 * i)).save(photos / f"p{i}.png")
    kw = dict(
        arch_config={"widths": [8, 16, 16, 16], "head_width": 32, "native_resolution": True, "max_size": 96},
        image_size=32,
        distort_share=0.5,
        crop_scale=(0.5, 1.0),
        extra_pools=[{"images": str(photos), "pool_size": 6, "image_size": 64, "batch_size": 2, "side_px": [48, 80]}],
    )
    full = distill(_distill_cfg(photos, tmp_path / "full", **kw))
    cfg = json.loads((full / "config.json").read_text())
    assert [p["image_size"] for p in cfg["training"]["pools"]] == [32, 64]
    assert cfg["arch_config"]["native_resolution"] is True
    out = tmp_path / "interrupted"
    assert distill(_distill_cfg(photos, out, stop_after=2, **kw)) is None
    assert distill(_distill_cfg(photos, out, resume=True, **kw)) is not None
    a = LipSim(weights=str(full)).backbone.state_dict()
    b = LipSim(weights=str(out / "model")).backbone.state_dict()
    assert all(torch.equal(a[k], b[k]) for k in a)
    with pytest.raises(ValueError, match="extra pool 0: needs 'images'"):
        distill(_distill_cfg(photos, tmp_path / "bad", extra_pools=[{"pool_size": 2}]))


def test_consensus_keeps_agreeing_triplets_by_family_pair(tmp_path):
    from lipsim.train.data.synthetic_two_afc import make_two_afc

    photos = tmp_path / "photos"
    photos.mkdir()
    rng = np.random.default_rng(2)
    for i in range(3):
        Image.fromarray(_photo(rng, 80, 80)).save(photos / f"p{i}.png")
    mse = lambda a, b: (a - b).pow(2).flatten(1).mean(1)  # noqa: E731
    mae = lambda a, b: (a - b).abs().flatten(1).mean(1)  # noqa: E731
    make_two_afc(photos, tmp_path / "raw", n=12, seed=0, size=32, split="val", cross_family=1.0, reference_metric=mse)
    s = consensus_set(tmp_path / "raw", "val", tmp_path / "cons", {"mse": mse, "mae": mae}, margin=0.05, progress=False)
    assert s["total"] == 12 and 0 < s["kept"] <= 12 and sum(s["counts"].values()) == s["kept"]
    for t in s["triplets"]:
        (d0a, d1a), (d0b, d1b) = t["distances"]["mse"], t["distances"]["mae"]
        assert (d1a < d0a) == (d1b < d0b) and abs(d0a - d1a) / (d0a + d1a) >= 0.05
        closer, farther = t["category"].split("-closer-than-")
        judge = float(np.load(tmp_path / "cons" / "2afc" / "val" / t["category"] / "judge" / f"{t['id']}.npy")[0])
        assert judge == (1.0 if d1a < d0a else 0.0)
    none = consensus_set(
        tmp_path / "raw", "val", tmp_path / "none", {"a": mse, "b": lambda a, b: -mse(a, b)}, progress=False
    )
    assert none["kept"] == 0  # two voters that always disagree keep nothing


def test_roc_auc_and_threshold_pick():
    assert roc_auc(torch.tensor([0.0, 0.1]), torch.tensor([0.5, 0.6])) == 1.0
    assert roc_auc(torch.tensor([0.5]), torch.tensor([0.5])) == 0.5
    diff = torch.arange(1, 101, dtype=torch.float64) / 100  # 0.01 .. 1.00
    tau = _pick_threshold(diff, 0.02)
    assert (diff <= tau).double().mean() <= 0.02 and (diff <= tau + 0.01).double().mean() > 0.02


def test_calibrate_and_write_threshold(tmp_path):
    photos = tmp_path / "photos"
    photos.mkdir()
    rng = np.random.default_rng(3)
    for i in range(8):
        Image.fromarray(_photo(rng, 72, 72)).save(photos / f"p{i}.png")
    torch.manual_seed(0)
    model = LipSim(pretrained=False, widths=(8, 16), stem_factor=2, head_width=16, embed_dim=8, image_size=32).eval()
    r = calibrate_threshold(model, photos, size=48, copies=2, max_false_same=0.1)
    assert 0 <= r["threshold"] <= 2 and 0 <= r["false_same"] <= 1 and 0 <= r["true_same"] <= 1
    assert r["pairs"] == {"same": 16, "different": 28, "photos": 8} and 0 <= r["auc"] <= 1
    by_family = r["true_same_by_family"]
    assert set(by_family) <= set(MILD_FAMILIES) and sum(v["copies"] for v in by_family.values()) == 8  # odd half
    pooled = sum(v["true_same"] * v["copies"] for v in by_family.values()) / 8
    assert pooled == pytest.approx(r["true_same"])
    d = model.save_pretrained(tmp_path / "m")
    write_threshold(d, r)
    loaded = LipSim(weights=str(d))
    assert loaded.threshold == pytest.approx(r["threshold"])
    with pytest.raises(ValueError, match="is not a save_pretrained directory"):
        write_threshold(tmp_path / "nothing", r)


def test_knn_top1_on_class_folders(tmp_path):
    e = torch.tensor([[1.0, 0.0], [0.9, 0.2], [0.0, 1.0], [0.2, 0.9]])
    assert knn_top1(e, torch.tensor([0, 0, 1, 1])) == 1.0
    assert knn_top1(e, torch.tensor([0, 1, 0, 1])) == 0.0
    for c, colour in (("a", (250, 10, 10)), ("b", (10, 10, 250))):
        (tmp_path / c).mkdir()
        for k in range(3):
            Image.new("RGB", (32, 32), tuple(v + 2 * k for v in colour)).save(tmp_path / c / f"{k}.png")
    torch.manual_seed(0)
    model = LipSim(pretrained=False, widths=(8, 16), stem_factor=2, head_width=16, embed_dim=8, image_size=32).eval()
    with torch.no_grad():
        model.backbone.head[-1].bias.zero_()
    r = folder_knn_top1(model, tmp_path)
    assert r["n"] == 6 and r["classes"] == 2 and r["chance"] == 0.5 and 0 <= r["top1"] <= 1
