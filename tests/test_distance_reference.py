"""model(x, y), its gradient as a loss, and embed() agree with a straightforward computation (to 1e-6).

The model takes shortcuts (a single pass for both sides of a pair; separate passes when only one side needs a
gradient; a one-pass input check); the reference embeds each batch on its own with plain torch ops.
"""

from __future__ import annotations

import pytest
import torch

from lipsim import LipSim
from tests._helpers import structured_images

pytestmark = pytest.mark.usefixtures("single_thread")

TOL = 1e-6


@pytest.fixture(scope="module")
def model() -> LipSim:
    return LipSim(pretrained=True)  # the bundled default weights: frozen, eval mode


def _phi(model: LipSim, x: torch.Tensor) -> torch.Tensor:
    """phi = [f; 1] / ||[f; 1]|| of images already at the network's resolution, layer by layer."""
    f = model.backbone(x)
    g = torch.cat([f, torch.ones_like(f[:, :1])], dim=1)
    return g / g.norm(dim=1, keepdim=True)


def _reference_distance(model: LipSim, x: torch.Tensor, y: torch.Tensor) -> torch.Tensor:
    return 1.0 - (_phi(model, x) * _phi(model, y)).sum(dim=1)


def _pair(n: int, size: int, seed: int) -> tuple[torch.Tensor, torch.Tensor]:
    x = structured_images(n, size, seed=seed, dtype=torch.float32)
    return x, (x + 0.05 * torch.randn(x.shape, generator=torch.Generator().manual_seed(seed))).clamp(0, 1)


def test_distance_equals_reference_at_the_network_resolution(model):
    x, y = _pair(6, model.image_size, seed=1)
    d = model(x, y)
    ref = _reference_distance(model, x, y)
    assert d.shape == (6,) and (d - ref).abs().max() <= TOL
    assert (model.embed(x) - _phi(model, x)).abs().max() <= TOL


def test_loss_gradient_equals_reference(model):
    x, y = _pair(4, model.image_size, seed=2)
    xa = x.clone().requires_grad_(True)
    model(xa, y).mean().backward()
    xr = x.clone().requires_grad_(True)
    _reference_distance(model, xr, y).mean().backward()
    scale = xr.grad.abs().max()
    assert scale > 0 and (xa.grad - xr.grad).abs().max() <= TOL * max(1.0, float(scale))


@pytest.mark.parametrize("grad", ["none", "x", "y", "both"])
def test_distance_and_gradients_equal_separate_embeddings_at_224(model, grad):
    """32 pairs of 224 px images (resized by the model): the pair path equals two embed() calls."""
    x, y = _pair(32, 224, seed=3)
    xa, ya = x.clone().requires_grad_(grad in ("x", "both")), y.clone().requires_grad_(grad in ("y", "both"))
    d = model(xa, ya)
    xr, yr = x.clone().requires_grad_(xa.requires_grad), y.clone().requires_grad_(ya.requires_grad)
    ref = 0.5 * (model.embed(xr) - model.embed(yr)).pow(2).sum(dim=1)
    assert (d - ref).abs().max() <= TOL
    if grad == "none":
        assert not d.requires_grad
        return
    d.sum().backward()
    ref.sum().backward()
    for a, r in ((xa, xr), (ya, yr)):
        assert (a.grad is None) == (r.grad is None)
        if a.grad is not None:
            assert (a.grad - r.grad).abs().max() <= TOL * max(1.0, float(r.grad.abs().max()))


def test_a_loss_against_a_fixed_target_does_not_backpropagate_through_the_target(model):
    x, y = _pair(4, model.image_size, seed=4)
    batches: list[int] = []
    hook = model.backbone.register_forward_hook(lambda m, inp, out: batches.append(inp[0].shape[0]))
    try:
        model(x, y)
        model(x.clone().requires_grad_(True), y)
    finally:
        hook.remove()
    assert batches == [8, 4, 4]  # no gradient wanted: one joint pass; a gradient for x only: separate passes
