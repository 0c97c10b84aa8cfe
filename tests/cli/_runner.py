"""Run CLI invocations as real subprocesses, several at a time (each one pays the torch import)."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from concurrent.futures import Future, ThreadPoolExecutor
from pathlib import Path

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

    def __init__(self, commands: dict[str, list[str]], cwd: Path, workers: int = 4) -> None:
        self._pool = ThreadPoolExecutor(max_workers=workers)
        self._futures: dict[str, Future] = {
            name: self._pool.submit(subprocess.run, cmd, capture_output=True, text=True, cwd=cwd, env=env(),
                                    timeout=300)
            for name, cmd in commands.items()
        }

    def result(self, name: str) -> subprocess.CompletedProcess:
        return self._futures[name].result()

    def close(self) -> None:
        self._pool.shutdown(wait=True)
