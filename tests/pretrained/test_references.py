"""How a weights reference is read: explicit Hub references, paths that do not exist, bare registered names."""

from __future__ import annotations

import os
import re
from pathlib import Path

import pytest

from lipsim import LipSim, UnknownWeightsError, WeightsError, list_weights
from lipsim.pretrained import resolve as resolve_mod
from lipsim.pretrained.resolve import looks_like_path, parse_hub_reference
from tests._helpers import tiny_model


@pytest.fixture
def no_network(monkeypatch):
    """Any attempt to reach the Hub fails the test (the point: path-like references never go there)."""

    def refuse(*a, **k):
        raise AssertionError(f"hub_download called with {a} {k}")

    monkeypatch.setattr(resolve_mod, "hub_download", refuse)


@pytest.mark.parametrize(
    "ref", ["runs/model", "./model", "../x/y", "~/no-such-lipsim-model", "model.safetensors", "runs/model.safetensors"]
)
def test_missing_paths_are_no_such_file(no_network, ref):
    hint = "; for the Hugging Face Hub repo write 'hf-hub:runs/model'" if ref == "runs/model" else ""
    with pytest.raises(WeightsError, match=f"^{re.escape(f'weights: no such file or directory: {ref!r}{hint}')}$"):
        LipSim(weights=ref)


def test_path_objects_are_always_paths(no_network, tmp_path):
    missing = tmp_path / "efficient-photos64-v1"
    with pytest.raises(WeightsError, match=f"^{re.escape(f'weights: no such file or directory: {str(missing)!r}')}$"):
        LipSim(weights=missing)
    with pytest.raises(WeightsError, match=r"^weights: no such file or directory: 'efficient-photos64-v1'$"):
        LipSim(weights=Path("efficient-photos64-v1"))  # a Path is never a registered name


def test_broken_link_and_special_files(no_network, tmp_path):
    (tmp_path / "link").symlink_to(tmp_path / "gone")
    with pytest.raises(
        WeightsError, match=f"^weights: broken symbolic link: {re.escape(repr(str(tmp_path / 'link')))}$"
    ):
        LipSim(weights=tmp_path / "link")
    if hasattr(os, "mkfifo"):
        os.mkfifo(tmp_path / "fifo")
        with pytest.raises(WeightsError, match=r"^expected a weights file or directory, got a FIFO \(named pipe\): "):
            LipSim(weights=str(tmp_path / "fifo"))


def test_tilde_is_expanded(tmp_path, monkeypatch):
    m = tiny_model("efficient")
    m.save_pretrained(tmp_path / "home" / "mymodel")
    monkeypatch.setenv("HOME", str(tmp_path / "home"))
    assert LipSim(weights="~/mymodel").arch == "efficient"


def test_unknown_bare_name(no_network):
    msg = (
        f"unknown weights 'nope': not a registered name ({', '.join(list_weights())}) and not an existing path; "
        "Hub repos are written 'hf-hub:org/name' or 'hf-hub:org/name@revision'"
    )
    with pytest.raises(UnknownWeightsError, match=f"^{re.escape(msg)}$"):
        LipSim(weights="nope")


def test_registered_names_stay_bare(no_network):
    assert "efficient-photos64-v1" in LipSim(weights="efficient-photos64-v1").source


def test_hub_references_are_explicit(monkeypatch):
    seen = []
    monkeypatch.setattr(resolve_mod, "_from_hub_repo", lambda repo, rev, *pins: seen.append((repo, rev)) or "resolved")
    assert resolve_mod.resolve_weights("hf-hub:org/name", None) == "resolved"
    assert resolve_mod.resolve_weights("hf-hub:org/name@v2", None) == "resolved"
    assert seen == [("org/name", None), ("org/name", "v2")]


@pytest.mark.parametrize(
    "ref", ["hf-hub:", "hf-hub:name", "hf-hub:a/b/c", "hf-hub:org/name@", "hf-hub:/x", "hf-hub:org/na me"]
)
def test_malformed_hub_references(ref):
    msg = f"bad Hub reference {ref!r}: expected 'hf-hub:org/name' or 'hf-hub:org/name@revision'"
    with pytest.raises(WeightsError, match=f"^{re.escape(msg)}$"):
        LipSim(weights=ref)


def test_parse_and_classify():
    assert parse_hub_reference("hf-hub:lipsim/efficient-photos64-v1@0123abc") == (
        "lipsim/efficient-photos64-v1",
        "0123abc",
    )
    assert [looks_like_path(r) for r in ("a/b", ".x", "~", "m.safetensors", "efficient-photos64-v1")] == [
        True,
        True,
        True,
        True,
        False,
    ]
