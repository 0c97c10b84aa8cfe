"""``lipsim convert-original``: conversion from the shell, one-line errors, and using the result."""

from __future__ import annotations

import functools
import json

import numpy as np
import pytest
import torch
from PIL import Image

from lipsim.cli.compare import main as compare_main
from lipsim.cli.main import main
from lipsim.convert import convert_original
from tests.convert._synthetic import PREFIX, REDUCED, make_checkpoint, make_model_state_dict


@pytest.fixture
def reduced(monkeypatch):
    """The CLI converts the paper's sizes; these tests pass it the same layout with reduced dense sizes."""
    import lipsim.convert

    monkeypatch.setattr(lipsim.convert, "convert_original", functools.partial(convert_original, arch_config=REDUCED))


@pytest.fixture(scope="module")
def ckpt(tmp_path_factory):
    return make_checkpoint(tmp_path_factory.mktemp("ckpt") / "lipsim_distilled.pth", make_model_state_dict(REDUCED))


def _error(capsys, argv) -> str:
    with pytest.raises(SystemExit) as e:
        main(argv)
    assert e.value.code == 2
    captured = capsys.readouterr()
    assert captured.out == "" and len(captured.err.splitlines()) == 1, captured.err
    assert captured.err.startswith(("lipsim: error: ", "lipsim convert-original: error: "))
    return captured.err


def test_convert_and_use_the_result(capsys, reduced, ckpt, tmp_path):
    out = tmp_path / "paper-small-distilled"
    assert main(["convert-original", str(ckpt), str(out)]) == 0
    lines = capsys.readouterr().out.splitlines()
    assert lines[0].startswith(f"wrote {out}/ (arch paper-small, constant_coordinate append, source sha256 ")
    assert f"LipSim(weights='{out}')" in lines[1] and f"--weights {out}" in lines[1]
    cfg = json.loads((out / "config.json").read_text())
    assert cfg["constant_coordinate"] == "append" and cfg["source_file"] == "lipsim_distilled.pth"

    # the directory works with lipsim-compare
    rng = np.random.default_rng(0)
    for name in ("a.png", "b.png"):
        Image.fromarray(rng.integers(0, 256, (40, 40, 3), dtype=np.uint8)).save(tmp_path / name)
    assert compare_main([str(tmp_path / "a.png"), str(tmp_path / "b.png"), "--weights", str(out), "--json"]) == 0
    result = json.loads(capsys.readouterr().out.splitlines()[0])
    assert 0.0 <= result["distance"] <= 2.0


def test_constant_coordinate_none_and_overwrite(capsys, reduced, ckpt, tmp_path):
    out = tmp_path / "o"
    assert main(["convert-original", str(ckpt), str(out), "--constant-coordinate", "none"]) == 0
    assert "constant_coordinate none" in capsys.readouterr().out
    err = _error(capsys, ["convert-original", str(ckpt), str(out)])
    assert "already holds config.json and model.safetensors" in err and "--overwrite" in err
    assert json.loads((out / "config.json").read_text())["constant_coordinate"] == "none"
    assert main(["convert-original", str(ckpt), str(out), "--overwrite"]) == 0
    assert json.loads((out / "config.json").read_text())["constant_coordinate"] == "append"


def test_bad_checkpoints_are_one_line_errors(capsys, reduced, tmp_path):
    err = _error(capsys, ["convert-original", str(tmp_path / "missing.pth"), str(tmp_path / "o")])
    assert "checkpoint not found" in err
    sd = make_model_state_dict(REDUCED)
    sd[PREFIX + "base.1.0.kernel"] = sd[PREFIX + "convs.0.kernel"] * 2
    bad = make_checkpoint(tmp_path / "bad.pth", sd)
    err = _error(capsys, ["convert-original", str(bad), str(tmp_path / "o")])
    assert "convs.0.kernel and module.model.base.1.0.kernel differ" in err
    torch.save({"model_state_dict": {"conv1.weight": torch.zeros(1)}}, tmp_path / "other.pth")
    err = _error(capsys, ["convert-original", str(tmp_path / "other.pth"), str(tmp_path / "o")])
    assert "not a LipSim paper-small checkpoint" in err
    (tmp_path / "empty.pth").write_bytes(b"")
    err = _error(capsys, ["convert-original", str(tmp_path / "empty.pth"), str(tmp_path / "o")])
    assert err == f"lipsim: error: {str(tmp_path / 'empty.pth')!r} is empty (0 bytes): not a torch checkpoint\n"
    assert not (tmp_path / "o").exists()


def test_usage_errors(capsys, ckpt, tmp_path):
    err = _error(capsys, ["convert-original", str(ckpt)])
    assert "required: out_dir" in err
    err = _error(capsys, ["convert-original", str(ckpt), str(tmp_path / "o"), "--constant-coordinate", "both"])
    assert "invalid choice: 'both'" in err


def test_help_lists_the_subcommand(capsys):
    with pytest.raises(SystemExit) as e:
        main(["--help"])
    assert e.value.code == 0
    assert "convert-original" in capsys.readouterr().out
    with pytest.raises(SystemExit) as e:
        main(["convert-original", "--help"])
    assert e.value.code == 0
    out = capsys.readouterr().out
    assert "weights_only=True" in out and "--constant-coordinate {append,none}" in out
