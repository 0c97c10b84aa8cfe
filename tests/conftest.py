"""Shared fixtures of the core test suite. Nothing here downloads: the Hub is forced offline."""

from __future__ import annotations

import os

# Before anything imports huggingface_hub (which reads these once): never touch the network.
os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("HF_HUB_DISABLE_TELEMETRY", "1")

import pytest  # noqa: E402
import torch  # noqa: E402


@pytest.fixture(autouse=True)
def _seed() -> None:
    """Every test starts from the same global RNG state."""
    torch.manual_seed(0)


@pytest.fixture
def empty_registry(monkeypatch):
    """An empty weights registry for the test (whatever the catalog registers), restored afterwards."""
    from lipsim.pretrained import registry

    monkeypatch.setattr(registry, "_REGISTRY", {})
    return registry._REGISTRY


@pytest.fixture
def single_thread():
    """Run tiny float64 kernels on one thread: on two cores, thread hand-offs cost more than they save."""
    n = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(n)


def pytest_collection_modifyitems(session, config, items) -> None:
    """Run tests/cli last and start its subprocesses now, in the background (they overlap the other tests)."""
    cli_dir = os.path.join(os.path.dirname(os.path.abspath(__file__)), "cli") + os.sep
    cli = [it for it in items if str(it.path).startswith(cli_dir)]
    if not cli:
        return
    items[:] = [it for it in items if not str(it.path).startswith(cli_dir)] + cli
    if not config.option.collectonly and not os.environ.get("PYTEST_XDIST_WORKER"):  # else: started on first use
        from tests.cli import _runner

        _runner.start()


def pytest_sessionfinish(session, exitstatus) -> None:
    import sys

    runner = sys.modules.get("tests.cli._runner")
    if runner is not None:
        runner.stop()


def pytest_terminal_summary(terminalreporter) -> None:
    """With LIPSIM_REPORT_LIPSCHITZ=1, print the largest Lipschitz estimate measured per layer/arch."""
    if os.environ.get("LIPSIM_REPORT_LIPSCHITZ") != "1":
        return
    from tests._lipschitz import ESTIMATES

    terminalreporter.section("largest Lipschitz estimates (must be <= 1 + 1e-6)")
    for name in sorted(ESTIMATES):
        terminalreporter.write_line(f"{ESTIMATES[name]:.9f}  {name}")
