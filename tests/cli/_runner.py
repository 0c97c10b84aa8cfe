"""Run the CLI invocations of tests/cli as real subprocesses, in the background.

Each subprocess pays the torch import (~2 CPU seconds), so all of them are started once, when pytest has
collected the session (see tests/conftest.py), on two worker threads; the CLI tests run last and only
collect the results. Files (weights, images) live in one temporary folder removed at the end.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import tempfile
from concurrent.futures import Future, ThreadPoolExecutor
from pathlib import Path

import numpy as np
import torch
from PIL import Image

MODULE = [sys.executable, "-m", "lipsim.cli.compare"]


def script(name: str) -> str:
    """Path of an installed console script (next to the interpreter first, then PATH)."""
    candidate = Path(sys.executable).parent / name
    if candidate.is_file():
        return str(candidate)
    found = shutil.which(name)
    assert found, f"console script {name!r} is not installed (pip install -e .)"
    return found


def env() -> dict[str, str]:
    e = dict(os.environ)
    e.update(HF_HUB_OFFLINE="1", HF_HUB_DISABLE_TELEMETRY="1", OMP_NUM_THREADS="1", PYTHONWARNINGS="ignore")
    return e


class Runner:
    """Starts every command at once on a small pool; ``result(name)`` waits for that one."""

    def __init__(self, commands: dict[str, list[str]], cwd: Path, workers: int = 2) -> None:
        self._pool = ThreadPoolExecutor(max_workers=workers)
        self._futures: dict[str, Future] = {
            name: self._pool.submit(
                subprocess.run, cmd, capture_output=True, text=True, cwd=cwd, env=env(), timeout=300
            )
            for name, cmd in commands.items()
        }

    def result(self, name: str) -> subprocess.CompletedProcess:
        return self._futures[name].result()

    def close(self) -> None:
        self._pool.shutdown(wait=True)


def run_compare(argv: list[str], capsys) -> tuple[int, str, str]:
    """``lipsim-compare argv`` in this process: (exit status, stdout, stderr)."""
    from lipsim.cli.compare import main

    try:
        code = main(argv)
    except SystemExit as e:
        code = e.code
    out = capsys.readouterr()
    return code, out.out, out.err


# ---------------------------------------------------------------------------------------------- the cases
def _png(path: Path, x: torch.Tensor) -> Path:
    Image.fromarray((x.permute(1, 2, 0).numpy() * 255).round().astype(np.uint8)).save(path)
    return path


def make_files(root: Path) -> dict[str, Path]:
    """A random-init model (no trained default weights exist) saved with save_pretrained, a corrupt copy,
    images in two folders (two names in common), a text file named .png and a missing path."""
    from tests._helpers import structured_images, tiny_model

    weights = tiny_model("efficient", dtype=torch.float32).save_pretrained(root / "weights")
    corrupt = tiny_model("efficient", dtype=torch.float32).save_pretrained(root / "corrupt")
    data = (corrupt / "model.safetensors").read_bytes()
    (corrupt / "model.safetensors").write_bytes(data[: len(data) - 7])
    imgs = structured_images(5, 24, seed=3, dtype=torch.float32)
    dir_a, dir_b = root / "A", root / "B"
    dir_a.mkdir()
    dir_b.mkdir()
    f = {"root": root, "weights": weights, "corrupt": corrupt, "A": dir_a, "B": dir_b}
    for i, name in enumerate(["a", "b", "c"]):
        f[name] = _png(dir_a / f"{name}.png", imgs[i])
    _png(dir_b / "a.png", imgs[3])
    _png(dir_b / "b.png", imgs[4])
    _png(dir_b / "d.png", imgs[0])  # no partner in A
    (dir_a / "readme.txt").write_text("ignored: not an image suffix")
    f["notes"] = root / "notes.png"
    f["notes"].write_text("this is text, not a PNG")
    f["missing"] = root / "missing.png"
    return f


def commands(f: dict[str, Path]) -> dict[str, list[str]]:
    w = ["--weights", str(f["weights"])]
    a, b, c = str(f["a"]), str(f["b"]), str(f["c"])
    compare, umbrella = script("lipsim-compare"), script("lipsim")
    return {
        "two-files": [*MODULE, a, b, *w],
        "threshold-eps": [*MODULE, a, b, "--threshold", "0.01", "--eps", "0.5", *w],
        "ref": [compare, "--ref", a, b, c, "--json", *w],
        "two-dirs": [*MODULE, str(f["A"]), str(f["B"]), "--json", "--threshold", "0.02", *w],
        "one-dir": [*MODULE, str(f["A"]), "--json", "--eps", "0", "--batch-size", "2", *w],
        "lipsim-compare": [umbrella, "compare", a, b, "--json", *w],
        # errors
        "err-missing": [*MODULE, a, str(f["missing"]), *w],
        "err-not-image": [*MODULE, a, str(f["notes"]), *w],
        "err-threshold": [compare, a, b, "--threshold", "3", *w],
        "err-three-paths": [*MODULE, a, b, c, *w],
        "err-dir-and-file": [*MODULE, str(f["A"]), b, *w],
        "err-corrupt-weights": [*MODULE, a, b, "--weights", str(f["corrupt"])],
        "err-unknown-arch": [*MODULE, a, b, "--arch", "resnet", *w],
        # the umbrella command
        "list-archs": [umbrella, "list-archs"],
        "list-weights": [umbrella, "list-weights"],
        "no-command": [umbrella],
    }


_STATE: tuple[dict[str, Path], Runner] | None = None


def start() -> tuple[dict[str, Path], Runner]:
    """Create the files and start every command (once per process); later calls return the same."""
    global _STATE
    if _STATE is None:
        root = Path(tempfile.mkdtemp(prefix="lipsim-cli-tests-"))
        files = make_files(root)
        _STATE = files, Runner(commands(files), cwd=root)
    return _STATE


def stop() -> None:
    global _STATE
    if _STATE is not None:
        files, runner = _STATE
        runner.close()
        shutil.rmtree(files["root"], ignore_errors=True)
        _STATE = None
