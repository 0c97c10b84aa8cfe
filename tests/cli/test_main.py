"""The ``lipsim`` umbrella command: list-archs, list-weights, compare, errors."""

from __future__ import annotations

import subprocess

import pytest

from lipsim import list_archs, list_weights
from lipsim.cli.main import main
from tests.cli import _runner as cli_runner


@pytest.fixture(scope="module")
def runs() -> cli_runner.Runner:
    return cli_runner.start()[1]


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


def test_usage_error_is_one_line(runs):
    r = runs.result("no-command")
    assert r.returncode == 2 and "Traceback" not in r.stderr and r.stdout == ""
    assert r.stderr == "lipsim: error: the following arguments are required: command (see --help)\n"


@pytest.mark.parametrize(
    "argv, message",
    [
        (["frobnicate"], "lipsim: error: argument command: invalid choice: 'frobnicate'"),
        (["list-weights", "--bogus"], "lipsim: error: unrecognized arguments: --bogus (see --help)"),
    ],
)
def test_in_process_usage_errors(capsys, argv, message):
    with pytest.raises(SystemExit) as e:
        main(argv)
    assert e.value.code == 2
    err = capsys.readouterr().err
    assert len(err.splitlines()) == 1 and err.startswith(message), err


def test_in_process(capsys):
    assert main(["list-archs"]) == 0
    assert capsys.readouterr().out.splitlines()[0].startswith("efficient\t")
    assert main(["list-weights", "--arch", "no-such-arch"]) == 0
    assert capsys.readouterr().out == ""
