"""``lipsim dedup``: pairs, labels, groups, formats, the cache, unreadable files, torchrun shards, errors.

The tiny random-init model is saved with save_pretrained and passed as --weights; certified labels printed by
the command are attacked with PGD on the image files at 0.99x their radius.
"""

from __future__ import annotations

import csv
import io
import json
import os
import subprocess
import sys

import pytest
import torch

from lipsim import LipSim, load_image
from lipsim.cli.main import main
from lipsim.index import embed_files, find_duplicates, list_images
from tests._attacks import pgd_l2_image
from tests.cli._index_files import make_collection


@pytest.fixture(scope="module")
def files(tmp_path_factory):
    return make_collection(tmp_path_factory.mktemp("dedup"))


@pytest.fixture(scope="module")
def model(files):
    return LipSim(weights=files["weights"])


@pytest.fixture(scope="module")
def setting(files, model):
    """A threshold with matches and non-matches inside groups; eps certifying about half of the labels."""
    r = embed_files(model, list_images(files["photos"]))
    d = torch.cdist(r.emb.phi.double(), r.emb.phi.double()).pow(2) / 2
    tau = float(d[torch.triu(torch.ones_like(d, dtype=torch.bool), 1)].quantile(0.3))
    eps = float(find_duplicates(r.emb, tau, 0.0).cert.radius.median())
    return tau, eps, find_duplicates(r.emb, tau, eps), r.paths


def _run(capsys, *argv):
    code = main(["dedup", *argv])
    out = capsys.readouterr()
    return code, out.out, out.err


def test_json_pairs_match_the_api(capsys, files, setting):
    tau, eps, dup, paths = setting
    code, out, err = _run(
        capsys, files["photos"], "--weights", files["weights"], "--threshold", str(tau), "--eps", str(eps), "--json"
    )
    assert code == 0
    recs = [json.loads(line) for line in out.splitlines()]
    assert len(recs) == len(dup.cert.labels) >= 4
    for p, rec in enumerate(recs):
        assert set(rec) == {"a", "b", "distance", "label", "radius", "lower", "upper", "group", "threshold", "eps"}
        assert (rec["a"], rec["b"]) == (paths[int(dup.i[p])], paths[int(dup.j[p])])
        assert rec["label"] == dup.cert.labels[p]
        assert rec["distance"] == pytest.approx(float(dup.cert.distance[p]), abs=1e-9)
        assert rec["radius"] == pytest.approx(float(dup.cert.radius[p]), rel=1e-9)
        assert rec["group"] == int(dup.group[p]) + 1 and rec["threshold"] == tau and rec["eps"] == eps
    assert {r["label"] for r in recs} >= {"certified-same", "same"}
    assert recs[0]["a"].startswith(files["photos"] + "/")  # the paths as given
    lines = err.splitlines()
    assert lines[0].startswith(f"lipsim dedup: skipped unreadable file '{files['broken']}': not a readable image file")
    assert lines[-1].startswith(
        f"lipsim dedup: 9 images (9 embedded now, 1 skipped), {len(dup.groups)} groups, {len(recs)} pairs ("
    )


def test_certified_labels_survive_pgd_on_the_files(capsys, files, setting, model):
    tau, eps, _, _ = setting
    _, out, _ = _run(
        capsys, files["photos"], "--weights", files["weights"], "--threshold", str(tau), "--eps", str(eps), "--json"
    )
    recs = [json.loads(line) for line in out.splitlines()]
    m64 = LipSim(weights=files["weights"]).double()
    certified = [r for r in recs if r["label"] in ("certified-same", "certified-different")]
    assert {r["label"] for r in certified} == {"certified-same", "certified-different"}
    for r in certified[:4]:
        a, b = load_image(r["a"]).double(), load_image(r["b"]).double()
        sign = 1.0 if r["label"] == "certified-same" else -1.0
        adv = pgd_l2_image(a, lambda x, sign=sign, b=b: sign * m64(x[None], b[None])[0], 0.99 * r["radius"], steps=40)
        assert (float(m64(adv[None], b[None])[0]) <= tau) == (r["label"] == "certified-same"), r


def test_text_and_csv(capsys, files, setting):
    tau, eps, dup, paths = setting
    common = [files["photos"], "--weights", files["weights"], "--threshold", str(tau), "--eps", str(eps)]
    _, text, _ = _run(capsys, *common)
    lines = text.splitlines()
    assert lines[0] == f"group 1 ({len(dup.groups[0])} images)"
    first = (
        f"  {paths[int(dup.i[0])]}  {paths[int(dup.j[0])]}  d={float(dup.cert.distance[0]):.6f}  "
        f"{dup.cert.labels[0]}  radius={float(dup.cert.radius[0]):.6f}"
    )
    assert lines[1] == first
    _, out, _ = _run(capsys, *common, "--csv", "--matches-only")
    rows = list(csv.DictReader(io.StringIO(out)))
    assert list(rows[0]) == ["a", "b", "distance", "label", "radius", "lower", "upper", "group"]
    assert {r["label"] for r in rows} <= {"certified-same", "same"} and len(rows) == int(dup.cert.same.sum())


def test_cache_rerun_embeds_nothing_and_saves_an_index(capsys, files, setting, tmp_path):
    tau = setting[0]
    cache, index = str(tmp_path / "c.safetensors"), str(tmp_path / "ix.safetensors")
    args = [files["photos"], "--weights", files["weights"], "--threshold", str(tau), "--cache", cache]
    _, first, err1 = _run(capsys, *args, "--save-index", index)
    _, second, err2 = _run(capsys, *args)
    assert "(9 embedded now, 1 skipped)" in err1 and "(0 embedded now, 1 skipped)" in err2 and first == second
    assert os.path.isfile(index) and os.path.isfile(tmp_path / "ix.json")


def test_no_threshold_is_a_clear_error(capsys, files):
    with pytest.raises(SystemExit) as e:
        main(["dedup", files["photos"], "--weights", files["weights"]])
    assert e.value.code == 2
    err = capsys.readouterr().err
    assert err == (
        f"lipsim: error: the weights ({os.path.join(files['weights'], 'model.safetensors')}) recommend no "
        "threshold; pass --threshold T (same = d <= T, d in [0, 2])\n"
    )


@pytest.mark.parametrize(
    "argv, message",
    [
        (["--threshold", "3"], "--threshold must be in [0, 2] (the range of d), got 3.0"),
        (["--threshold", "0.1", "--eps", "-1"], "--eps must be a finite number >= 0, got -1.0"),
        (["--threshold", "0.1", "--json", "--csv"], "argument --csv: not allowed with argument --json (see --help)"),
    ],
)
def test_usage_errors(capsys, files, argv, message):
    with pytest.raises(SystemExit) as e:
        main(["dedup", files["photos"], "--weights", files["weights"], *argv])
    assert e.value.code == 2
    err = capsys.readouterr().err
    assert err.splitlines() == [f"lipsim{' dedup' if 'argument' in message else ''}: error: {message}"]


def test_missing_folder(capsys, files):
    with pytest.raises(SystemExit):
        main(["dedup", "no/such/dir", "--threshold", "0.1", "--weights", files["weights"]])
    assert capsys.readouterr().err == "lipsim: error: no such directory: 'no/such/dir'\n"


def test_torchrun_shards_in_two_sequential_processes(capsys, files, setting, tmp_path):
    """WORLD_SIZE=2: rank 1 embeds its shard and exits; rank 0 embeds the rest, merges and reports."""
    tau = setting[0]
    cache = str(tmp_path / "shared.safetensors")
    cmd = [
        sys.executable,
        "-m",
        "lipsim.cli.main",
        "dedup",
        files["photos"],
        "--weights",
        files["weights"],
        "--threshold",
        str(tau),
        "--cache",
        cache,
        "--json",
    ]
    env = dict(os.environ, WORLD_SIZE="2", OMP_NUM_THREADS="1", HF_HUB_OFFLINE="1", PYTHONWARNINGS="ignore")
    r1 = subprocess.run(cmd, env=dict(env, RANK="1"), capture_output=True, text=True, timeout=120)
    assert r1.returncode == 0 and r1.stdout == "", r1.stderr
    assert r1.stderr.startswith("lipsim dedup: rank 1 of 2: embedded ") and r1.stderr.endswith("; rank 0 reports\n")
    assert os.path.isfile(cache + ".shard-1-of-2.safetensors")
    r0 = subprocess.run(cmd, env=dict(env, RANK="0"), capture_output=True, text=True, timeout=120)
    assert r0.returncode == 0, r0.stderr
    _, plain, _ = _run(capsys, *cmd[4:-3], "--json")

    def pick(out: str) -> list:
        return [(r["a"], r["b"], r["label"], round(r["distance"], 9)) for r in map(json.loads, out.splitlines())]

    assert pick(r0.stdout) == pick(plain) and r0.stdout
    assert not os.path.exists(cache + ".shard-1-of-2.safetensors")


def test_size_compares_at_one_scale_and_matches_the_api(capsys, files, model, setting):
    tau, eps, _, _ = setting
    code, out, err = _run(
        capsys,
        files["photos"],
        "--weights",
        files["weights"],
        "--threshold",
        str(tau),
        "--eps",
        str(eps),
        "--json",
        "--size",
        "20",
    )
    assert code == 0
    r = embed_files(model, list_images(files["photos"]), size=20)
    dup = find_duplicates(r.emb, tau, eps)
    recs = [json.loads(line) for line in out.splitlines()]
    assert [rec["label"] for rec in recs] == list(dup.cert.labels)
    assert [rec["distance"] for rec in recs] == pytest.approx(dup.cert.distance.tolist(), abs=1e-9)


def test_size_must_be_positive(capsys, files):
    with pytest.raises(SystemExit) as e:
        main(["dedup", files["photos"], "--weights", files["weights"], "--threshold", "0.1", "--size", "0"])
    assert e.value.code == 2
    assert "--size must be a positive number of pixels, got 0" in capsys.readouterr().err


def test_size_beyond_the_resize_limit_is_one_line(capsys, files):
    """--size 100000 asked the dense resize matrices for 120 GB; now a one-line error before any image is read."""
    with pytest.raises(SystemExit) as e:
        main(["dedup", files["photos"], "--weights", files["weights"], "--threshold", "0.1", "--size", "100000"])
    assert e.value.code == 2
    assert capsys.readouterr().err == (
        "lipsim: error: --size must be at most 8192 px (lipsim.resize.MAX_RESIZE_SIDE, the longest side a resize "
        "produces), got 100000\n"
    )
