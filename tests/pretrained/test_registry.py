"""The weights registry: registration, lookup, defaults, and the errors of each lookup."""

from __future__ import annotations

import re

import pytest
import torch

from lipsim import LipSim, WeightsError, list_weights
from lipsim.pretrained import (
    WeightsSpec,
    default_weights_for,
    get_weights_spec,
    register_weights,
    registry,
    sha256_file,
)
from lipsim.pretrained import bundled as bundled_mod
from lipsim.pretrained.bundled import bundled_file
from lipsim.pretrained.safetensors_io import read_safetensors
from tests._helpers import structured_images, tiny_model


def spec(name: str, arch: str = "efficient", **kw) -> WeightsSpec:
    base = dict(
        name=name,
        arch=arch,
        file=f"{name}.safetensors",
        sha256=None,
        hub_repo=None,
        hub_revision=None,
        license="MIT",
        description="test entry",
    )
    return WeightsSpec(**{**base, **kw})


def test_register_list_and_get(temp_registry):
    before = list_weights()
    a = temp_registry(spec("zz-test-b"))
    temp_registry(spec("zz-test-a", arch="paper-small"))
    assert get_weights_spec("zz-test-b") is a
    assert list_weights() == sorted(before + ["zz-test-a", "zz-test-b"])
    assert "zz-test-a" in list_weights("paper-small") and "zz-test-a" not in list_weights("efficient")
    assert list_weights("no-such-arch") == []


def test_registry_cleanup_left_nothing_behind():
    assert not [n for n in list_weights() if n.startswith("zz-test-")]


def test_catalog_entries_are_well_formed():
    """Whatever the catalog registers: a known arch, a buildable config, and a file or a way to make one."""
    from lipsim.archs import get_arch_spec

    for name in list_weights():
        s = get_weights_spec(name)
        assert s.name == name
        get_arch_spec(s.arch)
        assert s.file.endswith(".safetensors")
        assert s.sha256 is None or re.fullmatch(r"[0-9a-f]{64}", s.sha256)
        assert s.sha256 is not None or s.conversion_hint or s.hub_repo  # unpublished entries say how to get them
        path = bundled_file(s.file)
        assert path is not None or s.hub_repo is not None or s.sha256 is None
        if path is not None and s.sha256 is not None:  # the file's own config is the one source: it must agree
            _, config = read_safetensors(path, expected_sha256=s.sha256)
            assert config["arch"] == s.arch and config["constant_coordinate"] in ("append", "none")
    for arch in ("efficient", "paper-small"):
        assert sum(s.default for s in registry._REGISTRY.values() if s.arch == arch) <= 1


def test_duplicate_name(temp_registry):
    temp_registry(spec("zz-test-dup"))
    with pytest.raises(ValueError, match=r"^weights 'zz-test-dup' are already registered$"):
        register_weights(spec("zz-test-dup"))


def test_unknown_name():
    msg = f"unknown weights 'nope'; registered: {list_weights()}"
    with pytest.raises(WeightsError, match=f"^{re.escape(msg)}$"):
        get_weights_spec("nope")


def test_default_lookup(empty_registry, temp_registry):
    with pytest.raises(
        WeightsError,
        match=r"^no default pretrained weights are registered for arch 'paper-small'\. "
        r"Use LipSim\(pretrained=False\)",
    ):
        default_weights_for("paper-small")
    temp_registry(spec("zz-test-ps", arch="paper-small"))
    with pytest.raises(
        WeightsError,
        match=r"for arch 'paper-small' \(registered for it: \[.*'zz-test-ps'.*\]; "
        r"pass weights=NAME\)",
    ):
        default_weights_for("paper-small")
    d = temp_registry(spec("zz-test-ps-default", arch="paper-small", default=True))
    assert default_weights_for("paper-small") is d


def test_spec_without_a_published_file(temp_registry):
    temp_registry(spec("zz-test-unpublished", conversion_hint="convert it with `lipsim convert-original`"))
    with pytest.raises(
        WeightsError,
        match=r"^weights 'zz-test-unpublished' are registered but no published file "
        r"exists yet: convert it with `lipsim convert-original`$",
    ):
        LipSim(weights="zz-test-unpublished")


def test_spec_neither_bundled_nor_on_the_hub(temp_registry):
    temp_registry(spec("zz-test-nowhere", sha256="0" * 64))
    with pytest.raises(
        WeightsError,
        match=r"^weights 'zz-test-nowhere': 'zz-test-nowhere.safetensors' is not bundled "
        r"and no Hub repo is registered$",
    ):
        LipSim(weights="zz-test-nowhere")


def test_bundled_weights_are_found_and_verified(temp_registry, tmp_path, monkeypatch):
    m = tiny_model("efficient", dtype=torch.float32)
    m.save_pretrained(tmp_path / "saved")
    monkeypatch.setattr(bundled_mod, "_SOURCE_TREE_WEIGHTS", tmp_path / "saved")  # stands for the wheel folder
    sha = sha256_file(tmp_path / "saved" / "model.safetensors")
    temp_registry(spec("zz-test-bundled", file="model.safetensors", sha256=sha))
    loaded = LipSim(weights="zz-test-bundled")
    x = structured_images(2, 16, dtype=torch.float32)
    assert (loaded(x, x.flip(-1)) == m(x, x.flip(-1))).all()
    assert loaded.source.startswith("zz-test-bundled (")
    temp_registry(spec("zz-test-bundled-bad", file="model.safetensors", sha256="f" * 64))
    with pytest.raises(WeightsError, match=r"failed its sha256 check: expected f{64}, found " + sha):
        LipSim(weights="zz-test-bundled-bad")


# ---------------------------------------------------------------------------------------------- the lean wheel
def _wheel_weights() -> dict[str, str]:
    from pathlib import Path

    tomllib = pytest.importorskip("tomllib")  # Python >= 3.11
    root = Path(__file__).resolve().parents[2]
    config = tomllib.loads((root / "pyproject.toml").read_text())
    included = config["tool"]["hatch"]["build"]["targets"]["wheel"]["force-include"]
    return {src: dst for src, dst in included.items() if src.startswith("weights")}


def test_the_wheel_bundles_the_default_and_at_most_one_earlier_version():
    from pathlib import Path

    from lipsim.pretrained.catalog import DEFAULT_WEIGHTS

    root = Path(__file__).resolve().parents[2]
    included = _wheel_weights()
    assert 1 <= len(included) <= 2 and all(src.endswith(".safetensors") for src in included)
    assert f"weights/{get_weights_spec(DEFAULT_WEIGHTS).file}" in included
    assert all(dst == "lipsim/_bundled_weights/" + Path(src).name for src, dst in included.items())
    assert sum((root / src).stat().st_size for src in included) <= 18 * 2**20  # the wheel stays <= 20 MB
    for name in list_weights():  # every other published file is archived in the repo and says where it was bundled
        s = get_weights_spec(name)
        if s.sha256 is not None and f"weights/{s.file}" not in included:
            assert (root / "weights" / "archive" / s.file).is_file() and s.bundled_in and s.hub_repo


def test_weights_no_longer_bundled_name_the_release_that_bundled_them(temp_registry, tmp_path, monkeypatch):
    """Installed from the wheel (no archive folder) and offline: one line naming the release to install."""
    monkeypatch.setattr(bundled_mod, "_SOURCE_TREE_WEIGHTS", tmp_path / "no-checkout")
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    monkeypatch.setenv("HF_HUB_CACHE", str(tmp_path / "cache"))
    temp_registry(
        spec("zz-test-old", sha256="a" * 64, hub_repo="lipsim/zz-test-old", hub_revision="v0", bundled_in="0.1.0")
    )
    with pytest.raises(WeightsError) as e:
        LipSim(weights="zz-test-old")
    message = str(e.value)
    assert "\n" not in message
    assert message.startswith(
        "weights 'zz-test-old' are not bundled in this wheel (the last release that bundled them is lipsim 0.1.0: "
        "pip install 'lipsim==0.1.0'), and could not get 'zz-test-old.safetensors' from the Hugging Face Hub repo "
        "'lipsim/zz-test-old' at revision v0 (HF_HUB_OFFLINE is set"
    )


def test_archived_weights_load_from_a_source_checkout(monkeypatch):
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    path = bundled_file(get_weights_spec("efficient-native-v4").file)
    assert path is not None and path.parent.name == "archive"
    assert LipSim(weights="efficient-native-v4").threshold is not None


def test_publish_all_dry_run_lists_every_file_with_its_card():
    import subprocess
    import sys
    from pathlib import Path

    root = Path(__file__).resolve().parents[2]
    run = subprocess.run(
        [sys.executable, str(root / "scripts" / "publish_weights.py"), "--all", "--dry-run"],
        capture_output=True,
        text=True,
        check=True,
        timeout=120,
    )
    lines = run.stdout.splitlines()
    for name in list_weights():
        s = get_weights_spec(name)
        if s.sha256 is not None and bundled_file(s.file) is not None:
            (line,) = [x for x in lines if x.startswith(f"{name}: ")]
            assert f"-> {s.hub_repo} (tag {s.hub_revision})" in line
            card = line.split(" + ")[1].split(" -> ")[0]
            assert (root / "weights" / card).is_file(), line
