"""Weights configs are validated (types, ranges, upper bounds, nesting) before anything is built or allocated."""

from __future__ import annotations

import json
import re

import pytest

from lipsim import LipSim, WeightsError
from lipsim.pretrained.config_check import MAX_CONFIG_BYTES, MAX_DEPTH, validate_config
from tests._helpers import tiny_model


@pytest.fixture
def saved(tmp_path):
    return tiny_model("efficient").save_pretrained(tmp_path / "eff")


def _write(d, **changes) -> str:
    cfg = json.loads((d / "config.json").read_text())
    for key, value in changes.items():
        if key.startswith("arch_config__"):
            cfg["arch_config"][key.split("__", 1)[1]] = value
        else:
            cfg[key] = value
    (d / "config.json").write_text(json.dumps(cfg))
    return repr(str(d / "config.json"))


@pytest.mark.parametrize(
    "key, value, expected",
    [
        ("embed_dim", 10**12, "arch_config.embed_dim must be an int in [1, 65536], got 1000000000000"),
        ("image_size", 100000, "arch_config.image_size must be an int in [8, 4096], got 100000"),
        ("image_size", 0, "arch_config.image_size must be an int in [8, 4096], got 0"),
        ("image_size", -64, "arch_config.image_size must be an int in [8, 4096], got -64"),
        ("image_size", 64.0, "arch_config.image_size must be an int in [8, 4096], got 64.0"),
        ("image_size", True, "arch_config.image_size must be an int in [8, 4096], got True"),
        ("widths", [8, 15], "arch_config.widths must be a list of 1 to 16 even ints in [2, 8192], got [8, 15]"),
        ("widths", [8] * 17, "arch_config.widths must be a list of 1 to 16 even ints in [2, 8192], got [8, 8, 8"),
        ("widths", [10**6], "arch_config.widths must be a list of 1 to 16 even ints in [2, 8192], got [1000000]"),
        ("head_width", 17, "arch_config.head_width must be an even int in [2, 65536], got 17"),
        ("stem_factor", "4", "arch_config.stem_factor must be an int in [1, 16], got '4'"),
        # every option is typed: a string "false" used to be read as true
        ("isometric", "false", "arch_config.isometric must be true or false, got 'false'"),
        ("isometric", 0, "arch_config.isometric must be true or false, got 0"),
        ("native_resolution", "true", "arch_config.native_resolution must be true or false, got 'true'"),
        ("max_size", 512.0, "arch_config.max_size must be an int in [8, 4096], got 512.0"),
        ("max_size", 10**6, "arch_config.max_size must be an int in [8, 4096], got 1000000"),
        ("grid", True, "arch_config.grid must be an int in [1, 16], got True"),
        ("grid", 100, "arch_config.grid must be an int in [1, 16], got 100"),
        (
            "bogus_option",
            1,
            "arch_config.bogus_option is not an option of arch 'efficient'; its options are ['embed_dim', 'grid', "
            "'head_width', 'image_size', 'isometric', 'max_size', 'native_resolution', 'stem_factor', 'widths']",
        ),
    ],
)
def test_arch_config_values(saved, key, value, expected):
    source = _write(saved, **{f"arch_config__{key}": value})
    with pytest.raises(WeightsError, match=f"^{re.escape(source)}: {re.escape(expected)}"):
        LipSim(weights=saved)


@pytest.mark.parametrize(
    "changes, expected",
    [
        ({"arch": 3}, "arch must be one of ['efficient', 'paper-small'], got 3"),
        ({"arch": "resnet"}, "arch must be one of ['efficient', 'paper-small'], got 'resnet'"),
        ({"format": "timm"}, "format must be 'lipsim', got 'timm'"),
        ({"arch_config": [1, 2]}, "arch_config must be a JSON object, got list"),
        ({"weights_sha256": "abc"}, "weights_sha256 must be 64 hex digits, got 'abc'"),
        ({"threshold": 3}, "threshold must be a number in [0, 2] (the range of d) or null, got 3"),
        ({"threshold": "0.1"}, "threshold must be a number in [0, 2] (the range of d) or null, got '0.1'"),
        ({"threshold": True}, "threshold must be a number in [0, 2] (the range of d) or null, got True"),
        ({"threshold_rates": [0.1]}, "threshold_rates must be a JSON object, got list"),
        ({"lipsim_version": 1}, "lipsim_version must be a string, got int"),
    ],
)
def test_top_level_values(saved, changes, expected):
    source = _write(saved, **changes)
    with pytest.raises(WeightsError, match=f"^{re.escape(source)}: {re.escape(expected)}$"):
        LipSim(weights=saved)


def test_nan_threshold_from_python_json(saved):
    text = (saved / "config.json").read_text()
    (saved / "config.json").write_text(text.replace('"arch":', '"threshold": NaN, "arch":'))
    with pytest.raises(
        WeightsError, match=r": threshold must be a number in \[0, 2\] \(the range of d\) or null, got nan$"
    ):
        LipSim(weights=saved)


def test_paper_small_values():
    with pytest.raises(
        WeightsError,
        match=r"^c: arch_config\.image_size must be a multiple of 16 in \[16, 4096\], "
        r"got 40$",
    ):
        validate_config({"arch": "paper-small", "arch_config": {"image_size": 40}}, "c")
    with pytest.raises(WeightsError, match=r"^c: arch_config\.paper_q_quirk must be true or false, got 1$"):
        validate_config({"arch": "paper-small", "arch_config": {"paper_q_quirk": 1}}, "c")
    with pytest.raises(
        WeightsError, match=r"^c: arch_config\.linear_inner must be an int in \[1, 65536\], got 10000000$"
    ):
        validate_config({"arch": "paper-small", "arch_config": {"linear_inner": 10**7}}, "c")


def test_deeply_nested_json_is_a_weights_error_not_a_recursion_error(saved):
    source = repr(str(saved / "config.json"))
    cfg = json.loads((saved / "config.json").read_text())
    (saved / "config.json").write_text(json.dumps(cfg)[:-1] + ', "notes": ' + "[" * 200_000 + "]" * 200_000 + "}")
    with pytest.raises(
        WeightsError,
        match=f"^{re.escape(source)}: config JSON is nested too deeply "
        rf"\(more than {MAX_DEPTH} levels\)$",
    ):
        LipSim(weights=saved)
    (saved / "config.json").write_text(json.dumps({**cfg, "notes": json.loads("[" * 40 + "]" * 40)}))
    with pytest.raises(WeightsError, match=f"^{re.escape(source)}: config JSON is nested too deeply"):
        LipSim(weights=saved)


def test_oversized_config(saved):
    (saved / "config.json").write_text(" " * (MAX_CONFIG_BYTES + 1))
    with pytest.raises(
        WeightsError,
        match=rf"^{re.escape(repr(str(saved / 'config.json')))}: config is "
        rf"{MAX_CONFIG_BYTES + 1:,} bytes, more than the {MAX_CONFIG_BYTES:,} accepted$",
    ):
        LipSim(weights=saved)


def test_a_config_that_does_not_build_is_a_weights_error(tmp_path):
    """Values within the bounds that the architecture still rejects: WeightsError naming the weights."""
    from lipsim.pretrained import write_safetensors

    m = tiny_model("efficient")
    path = tmp_path / "w.safetensors"
    config = {**m.config, "arch_config": {**m.config["arch_config"], "native_resolution": True, "max_size": 8}}
    sha = write_safetensors(path, m.backbone.state_dict(), config)
    with pytest.raises(
        WeightsError, match=rf"^weights {re.escape(repr(str(path)))}: .*max_size 8 is below image_size 16"
    ):
        LipSim(weights=path, expected_sha256=sha)


def test_every_option_of_every_arch_has_limits():
    """ARCH_CONFIG_LIMITS lists exactly the constructor arguments of each arch: none goes unchecked."""
    import inspect

    from lipsim.archs import get_arch_spec, list_archs
    from lipsim.pretrained.config_check import ARCH_CONFIG_LIMITS

    for arch in list_archs():
        params = set(inspect.signature(get_arch_spec(arch).builder).parameters)
        assert set(ARCH_CONFIG_LIMITS[arch]) == params, arch


def test_metadata_config_of_a_bare_file_is_validated(tmp_path):
    from lipsim.pretrained import write_safetensors

    m = tiny_model("efficient")
    path = tmp_path / "w.safetensors"
    sha = write_safetensors(path, m.backbone.state_dict(), {"arch": "efficient", "arch_config": {"embed_dim": -1}})
    with pytest.raises(
        WeightsError,
        match=rf"^{re.escape(str(path))}: arch_config\.embed_dim must be an int in "
        r"\[1, 65536\], got -1$",
    ):
        LipSim(weights=path, expected_sha256=sha)


def test_defaults_are_filled():
    cfg = validate_config({"arch": "efficient"}, "c")
    assert cfg == {"arch": "efficient", "constant_coordinate": "append", "arch_config": {}}
