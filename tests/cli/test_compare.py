"""lipsim-compare as a real command: every mode, JSON output, and one-line errors with exit code 2.

No trained default weights exist, so a random-init model saved with save_pretrained is passed as --weights.
"""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest
import torch

from lipsim import LipSim
from lipsim.cli.compare import main
from tests._helpers import structured_images
from tests.cli import _runner as cli_runner


@pytest.fixture(scope="module")
def files() -> dict[str, Path]:
    return cli_runner.start()[0]


@pytest.fixture(scope="module")
def runs() -> cli_runner.Runner:
    return cli_runner.start()[1]


@pytest.fixture(scope="module")
def model(files) -> LipSim:
    return LipSim(weights=files["weights"])


def _ok(runs, name) -> str:
    r = runs.result(name)
    assert r.returncode == 0, r.stderr
    assert "Traceback" not in r.stderr
    return r.stdout


# ---------------------------------------------------------------------------------------------- success
def test_two_files(runs, files, model):
    out = _ok(runs, "two-files").strip().splitlines()
    assert len(out) == 1
    m = re.fullmatch(
        rf"{re.escape(str(files['a']))}  {re.escape(str(files['b']))}  d=(\S+)  certified "
        r"\[(\S+), (\S+)\] @ eps=0\.1412",
        out[0],
    )
    assert m, out[0]
    d, lo, hi = map(float, m.groups())
    assert d == pytest.approx(float(model(files["a"], files["b"])), abs=1e-6)
    assert lo <= d <= hi


def test_threshold_and_eps(runs, files, model):
    (line,) = _ok(runs, "threshold-eps").strip().splitlines()
    d = float(model(files["a"], files["b"]))
    cert = model.certify(files["a"], files["b"], eps=0.5, threshold=0.01)
    verdict = "same (d <= 0.01, --threshold)" if d <= 0.01 else "different (d > 0.01, --threshold)"
    m = re.fullmatch(r".*  d=(\S+)  certified \[(\S+), (\S+)\] @ eps=0\.5000  (.*) radius=(\S+)", line)
    assert m, line
    assert float(m.group(1)) == pytest.approx(d, abs=1e-6)
    assert float(m.group(2)) == pytest.approx(float(cert.lower), abs=1e-6)
    assert float(m.group(3)) == pytest.approx(float(cert.upper), abs=1e-6)
    assert m.group(4) == verdict
    assert float(m.group(5)) == pytest.approx(float(cert.radius), abs=1e-6)


def test_ref_two_afc(runs, files, model):
    (rec,) = [json.loads(x) for x in _ok(runs, "ref").splitlines()]
    r = model.two_afc(files["a"], files["b"], files["c"])
    assert rec == {
        "ref": str(files["a"]),
        "img0": str(files["b"]),
        "img1": str(files["c"]),
        "d0": pytest.approx(float(r.d0), abs=1e-6),
        "d1": pytest.approx(float(r.d1), abs=1e-6),
        "choice": int(r.choice),
        "radius": pytest.approx(float(r.radius), abs=1e-6),
    }
    assert rec["radius"] > 0


def test_two_dirs_matched_by_name(runs, files, model):
    recs = [json.loads(x) for x in _ok(runs, "two-dirs").splitlines()]
    assert [(Path(r["img0"]).name, Path(r["img1"]).name) for r in recs] == [("a.png", "a.png"), ("b.png", "b.png")]
    assert "2 files without a same-named partner were skipped" in runs.result("two-dirs").stderr
    for r in recs:
        assert set(r) == {
            "img0",
            "img1",
            "distance",
            "lower",
            "upper",
            "eps",
            "threshold",
            "threshold_source",
            "same",
            "radius",
        }
        assert r["threshold_source"] == "--threshold"
        assert r["distance"] == pytest.approx(float(model(r["img0"], r["img1"])), abs=1e-6)
        assert r["lower"] <= r["distance"] <= r["upper"]
        assert r["same"] == (r["distance"] <= 0.02) and r["threshold"] == 0.02


def test_one_dir_all_pairs(runs, files):
    recs = [json.loads(x) for x in _ok(runs, "one-dir").splitlines()]
    pairs = [(Path(r["img0"]).name, Path(r["img1"]).name) for r in recs]
    assert pairs == [("a.png", "b.png"), ("a.png", "c.png"), ("b.png", "c.png")]  # batch size 2: two batches
    for r in recs:
        assert r["eps"] == 0
        assert r["lower"] == pytest.approx(r["distance"]) and r["upper"] == pytest.approx(r["distance"])
        assert "same" not in r


def test_umbrella_compare_equals_lipsim_compare(runs):
    (rec,) = [json.loads(x) for x in _ok(runs, "lipsim-compare").splitlines()]
    (line,) = _ok(runs, "two-files").splitlines()
    assert f"d={rec['distance']:.6f}" in line


# ---------------------------------------------------------------------------------------------- errors
ERRORS = {
    "err-missing": r"no such file or directory: '.*missing\.png'",
    "err-not-image": r"not a readable image file: '.*notes\.png' \(UnidentifiedImageError: .*\)",
    "err-threshold": re.escape("--threshold must be in [0, 2] (the range of d), got 3.0"),
    "err-three-paths": re.escape("expected two images, two directories or one directory, got 3 paths"),
    "err-dir-and-file": re.escape("give two images or two directories, not one of each"),
    "err-corrupt-weights": r"weights file '.*corrupt/model\.safetensors' failed its sha256 check: "
    r"expected [0-9a-f]{64}, found [0-9a-f]{64} \(\d+ bytes\); "
    r"the file is corrupt, truncated or not the registered weights",
    "err-unknown-arch": re.escape("unknown arch 'resnet'; expected one of ['efficient', 'paper-small']"),
}


@pytest.mark.parametrize("name", list(ERRORS))
def test_errors_are_one_line_with_exit_code_2(runs, name):
    r = runs.result(name)
    assert r.returncode == 2, (r.stdout, r.stderr)
    assert "Traceback" not in r.stderr and r.stdout == ""
    lines = r.stderr.strip().splitlines()
    assert len(lines) == 1, r.stderr
    assert re.fullmatch(f"lipsim-compare: error: {ERRORS[name]}", lines[0]), lines[0]


# ---------------------------------------------------------------------------------------------- in process
def test_in_process_batch_size_does_not_change_results(files, capsys):
    args = [str(files["A"]), "--json", "--weights", str(files["weights"])]
    assert main([*args, "--batch-size", "1"]) == 0
    one = [json.loads(x) for x in capsys.readouterr().out.splitlines()]
    assert main([*args, "--batch-size", "16"]) == 0
    many = [json.loads(x) for x in capsys.readouterr().out.splitlines()]
    assert [r["distance"] for r in one] == pytest.approx([r["distance"] for r in many], abs=1e-7)


def test_in_process_mixed_sizes_and_constant_coordinate(files, tmp_path, capsys):
    big = cli_runner._png(tmp_path / "big.png", structured_images(1, 40, seed=9, dtype=torch.float32)[0])
    assert (
        main([str(files["a"]), str(big), "--json", "--constant-coordinate", "none", "--weights", str(files["weights"])])
        == 0
    )
    (rec,) = [json.loads(x) for x in capsys.readouterr().out.splitlines()]
    m = LipSim(weights=files["weights"], constant_coordinate="none")
    assert rec["distance"] == pytest.approx(float(m(files["a"], big)), abs=1e-6)


def test_in_process_bad_batch_size(files, capsys):
    with pytest.raises(SystemExit) as e:
        main([str(files["a"]), str(files["b"]), "--batch-size", "0", "--weights", str(files["weights"])])
    assert e.value.code == 2
    assert capsys.readouterr().err == "lipsim-compare: error: --batch-size must be >= 1, got 0\n"


@pytest.mark.parametrize(
    "argv, message",
    [
        (["--threshold", "abc"], "argument --threshold: invalid float value: 'abc' (see --help)"),
        (["--eps", "-1"], "--eps must be a finite number >= 0, got -1.0"),
        (["--eps", "inf"], "--eps must be a finite number >= 0, got inf"),
        (["--threshold", "0.1", "--no-threshold"], "--threshold and --no-threshold exclude each other"),
        (
            ["A", "--device", "meta"],
            "--device: device 'meta' holds no data (shapes only): use a compute device such as 'cpu' or 'cuda'",
        ),
        (
            ["--max-pixels", "-3"],
            "argument --max-pixels: expected a positive number of pixels or 'none', got '-3' (see --help)",
        ),
        (["--ref", "A"], "--ref needs exactly two candidate images, got 1 paths"),
        (["--bogus"], "unrecognized arguments: --bogus (see --help)"),
    ],
)
def test_in_process_usage_errors(files, capsys, argv, message):
    """More usage errors, in process: anything but SystemExit(2) would be a traceback in the real command."""
    argv = [str(files["a"]) if a == "A" else a for a in argv]
    with pytest.raises(SystemExit) as e:
        main(
            [str(files["b"]), *argv, "--weights", str(files["weights"])]
            if "--ref" not in argv
            else [*argv, str(files["b"]), "--weights", str(files["weights"])]
        )
    assert e.value.code == 2
    out = capsys.readouterr()
    assert out.out == "" and out.err == f"lipsim-compare: error: {message}\n"


def test_in_process_text_output_of_ref(files, capsys, model):
    assert main(["--ref", str(files["a"]), str(files["b"]), str(files["c"]), "--weights", str(files["weights"])]) == 0
    r = model.two_afc(files["a"], files["b"], files["c"])
    closer = files["b"] if int(r.choice) == 0 else files["c"]
    line = capsys.readouterr().out.strip()
    assert line.startswith(f"closer to {files['a']}: {closer} (choice {int(r.choice)})  d0={float(r.d0):.6f}  ")
    assert line.endswith(f"certified radius={float(r.radius):.6f}")
