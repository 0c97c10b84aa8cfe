"""cli._common: every expected failure is one line on stderr with exit status 2; warnings are one line each."""

from __future__ import annotations

import warnings

import pytest

from lipsim.cli._common import run_cli
from lipsim.errors import ImageError, MissingDependencyError, UnknownNameError, WeightsError


def _raise(exc: BaseException):
    def body() -> int:
        raise exc

    return body


@pytest.mark.parametrize("exc, line", [
    (UnknownNameError("unknown teacher 'nope'; available: a, b"), "unknown teacher 'nope'; available: a, b"),
    (WeightsError("bad weights\nsecond line"), "bad weights"),
    (MissingDependencyError("install it with: pip install x"), "install it with: pip install x"),
    (ImageError("refused"), "refused"),
    (FileNotFoundError("no such file or directory: 'x'"), "no such file or directory: 'x'"),
    (ModuleNotFoundError("No module named 'tqdm'", name="tqdm"),
     "missing Python package: No module named 'tqdm' (the training tools need the train extra: "
     "pip install 'lipsim[train]')"),
    (ModuleNotFoundError("No module named 'foo'", name="foo"), "missing Python package: No module named 'foo'"),
])
def test_expected_failures_are_one_line(capsys, exc, line):
    with pytest.raises(SystemExit) as e:
        run_cli("prog", _raise(exc))
    assert e.value.code == 2
    assert capsys.readouterr().err == f"prog: error: {line}\n"


def test_lipsim_own_import_errors_keep_the_traceback():
    with pytest.raises(ModuleNotFoundError):
        run_cli("prog", _raise(ModuleNotFoundError("No module named 'lipsim.nope'", name="lipsim.nope")))


def test_unexpected_errors_are_not_hidden():
    with pytest.raises(ZeroDivisionError):
        run_cli("prog", _raise(ZeroDivisionError("bug")))


def test_warnings_are_one_line_and_restored(capsys):
    before = warnings.showwarning

    def body() -> int:
        warnings.warn("first line\nsecond line", UserWarning)
        return 0

    with warnings.catch_warnings():
        warnings.simplefilter("always")
        assert run_cli("prog", body) == 0
    assert capsys.readouterr().err == "prog: warning: first line\n"
    assert warnings.showwarning is before
