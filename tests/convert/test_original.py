"""convert_original: the authors' checkpoint layout, its variants, every refusal, registry entries, and the
soundness of certificates of converted models without the constant coordinate (attacked with PGD)."""

from __future__ import annotations

import hashlib
import json
import os
import re
import tempfile
from pathlib import Path

import pytest
import torch
from safetensors import safe_open

from lipsim import LipSim, WeightsError
from lipsim.archs import build_arch
from lipsim.certificates import phi_shift_bound
from lipsim.convert import convert_original, load_original, map_original_state_dict
from lipsim.pretrained import get_weights_spec, list_weights
from tests._attacks import pgd_l2
from tests._helpers import structured_images
from tests.convert._synthetic import FULL, PREFIX, REDUCED, layout, make_checkpoint, make_model_state_dict, strip

PAPER_NAMES = ["paper-small-distilled", "paper-small-margin0.2", "paper-small-margin0.5"]
# a small network of the same layer types (certificate attacks, shape-table check)
ATTACK = dict(channels=6, conv_inner=3, depth_conv=3, depth_linear=2, linear_inner=16, embed_dim=16, image_size=32)


# small float64 kernels: one thread (tests/conftest.py)
pytestmark = pytest.mark.usefixtures("single_thread")


@pytest.fixture(scope="module")
def msd():
    return make_model_state_dict(REDUCED, seed=1)


def _ours(msd_: dict[str, torch.Tensor], prefix: str = PREFIX) -> dict[str, torch.Tensor]:
    """The expected converted state dict: convs.i -> convs.i, linear.j -> linear.{j-1}."""
    out = {}
    for k, v in strip(msd_, prefix).items():
        part, idx, leaf = k.split(".")
        out[f"convs.{idx}.{leaf}" if part == "convs" else f"linear.{int(idx) - 1}.{leaf}"] = v.float()
    return out


def _read(out_dir):
    cfg = json.loads((out_dir / "config.json").read_text())
    with safe_open(str(out_dir / "model.safetensors"), framework="pt") as f:
        tensors = {k: f.get_tensor(k) for k in f.keys()}
    return cfg, tensors


# ------------------------------------------------------------------------------------------ the real layout
def test_full_size_checkpoint_with_the_real_162_key_layout():
    """The released network's exact key set and shapes (63.3 M parameters), converted and loaded.

    The files (a half-precision checkpoint, 127 MB, and the converted float32 safetensors, 253 MB) live in a
    temporary directory deleted when the test ends: nothing is left in pytest's kept temporary folders.
    """
    sd = make_model_state_dict(FULL, seed=2, dtype=torch.float16)
    assert len(sd) == 162 and len({id(v) for v in sd.values()}) == 81
    assert sum(v.numel() for v in {id(v): v for v in sd.values()}.values()) == 63_276_796
    with tempfile.TemporaryDirectory(prefix="lipsim-full-size-") as tmp:
        ckpt = make_checkpoint(Path(tmp) / "lipsim_margin0.2.pth", sd)
        out = convert_original(ckpt, Path(tmp) / "converted")
        assert out == Path(tmp) / "converted"
        source_sha = hashlib.sha256(ckpt.read_bytes()).hexdigest()
        ckpt.unlink()

        cfg, tensors = _read(out)
        model = LipSim(weights=out)  # strict key/shape match with a freshly built paper-small, sha256 checked
    expected = model.backbone.state_dict()
    assert {k: tuple(v.shape) for k, v in tensors.items()} == {k: tuple(v.shape) for k, v in expected.items()}
    assert torch.equal(tensors["linear.0.weight"], sd[PREFIX + "linear.1.weight"].float())
    assert torch.equal(tensors["linear.6.q"], sd[PREFIX + "base.2.7.q"].float())
    assert torch.equal(tensors["convs.19.kernel"], sd[PREFIX + "convs.19.kernel"].float())
    assert cfg["arch"] == "paper-small" and cfg["constant_coordinate"] == "append"
    assert cfg["arch_config"] == model.backbone.config
    assert {k: cfg["arch_config"][k] for k in FULL} == FULL and cfg["arch_config"]["paper_q_quirk"] is True
    assert cfg["source_sha256"] == source_sha
    assert cfg["source_file"] == "lipsim_margin0.2.pth" and cfg["source_key_prefix"] == PREFIX
    assert cfg["source_epoch"] == 3 and cfg["source_global_step"] == 1234

    assert model.arch == "paper-small" and model.image_size == 224 and model.constant_coordinate == "append"
    assert model.provenance["source_sha256"] == cfg["source_sha256"]


# ------------------------------------------------------------------------------------------ accepted variants
@pytest.mark.parametrize("prefix", ["module.model.", "module.backbone.model.", "model."])
def test_key_prefix_variants(tmp_path, prefix):
    sd = make_model_state_dict(REDUCED, prefix=prefix, seed=4)
    out = convert_original(make_checkpoint(tmp_path / "c.pth", sd), tmp_path / "o", arch_config=REDUCED)
    cfg, tensors = _read(out)
    assert cfg["source_key_prefix"] == prefix
    expected = _ours(sd, prefix)
    assert tensors.keys() == expected.keys()
    assert all(torch.equal(tensors[k], expected[k]) for k in expected)


def test_alpha_keys_are_ignored_and_recorded(tmp_path, msd):
    sd = dict(msd)
    sd["module.alpha"] = torch.tensor(0.3)
    sd["module.model.linear.alpha_mix"] = torch.ones(3)
    out = convert_original(make_checkpoint(tmp_path / "c.pth", sd), tmp_path / "o", arch_config=REDUCED)
    cfg, tensors = _read(out)
    assert cfg["source_ignored_keys"] == ["module.alpha", "module.model.linear.alpha_mix"]
    assert tensors.keys() == _ours(msd).keys()


def test_fine_tuned_layout_with_alpha_and_backbone_prefix(tmp_path):
    sd = make_model_state_dict(REDUCED, prefix="module.backbone.model.", seed=5)
    sd["module.backbone.alpha"] = torch.tensor([0.5])
    loaded = load_original(make_checkpoint(tmp_path / "c.pth", sd, optimizer_state=True), REDUCED)
    assert loaded.prefix == "module.backbone.model." and loaded.ignored == ["module.backbone.alpha"]
    assert loaded.meta == {"epoch": 3, "global_step": 1234}


def test_bare_state_dict_and_half_precision_are_accepted(tmp_path, msd):
    # half precision, the copies still shared as in a real state dict
    shared = {id(v): v.half() for v in msd.values()}
    half = {k: shared[id(v)] for k, v in msd.items()}
    torch.save(half, tmp_path / "bare.pth")
    out = convert_original(tmp_path / "bare.pth", tmp_path / "o", arch_config=REDUCED)
    _, tensors = _read(out)
    assert all(t.dtype == torch.float32 for t in tensors.values())
    assert torch.equal(tensors["linear.0.weight"], half[PREFIX + "linear.1.weight"].float())


@pytest.mark.parametrize("cfg", [REDUCED, ATTACK, {}], ids=["reduced", "attack", "paper"])
def test_shape_table_matches_the_built_network(cfg):
    from lipsim.convert.original import _expected_shapes

    built = {k: tuple(v.shape) for k, v in build_arch("paper-small", **cfg).state_dict().items()}
    assert _expected_shapes(cfg) == built


def test_the_mapping_loads_strictly_into_paper_small(msd):
    mapped = map_original_state_dict(msd, REDUCED)
    net = build_arch("paper-small", **REDUCED)
    net.load_state_dict(mapped.state_dict)  # strict: exactly the same key set
    assert mapped.prefix == PREFIX and mapped.ignored == []


def test_constant_coordinate_choice_is_recorded_and_overridable(tmp_path, msd):
    ckpt = make_checkpoint(tmp_path / "c.pth", msd)
    out = convert_original(ckpt, tmp_path / "none", "none", arch_config=REDUCED)
    cfg, _ = _read(out)
    assert cfg["constant_coordinate"] == "none" and "not document" in cfg["constant_coordinate_choice"]
    assert LipSim(weights=out).constant_coordinate == "none"
    assert LipSim(weights=out, constant_coordinate="append").constant_coordinate == "append"
    # re-saving a loaded conversion keeps its provenance
    resaved = LipSim(weights=out).save_pretrained(tmp_path / "resaved")
    cfg2, _ = _read(resaved)
    assert cfg2["source_sha256"] == cfg["source_sha256"] and cfg2["constant_coordinate"] == "none"


def test_output_directory_rules(tmp_path, msd):
    ckpt = make_checkpoint(tmp_path / "c.pth", msd)
    out = convert_original(ckpt, tmp_path / "o", arch_config=REDUCED)
    with pytest.raises(ValueError, match=r"already holds config.json and model.safetensors; .*overwrite=True"):
        convert_original(ckpt, out, arch_config=REDUCED)
    assert convert_original(ckpt, out, "none", overwrite=True, arch_config=REDUCED) == out
    assert _read(out)[0]["constant_coordinate"] == "none"
    (tmp_path / "file").write_text("x")
    with pytest.raises(ValueError, match=r"exists and is not a directory"):
        convert_original(ckpt, tmp_path / "file", arch_config=REDUCED)
    with pytest.raises(ValueError, match=r"constant_coordinate must be 'append' or 'none', got 'both'"):
        convert_original(ckpt, tmp_path / "o2", "both", arch_config=REDUCED)
    assert not (tmp_path / "o2").exists()


# ------------------------------------------------------------------------------------------ refusals
def _variant(msd_, change):
    sd = dict(msd_)
    change(sd)
    return sd


def _set_both(sd, name, value):
    """Replace a tensor in both of its copies (convs.i / base.1.i, linear.j / base.2.j)."""
    part, rest = name.split(".", 1)
    sd[PREFIX + name] = value
    sd[PREFIX + ("base.1." if part == "convs" else "base.2.") + rest] = value


BAD = {
    "missing": (
        lambda sd: sd.pop(PREFIX + "convs.3.q"),
        r"not the paper-small layout .*1 missing tensors \(module\.model\.convs\.3\.q\)",
    ),
    "missing-copy": (
        lambda sd: sd.pop(PREFIX + "base.2.7.weight"),
        r"1 missing tensors \(module\.model\.base\.2\.7\.weight\)",
    ),
    "extra-conv": (
        lambda sd: sd.update({PREFIX + "convs.20.kernel": torch.zeros(5, 45, 3, 3)}),
        r"1 unexpected tensors \(module\.model\.convs\.20\.kernel\)",
    ),
    "extra-linear0": (
        lambda sd: sd.update({PREFIX + "linear.0.weight": torch.zeros(3)}),
        r"1 unexpected tensors \(module\.model\.linear\.0\.weight\)",
    ),
    "other-network": (
        lambda sd: sd.update(
            {PREFIX + "conv1.kernel": torch.zeros(3, 45, 3, 3), PREFIX + "last.weight": torch.zeros(100, 180)}
        ),
        r"2 unexpected tensors .*the authors' other network .*not paper-small",
    ),
    "shape": (
        lambda sd: _set_both(sd, "convs.0.kernel", torch.zeros(5, 45, 5, 5)),
        r"module\.model\.convs\.0\.kernel: expected shape \(5, 45, 3, 3\), found \(5, 45, 5, 5\)",
    ),
    "dense-shape": (
        lambda sd: _set_both(sd, "linear.2.weight", torch.zeros(64, 181)),
        r"linear\.2\.weight: expected shape \(64, 180\), found \(64, 181\)",
    ),
    "copies-differ": (
        lambda sd: sd.update({PREFIX + "base.1.4.kernel": sd[PREFIX + "convs.4.kernel"] + 1e-6}),
        r"module\.model\.convs\.4\.kernel and module\.model\.base\.1\.4\.kernel differ",
    ),
    "nan": (
        lambda sd: _set_both(sd, "linear.1.bias", torch.full((1, 64), float("nan"))),
        r"module\.model\.linear\.1\.bias: contains NaN or infinite values",
    ),
    "integer": (
        lambda sd: _set_both(sd, "convs.2.q", torch.zeros(5, dtype=torch.int64)),
        r"convs\.2\.q: expected floating-point values, found torch\.int64",
    ),
    "mixed-prefixes": (
        lambda sd: sd.update({"module.backbone.model.convs.0.q": torch.zeros(5)}),
        r"do not share one of the expected prefixes",
    ),
    "not-a-tensor": (
        lambda sd: sd.update({PREFIX + "convs.0.note": "hello"}),
        r"entries that are not tensors: module\.model\.convs\.0\.note",
    ),
}


@pytest.mark.parametrize("case", sorted(BAD))
def test_unexpected_contents_are_clear_errors(tmp_path, msd, case):
    change, pattern = BAD[case]
    ckpt = make_checkpoint(tmp_path / "c.pth", _variant(msd, change))
    with pytest.raises(WeightsError, match=pattern):
        convert_original(ckpt, tmp_path / "o", arch_config=REDUCED)
    assert not (tmp_path / "o" / "model.safetensors").exists()


def test_another_architecture_entirely(tmp_path):
    resnetish = {"conv1.weight": torch.zeros(64, 3, 7, 7), "fc.weight": torch.zeros(1000, 512)}
    torch.save({"epoch": 1, "model_state_dict": resnetish}, tmp_path / "r.pth")
    with pytest.raises(WeightsError, match=r"not a LipSim paper-small checkpoint"):
        convert_original(tmp_path / "r.pth", tmp_path / "o")


def test_real_sizes_are_required_by_default(tmp_path, msd):
    """Reduced tensors against the paper's network: shape errors, not a silently different model."""
    with pytest.raises(WeightsError, match=r"linear\.1\.weight: expected shape \(1024, 8820\), found \(64, 180\)"):
        convert_original(make_checkpoint(tmp_path / "c.pth", msd), tmp_path / "o")


class _Payload:
    """Unpickling this with a plain pickle would create ``path`` (code execution from the file)."""

    def __init__(self, path):
        self.path = path

    def __reduce__(self):
        import pathlib

        return (pathlib.Path.touch, (pathlib.Path(self.path),))


def test_unreadable_files(tmp_path, msd):
    with pytest.raises(WeightsError, match=r"^checkpoint not found: "):
        convert_original(tmp_path / "nope.pth", tmp_path / "o")
    junk = tmp_path / "junk.pth"
    junk.write_bytes(b"\x00not a checkpoint" * 10)
    msg = (
        f"{str(junk)!r} (170 bytes) is not a torch checkpoint: neither a zip archive written by torch.save nor a "
        "legacy pickle (it starts with b'\\x00not')"
    )
    with pytest.raises(WeightsError, match=f"^{re.escape(msg)}$"):
        convert_original(junk, tmp_path / "o")
    torch.save([1, 2, 3], tmp_path / "list.pth")
    with pytest.raises(WeightsError, match=r"holds a list, not a training checkpoint dict"):
        convert_original(tmp_path / "list.pth", tmp_path / "o")
    torch.save({"epoch": 1, "state": 2}, tmp_path / "nomodel.pth")
    with pytest.raises(WeightsError, match=r"has no 'model_state_dict' entry \(top-level keys: epoch, state\)"):
        convert_original(tmp_path / "nomodel.pth", tmp_path / "o")
    # a pickle that would run code: refused by weights_only, and the code never runs
    torch.save({"model_state_dict": dict(msd), "extra": _Payload(tmp_path / "pwned")}, tmp_path / "evil.pth")
    with pytest.raises(WeightsError) as info:
        convert_original(tmp_path / "evil.pth", tmp_path / "o")
    size = (tmp_path / "evil.pth").stat().st_size
    assert re.fullmatch(
        f"{re.escape(repr(str(tmp_path / 'evil.pth')))} \\({size} bytes\\) holds Python objects other than tensors, "
        r"numbers and plain containers \(Unsupported global: GLOBAL [^)]*\): it is not a checkpoint lipsim can read "
        r"safely, and lipsim never unpickles arbitrary objects \(they can run code\)",
        str(info.value),
    ), str(info.value)
    assert "weights_only=False" not in str(info.value) and "weights_only` set to `False" not in str(info.value)
    assert not (tmp_path / "pwned").exists()
    assert not (tmp_path / "o").exists()


def test_empty_truncated_and_special_files(tmp_path, msd):
    (tmp_path / "empty.pth").write_bytes(b"")
    with pytest.raises(
        WeightsError,
        match=f"^{re.escape(repr(str(tmp_path / 'empty.pth')))} is empty \\(0 bytes\\): not a torch checkpoint$",
    ):
        convert_original(tmp_path / "empty.pth", tmp_path / "o")
    data = make_checkpoint(tmp_path / "c.pth", msd).read_bytes()
    (tmp_path / "cut.pth").write_bytes(data[: len(data) // 2])
    msg = (
        f"{str(tmp_path / 'cut.pth')!r} ({len(data) // 2} bytes) is a truncated or damaged zip archive, not a "
        "complete torch checkpoint"
    )
    with pytest.raises(WeightsError, match=f"^{re.escape(msg)}$"):
        convert_original(tmp_path / "cut.pth", tmp_path / "o")
    torch.save({"a": torch.zeros(3)}, tmp_path / "legacy.pth", _use_new_zipfile_serialization=False)
    (tmp_path / "legacy-cut.pth").write_bytes((tmp_path / "legacy.pth").read_bytes()[:100])
    with pytest.raises(
        WeightsError,
        match=r"\(100 bytes\) is a truncated or damaged legacy \(pre-1\.6\) torch file, "
        r"not a readable torch checkpoint \(EOFError\)$",
    ):
        convert_original(tmp_path / "legacy-cut.pth", tmp_path / "o")
    if hasattr(os, "mkfifo"):
        os.mkfifo(tmp_path / "fifo.pth")
        with pytest.raises(WeightsError, match=r"^expected a checkpoint file, got a FIFO \(named pipe\): "):
            convert_original(tmp_path / "fifo.pth", tmp_path / "o")
    (tmp_path / "loop.pth").symlink_to(tmp_path / "loop.pth")
    with pytest.raises(WeightsError, match=r"^expected a checkpoint file, got a symbolic link loop: "):
        convert_original(tmp_path / "loop.pth", tmp_path / "o")
    assert not (tmp_path / "o").exists()


def test_pickled_checkpoints_load_with_weights_only(tmp_path, msd):
    """The synthetic checkpoint holds only weights_only-safe objects (as the authors' files must)."""
    ckpt = make_checkpoint(tmp_path / "c.pth", msd, optimizer_state=True)
    obj = torch.load(ckpt, weights_only=True)
    assert set(obj) == {"epoch", "global_step", "model_state_dict", "optimizer_state_dict", "scheduler"}
    assert len(obj["model_state_dict"]) == 162 and len(obj["optimizer_state_dict"]["state"]) == 81


def test_synthetic_layout_matches_the_documented_layout():
    names = [n for n, _ in layout(FULL)]
    assert names[:3] == ["convs.0.kernel", "convs.0.bias", "convs.0.q"]
    assert names[-3:] == ["linear.7.weight", "linear.7.bias", "linear.7.q"]
    shapes = dict(layout(FULL))
    assert shapes["convs.0.kernel"] == (5, 45, 3, 3) and shapes["convs.0.bias"] == (1, 5, 1, 1)
    assert shapes["linear.1.weight"] == (1024, 8820) and shapes["linear.1.bias"] == (1, 1024)
    assert shapes["linear.1.q"] == (1024,) and shapes["convs.19.q"] == (5,)


# ------------------------------------------------------------------------------------------ registry
@pytest.mark.parametrize("name", PAPER_NAMES)
def test_registry_entries(name):
    assert name in list_weights("paper-small")
    spec = get_weights_spec(name)
    assert spec.arch == "paper-small"
    assert spec.sha256 is None and spec.hub_repo == f"lipsim/{name}" and spec.hub_revision == "main"
    assert spec.license.startswith("unknown") and "no licence" in spec.license
    assert "convert-original" in spec.conversion_hint
    msg = f"weights '{name}' are registered but no published file exists yet: lipsim cannot redistribute the paper's"
    with pytest.raises(WeightsError, match=f"^{re.escape(msg)}") as err:
        LipSim(weights=name)
    assert f"lipsim convert-original CKPT.pth ./{name}" in str(err.value)
    assert f"LipSim(weights='./{name}')" in str(err.value)


def test_paper_small_default_points_at_the_conversion():
    with pytest.raises(WeightsError, match=r"^weights 'paper-small-margin0\.2' are registered but no published"):
        LipSim(arch="paper-small")


# ------------------------------------------------------------------------------------------ certificates
# A small net of the same layer types, dark images and small biases: ||f(x)|| ~ 0.2-0.5, so that with
# constant_coordinate="none" the map x -> phi(x) is far from 1-Lipschitz and a naive radius would be wrong
# (ATTACK, defined at the top).


@pytest.fixture(scope="module")
def attack_models(tmp_path_factory):
    d = tmp_path_factory.mktemp("attack")
    ckpt = make_checkpoint(d / "c.pth", make_model_state_dict(ATTACK, seed=1, bias_std=0.01))
    return {
        cc: LipSim(weights=convert_original(ckpt, d / cc, cc, arch_config=ATTACK)).double() for cc in ("append", "none")
    }


def _pgd(model, x, budget, objective, steps=20):
    """phi at the point that maximises objective(phi(x + delta)) (per sample) over ||delta||_2 <= budget.

    The network input is attacked directly (x is near 0, so no clamping to [0, 1]).
    """
    _, (adv,) = pgd_l2(lambda y: -objective(model.embed_prepared(y).phi), [x], budget, steps=steps, box=None)
    with torch.no_grad():
        return model.embed_prepared(adv).phi


def _d(a, b):
    return 0.5 * (a - b).pow(2).sum(dim=1)


@pytest.mark.parametrize("cc", ["none", "append"])
def test_certificates_of_converted_models_survive_pgd(attack_models, cc):
    model = attack_models[cc]
    x = structured_images(4, 32, seed=5) * 0.02
    y = structured_images(4, 32, seed=6) * 0.02
    e = model.embed_batch(x)
    eps = 0.5 * float(e.feature_norm.min())

    # 1. how far phi(x) can move within eps
    phi0 = e.phi
    moved = _pgd(model, x, eps, lambda p: (p - phi0).pow(2).sum(dim=1))
    shift = (moved - phi0).norm(dim=1)
    assert (shift <= phi_shift_bound(e, eps) + 1e-9).all()
    if cc == "none":
        # the attack is strong enough to break a naive "phi is 1-Lipschitz" certificate here
        assert (shift > eps).any()
        assert (e.feature_norm < 1).all()

    # 2. the certified interval of d(x, y) when x moves by eps
    cert = model.certify(x, y, eps=eps)
    phi_y = model.embed(y)
    d_hi = _d(_pgd(model, x, eps, lambda p: _d(p, phi_y)), phi_y)
    d_lo = _d(_pgd(model, x, eps, lambda p: -_d(p, phi_y)), phi_y)
    assert (d_hi <= cert.upper + 1e-9).all() and (d_lo >= cert.lower - 1e-9).all()

    # 3. the radius of the thresholded decision d <= tau
    ds = cert.distance.sort().values
    tau = float(ds[1] + ds[2]) / 2  # between two pairs' distances: two "same", two "different"
    cert = model.certify(x, y, eps=eps, threshold=tau)
    assert (cert.radius > 0).all() and cert.same.sum() == 2
    sign = torch.where(cert.same, 1.0, -1.0).double()  # push towards the other side of tau
    attacked = _d(_pgd(model, x, cert.radius * 0.999, lambda p: sign * _d(p, phi_y)), phi_y)
    assert torch.equal(attacked <= tau, cert.same)

    # 4. the 2AFC radius (the reference is perturbed)
    x0, x1 = y, structured_images(4, 32, seed=7) * 0.02
    r = model.two_afc(x, x0, x1)
    assert (r.radius > 0).all()
    p0, p1 = model.embed(x0), model.embed(x1)
    flip = torch.where(r.choice == 0, 1.0, -1.0).double()  # choice 0: d0 < d1; push d0 - d1 up
    phi_ref = _pgd(model, x, r.radius * 0.999, lambda p: flip * (_d(p, p0) - _d(p, p1)))
    d0, d1 = _d(phi_ref, p0), _d(phi_ref, p1)
    assert torch.equal((d0 >= d1).long(), r.choice)
