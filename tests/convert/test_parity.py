"""Parity of converted checkpoints with an independent evaluation of the formulas in docs/layers.md.

The reference below reads the authors' tensors by their original names and evaluates, in float64:
zero channel padding 3 -> C; per conv layer t_i = sum_{j,u,v} |conv2d(K, K, padding=2)_ij[u, v]| (q cancels:
the authors' conv quirk), h <- h - 2 K^T T^-1 relu(K h + b) with K^T = conv_transpose2d (the exact adjoint);
two 4x4 sum/4 pools; channel-major flatten; per dense layer t_i = sum_j |(W W^T)_ij| exp(q_j) / exp(q_i),
v <- v - 2 W^T T^-1 relu(W v + b); the first k coordinates; then phi = [f; 1] / norm or f / ||f||.
It shares no code with lipsim's layers.
"""

from __future__ import annotations

import pytest
import torch
import torch.nn.functional as F

from lipsim import LipSim
from lipsim.convert import convert_original
from tests._helpers import structured_images
from tests.convert._synthetic import PREFIX, REDUCED, make_checkpoint, make_model_state_dict, strip

F64 = torch.float64


def reference_f(
    msd: dict[str, torch.Tensor], x: torch.Tensor, cfg: dict, prefix: str = PREFIX, q_orientation: str = "design"
) -> torch.Tensor:
    """f(x) straight from the checkpoint's tensors (float64); ``q_orientation="swapped"`` uses q_i / q_j."""
    t = {k: v.to(F64) for k, v in strip(msd, prefix).items()}
    n, _, hh, ww = x.shape
    c = cfg["channels"]
    h = torch.zeros(n, c, hh, ww, dtype=F64)
    h[:, :3] = x.to(F64)
    for i in range(cfg["depth_conv"]):
        k, b = t[f"convs.{i}.kernel"], t[f"convs.{i}.bias"]
        gram = F.conv2d(k, k, padding=2)  # (inner, inner, 5, 5)
        tc = gram.abs().sum(dim=(1, 2, 3))
        z = F.relu(F.conv2d(h, k, padding=1) + b) / tc.view(1, -1, 1, 1)
        h = h - 2 * F.conv_transpose2d(z, k, padding=1)
    for _ in range(2):
        n_, c_, a, b_ = h.shape
        h = h.reshape(n_, c_, a // 4, 4, b_ // 4, 4).sum(dim=(3, 5)) / 4
    v = h.reshape(n, -1)
    for j in range(1, cfg["depth_linear"] + 1):
        w, b, q = t[f"linear.{j}.weight"], t[f"linear.{j}.bias"], t[f"linear.{j}.q"]
        e = torch.exp(q)
        ratio = e[None, :] / e[:, None] if q_orientation == "design" else e[:, None] / e[None, :]
        tl = ((w @ w.T).abs() * ratio).sum(dim=1)  # t_i = sum_j |G_ij| q_j / q_i
        v = v - 2 * (F.relu(v @ w.T + b) / tl) @ w
    return v[:, : cfg["embed_dim"]]


def reference_phi(f: torch.Tensor, constant_coordinate: str) -> torch.Tensor:
    if constant_coordinate == "append":
        f = torch.cat([f, torch.ones(f.shape[0], 1, dtype=f.dtype)], dim=1)
    return f / f.norm(dim=1, keepdim=True)


# small float64 kernels: one thread (tests/conftest.py)
pytestmark = pytest.mark.usefixtures("single_thread")


@pytest.fixture(scope="module")
def checkpoint(tmp_path_factory):
    d = tmp_path_factory.mktemp("parity")
    msd = make_model_state_dict(REDUCED, seed=7)
    return msd, make_checkpoint(d / "lipsim.pth", msd, optimizer_state=True)


@pytest.fixture(scope="module")
def converted(checkpoint, tmp_path_factory):
    _, path = checkpoint
    out = {}
    for cc in ("append", "none"):
        out[cc] = convert_original(path, tmp_path_factory.mktemp(f"out-{cc}"), cc, arch_config=REDUCED)
    return out


@pytest.fixture(scope="module")
def images():
    return structured_images(3, REDUCED["image_size"], seed=3)


@pytest.fixture(scope="module")
def reference(checkpoint, images):
    msd, _ = checkpoint
    return reference_f(msd, images, REDUCED)


@pytest.mark.parametrize("cc", ["append", "none"])
@pytest.mark.parametrize("path", ["eval-inference", "eval-autograd", "train"])
def test_embeddings_match_the_reference_in_float64(converted, images, reference, cc, path):
    model = LipSim(weights=converted[cc]).double()
    assert model.constant_coordinate == cc
    x = images.clone()
    if path == "train":
        model.train()
    if path == "eval-autograd":
        x.requires_grad_(True)  # eval mode, cached T, plain ops (the path gradients go through)
        phi = model.embed(x).detach()
        f = model.backbone(x).detach()
    else:
        with torch.no_grad():
            phi = model.embed(x)
            f = model.backbone(x)
    torch.testing.assert_close(f, reference, rtol=0, atol=1e-10)
    torch.testing.assert_close(phi, reference_phi(reference, cc), rtol=0, atol=1e-10)
    assert reference.norm(dim=1).min() > 1e-2  # not a vacuous comparison of near-zero vectors


def test_float32_inference_path_matches_the_reference(converted, images, reference):
    """The fast path in the shipped precision (float32, eval, no autograd) against the float64 formulas."""
    model = LipSim(weights=converted["append"])
    with torch.no_grad():
        f = model.backbone(images.float()).double()
        again = model.backbone(images.float()).double()  # second call: from the cache
    scale = reference.abs().max()
    assert (f - reference).abs().max() <= 1e-5 * max(1.0, float(scale))
    assert torch.equal(f, again)


def test_the_comparison_would_catch_a_transposed_q(checkpoint, images, reference):
    """With q ~ N(0, 1), using q_i / q_j instead of q_j / q_i in the dense layers changes f visibly."""
    msd, _ = checkpoint
    swapped = reference_f(msd, images, REDUCED, q_orientation="swapped")
    assert (swapped - reference).abs().max() > 1e-3


def test_conv_q_cancels_and_dense_q_matters(checkpoint, images, tmp_path):
    """The authors' conv layer ignores q (quirk), their dense layer does not: the conversion keeps both."""
    msd, _ = checkpoint
    base = LipSim(
        weights=convert_original(make_checkpoint(tmp_path / "a.pth", msd), tmp_path / "a", arch_config=REDUCED)
    )
    changed = dict(msd)
    for key in [k for k in msd if k.endswith(".q")]:
        changed[key] = msd[key] + 1.0 + torch.arange(msd[key].numel()) * 0.1  # same tensor in both copies below
    for part in ("convs", "linear"):
        variant = dict(msd)
        for key in msd:
            name = key[len(PREFIX) :]
            if name.endswith(".q") and (
                name.startswith(part + ".") or name.startswith("base.1." if part == "convs" else "base.2.")
            ):
                variant[key] = changed[key]
        out = convert_original(make_checkpoint(tmp_path / f"{part}.pth", variant), tmp_path / part, arch_config=REDUCED)
        with torch.no_grad():
            diff = (LipSim(weights=out).embed(images.float()) - base.embed(images.float())).abs().max()
        if part == "convs":
            assert diff == 0
        else:
            assert diff > 1e-4


def test_reference_uses_the_exact_adjoint():
    g = torch.Generator().manual_seed(0)
    k = torch.randn(5, 45, 3, 3, generator=g, dtype=F64)
    x = torch.randn(2, 45, 9, 7, generator=g, dtype=F64)
    y = torch.randn(2, 5, 9, 7, generator=g, dtype=F64)
    lhs = (F.conv2d(x, k, padding=1) * y).sum()
    rhs = (x * F.conv_transpose2d(y, k, padding=1)).sum()
    torch.testing.assert_close(lhs, rhs, rtol=1e-12, atol=1e-12)
