"""benchmarks/speed.py: its options and the LipSim-vs-LPIPS table's arithmetic (no timing is asserted)."""

from __future__ import annotations

import importlib.util
import subprocess
import sys
from pathlib import Path

import pytest

SCRIPT = Path(__file__).resolve().parents[1] / "benchmarks" / "speed.py"


@pytest.fixture(scope="module")
def speed():
    spec = importlib.util.spec_from_file_location("benchmarks_speed", SCRIPT)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_help_lists_the_lpips_options():
    out = subprocess.run([sys.executable, str(SCRIPT), "--help"], capture_output=True, text=True, check=True).stdout
    for option in ("--only-lpips", "--weights", "--rounds", "--threads", "--only-pairs", "--only-startup"):
        assert option in out


@pytest.mark.parametrize(
    "argv, message",
    [
        (["--only-lpips", "--rounds", "0"], "--rounds and --threads must be >= 1, got 0 and 2"),
        (["--only-lpips", "--threads", "0"], "--rounds and --threads must be >= 1, got 5 and 0"),
        (
            ["--only-lpips", "--weights", ""],
            "--weights must name weights (a directory, a .safetensors file or a registered name), got ''",
        ),
        (["--only-lpips", "--only-pairs"], "argument --only-pairs: not allowed with argument --only-lpips"),
    ],
)
def test_bad_options_are_refused(speed, capsys, argv, message):
    with pytest.raises(SystemExit) as e:
        speed.main(argv)
    assert e.value.code == 2
    assert message in capsys.readouterr().err


def _result(metric: str, call: str, wall_s: float, cpu_s: float, ok: bool = True) -> dict:
    return dict(
        metric=metric,
        call=call,
        weights="w.safetensors",
        network_size=[224, 224],
        rounds=2,
        threads=2,
        warmup_s=2 * wall_s,
        wall_s=wall_s,
        cpu_s=cpu_s,
        load_before=1.0,
        load_after=1.5,
        output_ok=ok,
    )


def test_lpips_table_speedups_and_targets(speed, capsys):
    res = {
        "LipSim distance": _result("lipsim", "distance", 0.32, 0.60),
        "LPIPS-Alex distance": _result("lpips-alex", "distance", 1.92, 3.00),  # 6x wall, 5x CPU
        "LipSim loss": _result("lipsim", "loss", 1.00, 2.00),
        "LPIPS-Alex loss": _result("lpips-alex", "loss", 2.50, 6.00),  # 2.5x wall, 3x CPU
        "LipSim embed": _result("lipsim", "embed", 0.256, 0.5, ok=False),  # 8 ms/image
    }
    checks = speed.print_lpips(res)
    out = capsys.readouterr().out
    assert [good for _, good in checks] == [True, False, True, False]
    assert checks[0][0] == "LipSim vs LPIPS-Alex as a distance: 6.00x faster >= 5x (wall, median of rounds)"
    assert checks[1][0] == "LipSim vs LPIPS-Alex as a loss: 2.50x faster >= 3x (wall, median of rounds)"
    assert checks[2][0] == (
        "weights w.safetensors at 224 px, batch 32, 2 threads: 8.00 ms/image <= 10 (wall, median of rounds)"
    )
    assert checks[3][0].endswith(": not LipSim embed")
    rows = {line[:34].strip(): line[34:].split() for line in out.splitlines()}
    assert rows["speed-up as a distance (x)"] == ["6.00", "5.00", ">=", "5", "PASS"]
    assert rows["speed-up as a loss (x)"] == ["2.50", "3.00", ">=", "3", "FAIL"]
    assert rows["embedding, batch 32 (ms/image)"] == ["8.00", "15.62", "<=", "10", "PASS"]
    assert rows["LipSim distance        pair"] == ["10.00", "18.75", "20.00"]  # ms per pair: wall, CPU, warm-up
