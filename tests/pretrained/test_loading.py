"""Weights: save_pretrained / from_pretrained, the offline Hub cache, registered specs, and every corruption."""

from __future__ import annotations

import json
import os
import re
import stat
from pathlib import Path

import pytest
import torch
from safetensors.torch import save_file

from lipsim import LipSim, UnknownWeightsError, WeightsError, list_weights
from lipsim.pretrained import WeightsSpec, sha256_file, write_safetensors
from tests._helpers import TINY, structured_images, tiny_model
from tests.pretrained._hub_cache import COMMIT, populate_hub_cache

X = structured_images(3, 16, seed=1, dtype=torch.float32)
Y = structured_images(3, 16, seed=2, dtype=torch.float32)


def _model(arch="efficient", **kw) -> LipSim:
    return tiny_model(arch, dtype=torch.float32, **kw)


@pytest.fixture
def saved(tmp_path) -> tuple[LipSim, Path]:
    m = _model()
    return m, m.save_pretrained(tmp_path / "eff")


@pytest.fixture
def offline_hub(tmp_path, monkeypatch) -> Path:
    """An empty Hub cache under tmp_path; HF_HOME, HF_HUB_CACHE and HF_HUB_OFFLINE point at it / are set."""
    home = tmp_path / "hf-home"
    monkeypatch.setenv("HF_HOME", str(home))
    monkeypatch.setenv("HF_HUB_CACHE", str(home / "hub"))
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    return home / "hub"


@pytest.fixture
def temp_spec(temp_registry):
    def add(**kw) -> WeightsSpec:
        return temp_registry(WeightsSpec(**{"license": "MIT", "description": "test", "hub_revision": None, **kw}))

    return add


def _same(a: LipSim, b: LipSim) -> None:
    torch.testing.assert_close(a(X, Y), b(X, Y), rtol=0, atol=0)


def _rx(text: str) -> str:
    return re.escape(text)


# ---------------------------------------------------------------------------------------------- round trip
def test_save_and_load_round_trip(saved):
    m, d = saved
    assert sorted(p.name for p in d.iterdir()) == ["config.json", "model.safetensors"]
    cfg = json.loads((d / "config.json").read_text())
    assert cfg["format"] == "lipsim" and cfg["arch"] == "efficient" and cfg["constant_coordinate"] == "append"
    assert cfg["arch_config"] == {**TINY["efficient"], "widths": list(TINY["efficient"]["widths"])}
    assert cfg["weights_sha256"] == sha256_file(d / "model.safetensors")
    loaded = LipSim.from_pretrained(d)
    assert not loaded.training and not any(p.requires_grad for p in loaded.parameters())
    assert loaded.source == str(d / "model.safetensors")
    _same(m, loaded)
    for k, v in m.state_dict().items():
        assert torch.equal(loaded.state_dict()[k], v)
    # the file alone carries its config as metadata; alone, nothing pins its digest: the caller does
    _same(m, LipSim(weights=str(d / "model.safetensors"), expected_sha256=cfg["weights_sha256"]))
    _same(m, LipSim(weights=d, device="cpu"))


def test_round_trip_keeps_options_and_provenance(tmp_path):
    m = _model("paper-small", constant_coordinate="none")
    d = m.save_pretrained(tmp_path / "ps", extra_config={"teacher": "dreamsim", "steps": 10})
    loaded = LipSim.from_pretrained(d)
    assert loaded.arch == "paper-small" and loaded.constant_coordinate == "none"
    assert loaded.provenance["teacher"] == "dreamsim" and loaded.config["steps"] == 10
    _same(m, loaded)
    assert LipSim.from_pretrained(d, constant_coordinate="append").constant_coordinate == "append"
    again = loaded.save_pretrained(tmp_path / "again")  # provenance survives a second save
    assert json.loads((again / "config.json").read_text())["teacher"] == "dreamsim"


# ---------------------------------------------------------------------------------------------- Hub cache
def test_offline_hub_cache(saved, offline_hub):
    m, d = saved
    snap = populate_hub_cache(
        offline_hub,
        "lipsim-test/tiny",
        {"config.json": d / "config.json", "model.safetensors": d / "model.safetensors"},
    )
    loaded = LipSim.from_pretrained("hf-hub:lipsim-test/tiny")
    assert Path(loaded.source).parent == snap
    _same(m, loaded)


def test_offline_hub_cache_from_hf_home_only(saved, offline_hub, monkeypatch):
    m, d = saved
    monkeypatch.delenv("HF_HUB_CACHE")  # HF_HOME/hub is then the cache
    populate_hub_cache(
        offline_hub,
        "lipsim-test/tiny2",
        {"config.json": d / "config.json", "model.safetensors": d / "model.safetensors"},
    )
    _same(m, LipSim.from_pretrained("hf-hub:lipsim-test/tiny2"))


def test_offline_hub_cache_miss(offline_hub):
    msg = (
        "could not get 'config.json' from the Hugging Face Hub repo 'lipsim-test/absent' "
        "(HF_HUB_OFFLINE is set and the file is not in the local cache: "
    )
    with pytest.raises(WeightsError, match=f"^{_rx(msg)}"):
        LipSim.from_pretrained("hf-hub:lipsim-test/absent")


def test_registered_spec_from_the_offline_cache(saved, offline_hub, temp_spec):
    m, d = saved
    populate_hub_cache(offline_hub, "lipsim-test/specs", {"tiny-eff.safetensors": d / "model.safetensors"})
    sha = sha256_file(d / "model.safetensors")
    common = dict(arch="efficient", file="tiny-eff.safetensors", sha256=sha, hub_repo="lipsim-test/specs")
    temp_spec(name="zz-test-hub", **common)
    loaded = LipSim(weights="zz-test-hub")
    assert loaded.source.startswith("zz-test-hub (") and str(offline_hub) in loaded.source
    _same(m, loaded)
    temp_spec(name="zz-test-hub-pinned", hub_revision=COMMIT, **common)  # a pinned commit resolves directly
    _same(m, LipSim(weights="zz-test-hub-pinned"))


def test_registered_default_is_picked(saved, offline_hub, empty_registry, temp_spec):
    """LipSim() and LipSim(arch=...) load the arch's default entry (here from the offline Hub cache)."""
    m, d = saved
    populate_hub_cache(offline_hub, "lipsim-test/default", {"tiny-eff.safetensors": d / "model.safetensors"})
    temp_spec(
        name="zz-test-default",
        arch="efficient",
        file="tiny-eff.safetensors",
        sha256=sha256_file(d / "model.safetensors"),
        hub_repo="lipsim-test/default",
        default=True,
    )
    _same(m, LipSim())
    _same(m, LipSim(arch="efficient"))
    with pytest.raises(WeightsError, match=r"^no default pretrained weights are registered for arch 'paper-small'"):
        LipSim(arch="paper-small")


def test_registered_spec_detects_a_tampered_cache_file(saved, offline_hub, temp_spec):
    m, d = saved
    sha = sha256_file(d / "model.safetensors")
    snap = populate_hub_cache(offline_hub, "lipsim-test/tampered", {"w.safetensors": d / "model.safetensors"})
    blob = (snap / "w.safetensors").resolve()
    data = bytearray(blob.read_bytes())
    data[-3] ^= 0x01  # one bit of one weight
    blob.write_bytes(bytes(data))
    temp_spec(
        name="zz-test-tampered", arch="efficient", file="w.safetensors", sha256=sha, hub_repo="lipsim-test/tampered"
    )
    found = sha256_file(blob)
    with pytest.raises(
        WeightsError,
        match=rf"^weights file '.*w\.safetensors' failed its sha256 check: "
        rf"expected {sha}, found {found} \({len(data)} bytes\); "
        r"the file is corrupt",
    ):
        LipSim(weights="zz-test-tampered")


# ---------------------------------------------------------------------------------------------- corruption
def _set_sha(d: Path, sha: str) -> None:
    cfg = json.loads((d / "config.json").read_text())
    cfg["weights_sha256"] = sha
    (d / "config.json").write_text(json.dumps(cfg))


def test_checksum_mismatch(saved):
    _, d = saved
    actual = sha256_file(d / "model.safetensors")
    _set_sha(d, "ab" * 32)
    size = (d / "model.safetensors").stat().st_size
    msg = (
        f"weights file {str(d / 'model.safetensors')!r} failed its sha256 check: expected {'ab' * 32}, "
        f"found {actual} ({size} bytes); the file is corrupt, truncated or not the registered weights"
    )
    with pytest.raises(WeightsError, match=f"^{_rx(msg)}$"):
        LipSim.from_pretrained(d)


def test_truncated_file(saved):
    _, d = saved
    w = d / "model.safetensors"
    expected = sha256_file(w)
    data = w.read_bytes()
    w.write_bytes(data[: len(data) // 2])
    with pytest.raises(
        WeightsError,
        match=rf"^weights file {_rx(repr(str(w)))} failed its sha256 check: expected "
        rf"{expected}, found {sha256_file(w)} \({len(data) // 2} bytes\)",
    ):
        LipSim.from_pretrained(d)
    # the file on its own, trusted without a checksum: safetensors itself refuses it
    with (
        pytest.warns(UserWarning, match="is loaded unverified"),
        pytest.raises(
            WeightsError,
            match=rf"^weights file {_rx(repr(str(w)))} is not a valid safetensors file "
            rf"\({len(data) // 2} bytes\): ",
        ),
    ):
        LipSim(weights=w, trust_unverified=True)


def test_tampered_byte(saved):
    _, d = saved
    w = d / "model.safetensors"
    expected = sha256_file(w)
    data = bytearray(w.read_bytes())
    data[len(data) - 10] ^= 0x40
    w.write_bytes(bytes(data))
    with pytest.raises(
        WeightsError,
        match=rf"^weights file {_rx(repr(str(w)))} failed its sha256 check: expected "
        rf"{expected}, found {sha256_file(w)}",
    ):
        LipSim.from_pretrained(d)


def test_not_safetensors(tmp_path, saved):
    bad = tmp_path / "bad.safetensors"
    bad.write_bytes(b"PK\x03\x04 this is a zip, not safetensors" * 10)
    size = bad.stat().st_size
    with pytest.raises(
        WeightsError,
        match=rf"^weights file {_rx(repr(str(bad)))} is not a valid safetensors file "
        rf"\({size} bytes\): ",
    ):
        LipSim(weights=bad, expected_sha256=sha256_file(bad))
    _, d = saved
    (d / "model.safetensors").write_bytes(bad.read_bytes())
    _set_sha(d, sha256_file(bad))  # even with a matching checksum, the format is checked
    with pytest.raises(WeightsError, match=rf"is not a valid safetensors file \({size} bytes\)"):
        LipSim.from_pretrained(d)


def test_efficient_weights_as_paper_small(saved):
    _, d = saved
    msg = f"weights {str(d / 'model.safetensors')!r} are for arch 'efficient', not 'paper-small'"
    with pytest.raises(WeightsError, match=f"^{_rx(msg)}$"):
        LipSim(weights=d, arch="paper-small")


def test_paper_small_weights_as_efficient(tmp_path):
    d = _model("paper-small").save_pretrained(tmp_path / "ps")
    msg = f"weights {str(d / 'model.safetensors')!r} are for arch 'paper-small', not 'efficient'"
    with pytest.raises(WeightsError, match=f"^{_rx(msg)}$"):
        LipSim(weights=d, arch="efficient")
    # the same tensors with no config at all, built as the efficient network the caller names
    raw = tmp_path / "ps-raw.safetensors"
    save_file(_model("paper-small").backbone.state_dict(), str(raw))
    with pytest.raises(
        WeightsError,
        match=rf"^weights {_rx(repr(str(raw)))} do not fit arch 'efficient' with this "
        r"config: \d+ missing keys \(.*\); \d+ unexpected keys \(convs\.0\.bias, ",
    ):
        LipSim(weights=raw, arch="efficient", expected_sha256=sha256_file(raw))


def test_different_embed_dim(saved, tmp_path):
    m, d = saved
    other = _model(embed_dim=6)
    # config (and the file's own metadata) say k=8, tensors are for k=6
    _set_sha(d, write_safetensors(d / "model.safetensors", other.backbone.state_dict(), m.config))
    msg = (
        f"weights {str(d / 'model.safetensors')!r} do not fit arch 'efficient' with this config: "
        "2 shape mismatches (head.2.bias: expected (8,), found (6,), "
        "head.2.weight: expected (8, 16), found (6, 16)). "
        "Are they weights for another architecture or config?"
    )
    with pytest.raises(WeightsError, match=f"^{_rx(msg)}$"):
        LipSim.from_pretrained(d)


def test_bad_directories_and_names(tmp_path, saved):
    empty = tmp_path / "empty"
    empty.mkdir()
    with pytest.raises(
        WeightsError, match=f"^{_rx(repr(str(empty)))} is not a lipsim pretrained directory: missing config.json$"
    ):
        LipSim(weights=empty)
    _, d = saved
    (d / "config.json").write_text("{not json")
    with pytest.raises(WeightsError, match=f"^{_rx(repr(str(d / 'config.json')))} is not valid JSON: "):
        LipSim(weights=d)
    (d / "config.json").write_text(json.dumps({"format": "lipsim"}))
    with pytest.raises(WeightsError, match=r"config must be a JSON object with at least 'arch'"):
        LipSim(weights=d)
    (d / "config.json").write_text(json.dumps({"arch": "efficient", "constant_coordinate": "prepend"}))
    with pytest.raises(WeightsError, match=r"constant_coordinate must be 'append' or 'none', got 'prepend'$"):
        LipSim(weights=d)
    msg = (
        f"unknown weights 'no-such-weights': not a registered name ({', '.join(list_weights())}) and not an "
        "existing path; Hub repos are written 'hf-hub:org/name' or 'hf-hub:org/name@revision'"
    )
    with pytest.raises(UnknownWeightsError, match=f"^{_rx(msg)}$"):
        LipSim(weights="no-such-weights")
    with pytest.raises(
        TypeError,
        match=r"^weights must be a path, registered name or 'hf-hub:org/name' reference, "
        r"got int$",
    ):
        LipSim(weights=3)


def test_pretrained_without_default_weights(empty_registry):
    msg = (
        "no default pretrained weights are registered for arch 'efficient'. Use LipSim(pretrained=False) for a "
        "freshly initialised model to train, or weights=PATH for a safetensors file or save_pretrained directory"
    )
    with pytest.raises(WeightsError, match=f"^{_rx(msg)}"):
        LipSim()


def test_pretrained_false_with_weights(saved):
    _, d = saved
    with pytest.raises(ValueError, match=r"^weights= was given with pretrained=False; pass pretrained=True"):
        LipSim(pretrained=False, weights=d)


# ---------------------------------------------------------------------------------------------- non-finite tensors
@pytest.mark.parametrize(
    "bad, counts",
    [
        (float("nan"), "1 NaN and 0 infinite"),
        (float("inf"), "0 NaN and 1 infinite"),
    ],
)
def test_non_finite_tensor_is_refused_naming_it(saved, bad, counts):
    m, d = saved
    sd = {k: v.clone() for k, v in m.backbone.state_dict().items()}
    sd["head.2.bias"][3] = bad
    w = d / "model.safetensors"
    sha = write_safetensors(w, sd, m.config)
    _set_sha(d, sha)  # a checksum that matches: the values themselves are checked
    msg = (
        f"weights file {str(w)!r}: tensor 'head.2.bias' holds {counts} values (of 8); the file is corrupt or "
        "comes from a diverged run"
    )
    with pytest.raises(WeightsError, match=f"^{_rx(msg)}$"):
        LipSim.from_pretrained(d)
    with pytest.raises(WeightsError, match=f"^{_rx(msg)}$"):
        LipSim(weights=w, expected_sha256=sha)  # the bare file


# ---------------------------------------------------------------------------------------------- no recorded checksum
_HINT = (
    "check it against a trusted source and pass expected_sha256 (--expected-sha256), or pass trust_unverified=True "
    "(--trust-unverified) to load it unverified"
)


def test_directory_without_a_checksum_is_refused_unless_pinned_or_trusted(saved):
    m, d = saved
    cfg = json.loads((d / "config.json").read_text())
    sha = cfg.pop("weights_sha256")
    (d / "config.json").write_text(json.dumps(cfg))
    cfg_name, w_name = repr(str(d / "config.json")), repr(str(d / "model.safetensors"))
    refused = f"{cfg_name} records no weights_sha256, so {w_name} cannot be verified; its sha256 is {sha}: {_HINT}"
    with pytest.raises(WeightsError, match=f"^{_rx(refused)}$"):
        LipSim.from_pretrained(d)
    _same(m, LipSim.from_pretrained(d, expected_sha256=sha))
    with pytest.raises(WeightsError, match=f"failed its sha256 check: expected {'ab' * 32}, found {sha}"):
        LipSim.from_pretrained(d, expected_sha256="ab" * 32)
    msg = (
        f"{cfg_name} records no weights_sha256, so {w_name} is loaded unverified (trust_unverified); its sha256 is "
        f'{sha}: add "weights_sha256": "{sha}" to the config to pin it'
    )
    with pytest.warns(UserWarning, match=f"^{_rx(msg)}$"):
        loaded = LipSim.from_pretrained(d, trust_unverified=True)
    _same(m, loaded)


def test_a_file_alone_needs_a_pinned_digest(saved, tmp_path):
    """A bare file records no checksum: one flipped byte (a decision flipped) used to load without a word."""
    m, d = saved
    w = tmp_path / "alone.safetensors"
    data = bytearray((d / "model.safetensors").read_bytes())
    sha = sha256_file(d / "model.safetensors")
    w.write_bytes(bytes(data))
    refused = (
        f"weights file {str(w)!r} cannot be verified: no sha256 is pinned for it (the registry does not "
        f"know it, and a file alone records none); its sha256 is {sha}: {_HINT}"
    )
    with pytest.raises(WeightsError, match=f"^{_rx(refused)}$"):
        LipSim(weights=w)
    _same(m, LipSim(weights=w, expected_sha256=sha.upper()))  # hex digits in either case
    data[len(data) - 10] ^= 0x40  # one byte of one weight
    w.write_bytes(bytes(data))
    flipped = sha256_file(w)
    with pytest.raises(WeightsError, match=f"failed its sha256 check: expected {sha.upper()}, found {flipped}"):
        LipSim(weights=w, expected_sha256=sha.upper())
    warned = (
        f"weights file {str(w)!r} is loaded unverified (trust_unverified): no sha256 is pinned for it; its "
        f"sha256 is {flipped}"
    )
    with pytest.warns(UserWarning, match=f"^{_rx(warned)}$"):
        LipSim(weights=w, trust_unverified=True)
    with pytest.raises(ValueError, match=r"^expected_sha256 must be 64 hex digits, got 'abc'$"):
        LipSim(weights=w, expected_sha256="abc")
    with pytest.raises(ValueError, match=r"^expected_sha256= and trust_unverified= apply to loaded weights"):
        LipSim(pretrained=False, trust_unverified=True)


def test_a_registered_file_under_another_path_is_verified(saved, tmp_path, temp_spec):
    """The registry pins the digest of its files wherever they are (weights/*.safetensors of a checkout)."""
    m, d = saved
    w = tmp_path / "copy.safetensors"
    w.write_bytes((d / "model.safetensors").read_bytes())
    temp_spec(name="zz-test-copy", arch="efficient", file="zz.safetensors", sha256=sha256_file(w), hub_repo=None)
    _same(m, LipSim(weights=w))


def test_a_file_without_a_config_is_built_only_as_the_caller_says(saved, tmp_path):
    """No lipsim metadata: lipsim does not guess a config; arch= (and its options) say which network it is."""
    m, _ = saved
    raw = tmp_path / "raw.safetensors"
    save_file({k: v.contiguous() for k, v in m.backbone.state_dict().items()}, str(raw))
    sha = sha256_file(raw)
    msg = (
        f"weights {raw}: the file carries no lipsim config (safetensors metadata 'lipsim_config'), so nothing says "
        "how to build its network; pass the architecture explicitly: LipSim(weights=..., arch=NAME, **options) "
        "(lipsim-compare --arch NAME)"
    )
    with pytest.raises(WeightsError, match=f"^{_rx(msg)}$"):
        LipSim(weights=raw, expected_sha256=sha)
    _same(m, LipSim(weights=raw, expected_sha256=sha, arch="efficient", **TINY["efficient"]))
    with pytest.raises(WeightsError, match=r"shape mismatches"):
        LipSim(weights=raw, expected_sha256=sha, arch="efficient")  # the arch's defaults: another network
    with pytest.raises(
        WeightsError,
        match=rf"^{_rx(str(raw))}: arch_config\.isometric must be true or false, got 'false'$",
    ):
        LipSim(weights=raw, expected_sha256=sha, arch="efficient", **{**TINY["efficient"], "isometric": "false"})
    with_config = tmp_path / "with-config.safetensors"
    sha2 = write_safetensors(with_config, m.backbone.state_dict(), m.config)
    with pytest.raises(
        WeightsError,
        match=rf"^weights {_rx(str(with_config))}: architecture options \['embed_dim'\] apply only to a file "
        r"without a lipsim config, and this one carries its own$",
    ):
        LipSim(weights=with_config, expected_sha256=sha2, embed_dim=8)
    with pytest.raises(ValueError, match=r"^architecture options \['embed_dim'\] apply only with pretrained=False$"):
        LipSim(weights=m.save_pretrained(tmp_path / "dir"), embed_dim=8)


def test_config_json_must_describe_the_network_of_the_file(tmp_path):
    """config.json is not covered by the sha256, the file's own config is: an edit that changes the network
    (isometric true -> false changes every distance, the shapes stay the same) is refused."""
    m = _model(isometric=True)
    d = m.save_pretrained(tmp_path / "iso")
    cfg = json.loads((d / "config.json").read_text())
    assert cfg["arch_config"]["isometric"] is True
    cfg["arch_config"]["isometric"] = False
    (d / "config.json").write_text(json.dumps(cfg))
    msg = (
        f"{str(d / 'config.json')!r}: arch_config.isometric is false but the weights file's own config (its lipsim "
        "metadata, covered by the sha256) says true; config.json was changed after the weights were saved and "
        "would build another network: restore it"
    )
    with pytest.raises(WeightsError, match=f"^{_rx(msg)}$"):
        LipSim(weights=d)
    cfg["arch_config"]["isometric"] = True
    cfg["constant_coordinate"] = "none"
    (d / "config.json").write_text(json.dumps(cfg))
    with pytest.raises(WeightsError, match=r": constant_coordinate is \"none\" but the weights file's own config"):
        LipSim(weights=d)
    plain = _model().save_pretrained(tmp_path / "plain")  # a default written out is the same network
    cfg = json.loads((plain / "config.json").read_text())
    cfg["arch_config"].update(isometric=False, grid=1)
    cfg["threshold"] = 0.1  # provenance may change (calibrate --write)
    (plain / "config.json").write_text(json.dumps(cfg))
    assert LipSim(weights=plain).threshold == 0.1


def test_degenerate_weights_are_refused(tmp_path):
    """All-zero weights embed every image alike: d = 0 and "same" for every pair, with a large radius."""
    m = _model()
    for p in m.parameters():
        p.data.zero_()
    d = m.save_pretrained(tmp_path / "zeros")
    msg = (
        f"weights {str(d / 'model.safetensors')!r} embed every image alike: black, white and a colour pattern all "
        "get the same embedding (they differ by at most 0 in l2), so every distance would be 0; the weights are "
        "zero, constant or broken"
    )
    with pytest.raises(WeightsError, match=f"^{_rx(msg)}$"):
        LipSim(weights=d)
    head_only = _model()
    head_only.backbone.head[2].weight.data.zero_()  # the last layer alone: a constant embedding too
    with pytest.raises(WeightsError, match="embed every image alike"):
        LipSim(weights=head_only.save_pretrained(tmp_path / "head"))


# ---------------------------------------------------------------------------------------------- permissions
@pytest.mark.skipif(os.name != "posix", reason="POSIX permissions")
@pytest.mark.parametrize("umask, mode", [(0o022, 0o644), (0o077, 0o600), (0o002, 0o664)])
def test_save_pretrained_respects_the_umask(tmp_path, umask, mode):
    old = os.umask(umask)
    try:
        d = _model().save_pretrained(tmp_path / "m")
    finally:
        os.umask(old)
    assert stat.S_IMODE((d / "model.safetensors").stat().st_mode) == mode
    assert stat.S_IMODE((d / "config.json").stat().st_mode) == mode
    assert sorted(p.name for p in d.iterdir()) == ["config.json", "model.safetensors"]  # no probe left behind


# ---------------------------------------------------------------------------------------------- threshold
def test_threshold_from_the_config(tmp_path):
    m = _model()
    rates = {"same_pairs": 0.95, "different_pairs": 0.99}
    d = m.save_pretrained(tmp_path / "t", extra_config={"threshold": 0.125, "threshold_rates": rates})
    loaded = LipSim.from_pretrained(d)
    assert loaded.threshold == 0.125 and isinstance(loaded.threshold, float)
    assert loaded.provenance["threshold_rates"] == rates
    assert json.loads((loaded.save_pretrained(tmp_path / "again") / "config.json").read_text())["threshold"] == 0.125
    assert LipSim.from_pretrained(m.save_pretrained(tmp_path / "none")).threshold is None
    loaded.provenance["threshold"] = 2.5  # edited by hand afterwards: still checked
    with pytest.raises(
        WeightsError,
        match=rf"^weights {_rx(repr(loaded.source))}: threshold must be a number in "
        r"\[0, 2\] \(the range of d\) or null, got 2\.5$",
    ):
        _ = loaded.threshold


def test_threshold_of_a_registered_spec(tmp_path, offline_hub, temp_spec):
    """A registered file's own config is the one source of its threshold (and of everything it builds)."""
    d = _model().save_pretrained(tmp_path / "thr", extra_config={"threshold": 0.05, "threshold_rates": {"x": 1.0}})
    populate_hub_cache(offline_hub, "lipsim-test/thr", {"w.safetensors": d / "model.safetensors"})
    temp_spec(
        name="zz-test-thr",
        arch="efficient",
        file="w.safetensors",
        sha256=sha256_file(d / "model.safetensors"),
        hub_repo="lipsim-test/thr",
    )
    loaded = LipSim(weights="zz-test-thr")
    assert loaded.threshold == 0.05 and loaded.provenance["threshold_rates"] == {"x": 1.0}


def test_registered_arch_must_match_the_file(saved, offline_hub, temp_spec):
    m, d = saved
    populate_hub_cache(offline_hub, "lipsim-test/arch", {"w.safetensors": d / "model.safetensors"})
    temp_spec(
        name="zz-test-arch",
        arch="paper-small",
        file="w.safetensors",
        sha256=sha256_file(d / "model.safetensors"),
        hub_repo="lipsim-test/arch",
    )
    with pytest.raises(WeightsError, match=r"hold arch 'efficient', but are registered as 'paper-small'$"):
        LipSim(weights="zz-test-arch")


def test_registered_file_without_a_config(tmp_path, offline_hub, temp_spec):
    path = tmp_path / "bare.safetensors"
    save_file({k: v.contiguous() for k, v in _model().backbone.state_dict().items()}, str(path))
    populate_hub_cache(offline_hub, "lipsim-test/bare", {"w.safetensors": path})
    temp_spec(
        name="zz-test-bare",
        arch="efficient",
        file="w.safetensors",
        sha256=sha256_file(path),
        hub_repo="lipsim-test/bare",
    )
    with pytest.raises(WeightsError, match=r"the file carries no lipsim config"):
        LipSim(weights="zz-test-bare")


# ---------------------------------------------------------------------------------------------- construction
def test_loading_skips_the_weight_initialisation(saved, monkeypatch):
    """No QR decomposition (orthogonal init) and no random draw while loading; values exactly the file's."""
    m, d = saved
    calls = []
    real_qr = torch.linalg.qr
    monkeypatch.setattr(torch.linalg, "qr", lambda *a, **k: calls.append("qr") or real_qr(*a, **k))
    state = torch.random.get_rng_state()
    loaded = LipSim.from_pretrained(d)
    assert calls == [] and torch.equal(torch.random.get_rng_state(), state)
    assert not any(t.is_meta for t in loaded.state_dict().values())
    for k, v in m.state_dict().items():
        assert torch.equal(loaded.state_dict()[k], v.float())
    _same(m, loaded)
    LipSim(pretrained=False, **TINY["efficient"])  # a fresh model still initialises (and draws)
    assert calls and not torch.equal(torch.random.get_rng_state(), state)


def test_half_precision_file_loads_as_float32(tmp_path):
    m = _model()
    sd = {k: v.half() for k, v in m.backbone.state_dict().items()}
    sha = write_safetensors(tmp_path / "h.safetensors", sd, m.config)
    loaded = LipSim(weights=tmp_path / "h.safetensors", expected_sha256=sha)
    assert {t.dtype for t in loaded.state_dict().values()} == {torch.float32}
    for k, v in sd.items():
        assert torch.equal(loaded.backbone.state_dict()[k], v.float())
