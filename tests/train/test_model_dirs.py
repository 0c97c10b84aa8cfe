"""--init / --weights: a run directory means its model/; which one is used is said."""

from __future__ import annotations

import pytest

from lipsim import LipSim
from lipsim.train.model_dirs import resolve_model_dir


@pytest.fixture(scope="module")
def run_dir(tmp_path_factory, tiny_lipsim):
    run = tmp_path_factory.mktemp("run")
    tiny_lipsim().save_pretrained(run / "model")
    return run


def test_run_directory_means_its_model(run_dir):
    path, note = resolve_model_dir(str(run_dir), "--init")
    assert path == str(run_dir / "model")
    assert note == f"--init {run_dir}: using {run_dir / 'model'} (the model of run directory {run_dir})"
    LipSim.from_pretrained(path)


def test_model_directory_is_used_as_is(run_dir):
    model = str(run_dir / "model")
    assert resolve_model_dir(model, "--weights") == (model, f"--weights {model}: using model directory {model}")


def test_names_and_files_pass_through(run_dir):
    assert resolve_model_dir("efficient-photos64-v1", "--weights") == (
        "efficient-photos64-v1",
        "--weights efficient-photos64-v1",
    )
    f = str(run_dir / "model" / "model.safetensors")
    assert resolve_model_dir(f, "--weights") == (f, f"--weights {f}")


def test_unfinished_run_and_other_folders_are_clear_errors(tmp_path):
    (tmp_path / "checkpoint.pt").write_bytes(b"")
    with pytest.raises(ValueError) as e:
        resolve_model_dir(str(tmp_path), "--init")
    assert str(e.value) == (
        f"--init '{tmp_path}' is a run directory without a finished model ('{tmp_path / 'model'}' is missing, only "
        f"checkpoint.pt is there): finish the run with its command plus --resume, then pass --init {tmp_path}"
    )
    empty = tmp_path / "empty"
    empty.mkdir()
    with pytest.raises(ValueError) as e:
        resolve_model_dir(str(empty), "--weights")
    assert str(e.value) == (
        f"--weights '{empty}' is neither a model directory (config.json + model.safetensors) nor a run directory "
        "holding model/config.json (the --out of lipsim-train distill or finetune)"
    )
