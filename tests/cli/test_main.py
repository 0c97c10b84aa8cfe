"""The ``lipsim`` umbrella command: list-archs, list-weights, compare, errors."""

from __future__ import annotations

import subprocess

import pytest

from lipsim import list_archs, list_weights
from lipsim.cli.main import main
from tests.cli._runner import Runner, script


@pytest.fixture(scope="module")
def runs(tmp_path_factory):
    exe = script("lipsim")
    runner = Runner(
        {
            "list-archs": [exe, "list-archs"],
            "list-weights": [exe, "list-weights"],
            "no-command": [exe],
            "bad-command": [exe, "frobnicate"],
        },
        cwd=tmp_path_factory.mktemp("main"),
    )
    yield runner
    runner.close()


def _check_ok(r: subprocess.CompletedProcess) -> list[str]:
    assert r.returncode == 0, r.stderr
    assert "Traceback" not in r.stderr
    return r.stdout.splitlines()


def test_list_archs(runs):
    lines = _check_ok(runs.result("list-archs"))
    assert [line.split("\t")[0] for line in lines] == list_archs() == ["efficient", "paper-small"]
    assert all(len(line.split("\t")) == 2 and line.split("\t")[1] for line in lines)


def test_list_weights(runs):
    lines = _check_ok(runs.result("list-weights"))
    assert [line.split("\t")[0] for line in lines] == list_weights()
    assert all(len(line.split("\t")) == 4 for line in lines)


@pytest.mark.parametrize("name, message", [
    ("no-command", "lipsim: error: the following arguments are required: command (see --help)"),
    ("bad-command", "lipsim: error: argument command: invalid choice: 'frobnicate'"),
])
def test_usage_errors_are_one_line(runs, name, message):
    r = runs.result(name)
    assert r.returncode == 2 and "Traceback" not in r.stderr
    lines = r.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith(message), r.stderr


def test_in_process(capsys):
    assert main(["list-archs"]) == 0
    assert capsys.readouterr().out.splitlines()[0].startswith("efficient\t")
    assert main(["list-weights", "--arch", "no-such-arch"]) == 0
    assert capsys.readouterr().out == ""
