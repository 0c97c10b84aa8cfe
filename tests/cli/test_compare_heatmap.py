"""lipsim-compare --heatmap: a picture of where two images differ, beside them; one-line errors. In process."""

from __future__ import annotations

import re
import sys
from pathlib import Path

import pytest
import torch
from PIL import Image

from tests._helpers import structured_images, tiny_model
from tests.cli._runner import _png
from tests.cli._runner import run_compare as _run

pytest.importorskip("matplotlib")  # the train extra (or pip install matplotlib)


@pytest.fixture(scope="module")
def setup(tmp_path_factory) -> dict[str, Path]:
    root = tmp_path_factory.mktemp("compare-heatmap")
    x = structured_images(1, 32, seed=8, dtype=torch.float32)[0]
    y = x.clone()
    y[:, 4:12, 20:28] = 1.0  # a white square, top right
    return {
        "root": root,
        "weights": tiny_model("efficient", dtype=torch.float32).save_pretrained(root / "weights"),
        "a": _png(root / "a.png", x),
        "b": _png(root / "b.png", y),
        "small": _png(root / "small.png", x[:, :16, :24]),
    }


def test_heatmap_is_written_beside_the_usual_output(setup, capsys):
    out = setup["root"] / "diff.png"
    a, b = str(setup["a"]), str(setup["b"])
    code, stdout, stderr = _run([a, b, "--weights", str(setup["weights"]), "--heatmap", str(out)], capsys)
    assert code == 0, stderr
    assert re.fullmatch(rf"{re.escape(a)}  {re.escape(b)}  d=\S+  certified \[\S+, \S+\] @ eps=0\.1412\n", stdout)
    assert stderr == f"lipsim-compare: heatmap of {a!r} and {b!r} written to {str(out)!r}\n"
    with Image.open(out) as im:
        assert im.format == "PNG" and im.width > 3 * 200 and im.height > 200
    code, stdout, _ = _run([a, b, "--weights", str(setup["weights"]), "--heatmap", str(out), "--json"], capsys)
    assert code == 0 and stdout.startswith('{"img0": ')  # stdout stays JSON


@pytest.mark.parametrize(
    "extra, message",
    [
        (["--ref", "{a}"], "--heatmap draws one pair of images; it does not combine with --ref"),
        (["DIRS"], "--heatmap draws one pair: give two image files, not directories"),
        (["SMALL"], "--heatmap needs two images of one size, got {a!r} 32x32 and {small!r} 24x16 (width x height)"),
        (["NO_DIR"], "--heatmap: no such directory to write into: {missing!r}"),
    ],
)
def test_heatmap_errors_come_before_any_work(setup, capsys, extra, message):
    f = {k: str(v) for k, v in setup.items()}
    f["missing"] = str(setup["root"] / "missing")
    out = f["missing"] + "/x.png" if extra == ["NO_DIR"] else str(setup["root"] / "never.png")
    if extra == ["DIRS"]:
        paths = [f["root"], f["root"]]
    elif extra == ["SMALL"]:
        paths = [f["a"], f["small"]]
    elif extra == ["NO_DIR"]:
        paths = [f["a"], f["b"]]
    else:
        paths = [e.format(**f) for e in extra] + [f["a"], f["b"]]
    code, stdout, stderr = _run([*paths, "--weights", f["weights"], "--heatmap", out], capsys)
    assert code == 2 and stdout == ""
    assert stderr == f"lipsim-compare: error: {message.format(**f)}\n"
    assert not Path(out).exists()


def test_heatmap_without_matplotlib_is_one_line(setup, capsys, monkeypatch):
    monkeypatch.setitem(sys.modules, "matplotlib", None)  # import matplotlib now raises ImportError
    out = setup["root"] / "none.png"
    code, stdout, stderr = _run(
        [str(setup["a"]), str(setup["b"]), "--weights", str(setup["weights"]), "--heatmap", str(out)], capsys
    )
    assert code == 2 and stdout == ""
    assert stderr == "lipsim-compare: error: drawing a heatmap needs matplotlib: pip install matplotlib\n"
    assert not out.exists()
