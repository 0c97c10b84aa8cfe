"""The example scripts run end to end (CPU, offline) and say what they promise."""

import os
import subprocess
import sys
from pathlib import Path

EXAMPLES = Path(__file__).resolve().parents[1] / "examples"
ENV = {**os.environ, "HF_HUB_OFFLINE": "1"}


def _run(script: str, *args: str) -> str:
    r = subprocess.run(
        [sys.executable, str(EXAMPLES / script), *args], capture_output=True, text=True, env=ENV, timeout=300
    )
    assert r.returncode == 0, r.stderr[-2000:]
    return r.stdout


def test_compare_example():
    out = _run("compare.py")
    assert "distance" in out and "certified interval" in out and "decision d <= 0.05" in out


def test_certify_two_afc_example():
    out = _run("certify_two_afc.py")
    assert "choice: x0 (mild blur is closer)" in out
    assert "PGD with budget 0.99 x radius" in out
    assert "choice unchanged" in out.split("0.99 x radius")[1].splitlines()[0]


def test_as_loss_example(tmp_path):
    strip = tmp_path / "strip.png"
    out = _run("as_loss.py", str(strip))
    line = out.split("distance to target: start ")[1].splitlines()[0]
    first, final = (float(v) for v in line.split(" -> optimised "))
    assert final < first
    assert strip.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
