"""The README's Python snippets run as pasted: every ```python block, in order, in one namespace, from the
repository root (as a reader pastes them into one session). A block marked
``<!-- readme-test: skip (reason) -->`` (it needs a file lipsim cannot ship) is compiled, and every name it reads
must be defined by an earlier block, an import of its own or a builtin."""

from __future__ import annotations

import ast
import builtins
import re
import warnings
from pathlib import Path

import pytest
import torch

ROOT = Path(__file__).resolve().parents[1]
README = ROOT / "README.md"
_BLOCK = re.compile(r"(?:<!-- readme-test: skip \((?P<skip>[^)]*)\) -->\n)?^```python\n(?P<code>.*?)^```", re.M | re.S)


def python_blocks() -> list[tuple[str, str | None, int]]:
    """(code, skip reason or None, line number) of each ```python block."""
    text = README.read_text(encoding="utf-8")
    return [(m["code"], m["skip"], text.count("\n", 0, m.start("code")) + 1) for m in _BLOCK.finditer(text)]


def _free_names(code: str) -> set[str]:
    """Names a block reads that it neither assigns nor imports (ast walk; no execution)."""
    tree = ast.parse(code)
    loaded, bound = set(), set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Name):
            (loaded if isinstance(node.ctx, ast.Load) else bound).add(node.id)
        elif isinstance(node, (ast.Import, ast.ImportFrom)):
            bound.update((a.asname or a.name).split(".")[0] for a in node.names)
        elif isinstance(node, (ast.FunctionDef, ast.ClassDef)):
            bound.add(node.name)
        elif isinstance(node, ast.arg):
            bound.add(node.arg)
    return loaded - bound - set(dir(builtins))


def test_readme_has_python_blocks():
    blocks = python_blocks()
    assert len(blocks) >= 4
    assert sum(skip is not None for _, skip, _ in blocks) == 1  # only the paper-checkpoint conversion


def test_python_snippets_run_as_pasted(monkeypatch):
    monkeypatch.chdir(ROOT)
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    namespace: dict[str, object] = {"__name__": "__readme__"}
    ran = 0
    for code, skip, line in python_blocks():
        if skip is not None:
            compile(code, f"README.md:{line}", "exec")
            missing = _free_names(code) - set(namespace)
            assert not missing, f"README.md:{line} (skipped: {skip}) uses undefined names {sorted(missing)}"
            continue
        with warnings.catch_warnings():
            warnings.simplefilter("error")  # a snippet that warns is not clean as pasted
            exec(compile(code, f"README.md:{line}", "exec"), namespace)
        ran += 1
    assert ran >= 4
    # what the snippets promise
    assert int(namespace["r"].choice) == 0  # the mild blur is closer to ref than the strong one
    assert namespace["model"].threshold == pytest.approx(0.056294)  # the default weights' calibrated threshold
    assert bool(namespace["cert"].same)  # chelsea and its JPEG copy: the same photo at that threshold
    assert float(namespace["d"]) == pytest.approx(float(namespace["cert"].distance))
    assert torch.sigmoid(namespace["logits"]).min() > 0 and torch.sigmoid(namespace["logits"]).max() < 1
    assert namespace["x"].grad is not None and torch.isfinite(namespace["x"].grad).all()
    # Coming from LPIPS: one target against two images, the map at the image size, the hub model is the default
    assert namespace["dists"].shape == (2,) and namespace["heat"].shape == (2, 1, 256, 256)
    assert namespace["loss_fn"].value_range == (-1.0, 1.0) and namespace["cert_pm"].eps == pytest.approx(72 / 255)
    assert namespace["hub_model"].source == namespace["loss_fn"].source is not None
    assert 0 < float(namespace["mean_distance"]) <= 2


def test_free_names_helper():
    assert _free_names("import torch\ny = torch.zeros(1) + x\nfor i in range(2): z = i") == {"x"}
