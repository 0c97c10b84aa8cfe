"""Architectures: registry, full-size shapes and parameter counts, and 1-Lipschitz end to end and per layer."""

from __future__ import annotations

import math

import pytest
import torch
from torch import nn

from lipsim import build_arch, list_archs
from lipsim.archs import DEFAULT_ARCH, Efficient, PaperSmall, get_arch_spec
from lipsim.layers import MaxMin, SLLConv2d, SLLLinear
from tests._helpers import EFFICIENT_SMALL, PAPER_SMALL_REDUCED, TINY, randomize_
from tests._lipschitz import check_lipschitz, exact_jacobian_norm, record

pytestmark = pytest.mark.usefixtures("single_thread")

REDUCED = {"efficient": EFFICIENT_SMALL, "paper-small": PAPER_SMALL_REDUCED}


def _net(arch: str, config: dict, random: bool, seed: int = 0) -> nn.Module:
    torch.manual_seed(seed)
    net = build_arch(arch, **config).double().eval().requires_grad_(False)
    return randomize_(net, seed) if random else net


# ---------------------------------------------------------------------------------------------- registry
def test_list_and_default():
    assert list_archs() == ["efficient", "paper-small"]
    assert DEFAULT_ARCH == "efficient"
    assert isinstance(build_arch(**EFFICIENT_SMALL), Efficient)
    assert isinstance(build_arch("paper-small", **PAPER_SMALL_REDUCED), PaperSmall)
    assert "SLL" in get_arch_spec("paper-small").description


def test_unknown_arch():
    with pytest.raises(ValueError, match=r"^unknown arch 'resnet'; expected one of \['efficient', 'paper-small'\]$"):
        build_arch("resnet")


def test_bad_config():
    with pytest.raises(ValueError, match=r"^bad config for arch 'efficient': .*unexpected keyword argument 'depth'"):
        build_arch("efficient", depth=3)
    with pytest.raises(ValueError, match=r"^paper-small needs an image_size divisible by 16, got 100$"):
        build_arch("paper-small", image_size=100)
    with pytest.raises(ValueError, match=r"^efficient: widths and head_width must be even \(MaxMin\), got 7$"):
        build_arch("efficient", widths=(8, 7))


@pytest.mark.parametrize("arch", list_archs())
def test_config_rebuilds_the_same_architecture(arch):
    net = build_arch(arch, **REDUCED[arch])
    again = build_arch(net.arch, **net.config)
    assert again.config == net.config
    assert {k: v.shape for k, v in again.state_dict().items()} == {k: v.shape for k, v in net.state_dict().items()}


@pytest.mark.parametrize("arch", list_archs())
def test_config_is_the_constructor_signature(arch):
    """arch and config come from the class statement and the bound arguments, defaults included."""
    import inspect

    builder = get_arch_spec(arch).builder
    gated = {*builder.config_only_when, *builder.config_unless_default}
    params = [n for n in inspect.signature(builder).parameters if n not in gated]
    with torch.device("meta"):
        net = build_arch(arch)
    assert net.arch == arch == builder.arch
    assert list(net.config) == params
    assert net.config == {n: _json(inspect.signature(builder).parameters[n].default) for n in params}


def _json(value):
    return list(value) if isinstance(value, tuple) else value


def test_efficient_records_gated_options_only_when_switched_on():
    with torch.device("meta"):
        plain = Efficient(max_size=900)
        native = Efficient(native_resolution=1, image_size=64)
    assert "max_size" not in plain.config and "native_resolution" not in plain.config
    assert native.config["native_resolution"] is True and native.config["max_size"] == 512


# ---------------------------------------------------------------------------------------------- full size
def test_paper_small_full_config_size_and_shape():
    """63.3 M parameters, 3x224x224 -> 1792, built on the meta device (no memory, no compute)."""
    with torch.device("meta"):
        net = build_arch("paper-small")
        out = net(torch.empty(2, 3, 224, 224))
    conv = 20 * (5 * 45 * 3 * 3 + 5 + 5)  # kernel, bias, q of each SLL conv
    dense = 7 * (1024 * 8820 + 1024 + 1024)  # 45 * 14 * 14 = 8820 features
    n = sum(p.numel() for p in net.parameters())
    assert n == conv + dense == 63_276_796
    assert round(n / 1e6, 1) == 63.3
    assert out.shape == (2, 1792)
    assert (net.embed_dim, net.input_size, net.image_size) == (1792, (224, 224), 224)
    assert len(net.convs) == 20 and len(net.linear) == 7
    assert all(c.paper_q_quirk for c in net.convs)


def test_efficient_default_config_shape():
    with torch.device("meta"):
        net = build_arch("efficient")
        assert net(torch.empty(2, 3, 224, 224)).shape == (2, 512)
        assert net(torch.empty(1, 3, 97, 131)).shape == (1, 512)  # any input size
    assert net.input_size is None and net.image_size == 224


@pytest.mark.parametrize("size", [(16, 16), (13, 21), (40, 8)])
def test_efficient_accepts_any_size(size):
    net = _net("efficient", EFFICIENT_SMALL, random=False)
    assert net(torch.rand(2, 3, *size, dtype=torch.float64)).shape == (2, 8)


# ---------------------------------------------------------------------------------------------- Lipschitz
@pytest.mark.parametrize("random", [False, True], ids=["init", "random"])
@pytest.mark.parametrize("arch", list_archs())
def test_backbone_is_1_lipschitz(arch, random):
    net = _net(arch, REDUCED[arch], random)
    x = torch.rand(3, 3, 32, 32, dtype=torch.float64)
    power, adv = check_lipschitz(f"{arch} backbone ({'random' if random else 'init'})", net, x, iters=30, steps=40)
    assert power > 1e-3  # the network does respond: the check is not vacuous


def _layer_sequence(net: nn.Module) -> list[nn.Module]:
    """The backbone as a flat list of 1-Lipschitz layers, in forward order."""
    if isinstance(net, Efficient):
        return [*net.features, net.pool, *net.head]
    if isinstance(net, PaperSmall):
        return [net.pad, *net.convs, *net.pool, nn.Flatten(1), *net.linear, net.project]
    raise TypeError(type(net))


@pytest.mark.parametrize("random", [False, True], ids=["init", "random"])
@pytest.mark.parametrize("arch", list_archs())
def test_product_of_per_layer_bounds(arch, random):
    """Each layer's exact ||J||_2 (for linear layers: the exact norm of the effective operator) at sample
    points is <= 1, and so is their product; the layer list reproduces the backbone exactly."""
    config = dict(TINY[arch], channels=4) if arch == "paper-small" else TINY[arch]  # 4*16*16 = 1024 dims
    net = _net(arch, config, random)
    layers = _layer_sequence(net)
    x = torch.rand(2, 3, 16, 16, dtype=torch.float64)
    h = x
    bounds = []
    for layer in layers:
        if isinstance(layer, (SLLConv2d, SLLLinear, MaxMin)):  # nonlinear: the Jacobian varies; max over points
            kind, points = type(layer).__name__, range(h.shape[0])
        else:  # linear (or affine): one point gives the exact operator norm
            kind, points = f"{type(layer).__name__} (linear)", range(1)
        b = max(exact_jacobian_norm(layer, h[i : i + 1]) for i in points)
        record(f"{arch} per-layer: {kind}", b)
        assert b <= 1 + 1e-9, f"{layer}: ||J|| = {b}"
        bounds.append(b)
        h = layer(h)
    torch.testing.assert_close(h, net(x), rtol=1e-12, atol=1e-12)  # eval inference paths may fuse ops
    product = math.prod(bounds)
    record(f"{arch} product of per-layer bounds", product)
    assert product <= 1 + 1e-9


# ---------------------------------------------------------------------------------------------- native resolution
NATIVE = dict(EFFICIENT_SMALL, native_resolution=True, max_size=48)


def test_native_resolution_sizes():
    net = _net("efficient", NATIVE, random=False)
    assert net.network_size((32, 32)) == (32, 32)  # image_size: as is
    assert net.network_size((40, 36)) == (40, 36)  # between image_size and max_size: the caller's own size
    assert net.network_size((16, 64)) == (32, 128)  # short side up to image_size (aspect kept)
    assert max(net.network_size((96, 60))) <= 48 and min(net.network_size((96, 60))) >= 29  # long side down
    plain = _net("efficient", EFFICIENT_SMALL, random=False)
    assert plain.network_size((40, 36)) == (32, 32) and plain.lipschitz_bound((40, 36)) == 1.0


def test_native_resolution_config_round_trips_and_is_validated():
    net = _net("efficient", NATIVE, random=False)
    assert net.config["native_resolution"] is True and net.config["max_size"] == 48
    assert build_arch("efficient", **net.config).config == net.config
    with pytest.raises(ValueError, match="max_size 16 is below image_size 32"):
        build_arch("efficient", **dict(NATIVE, max_size=16))


@pytest.mark.parametrize("size", [(32, 32), (48, 48), (48, 40)])
@pytest.mark.parametrize("random", [False, True], ids=["init", "random"])
def test_native_resolution_lipschitz_bound_holds(size, random):
    """At sizes above image_size the size-normalised pool makes the network L(size)-Lipschitz, L < 1."""
    net = _net("efficient", NATIVE, random)
    bound = net.lipschitz_bound(size)
    if size != (32, 32):
        assert bound < 1
    x = torch.rand(2, 3, *size, dtype=torch.float64)
    power, adv = check_lipschitz(f"efficient native {size} / L(size)", lambda t: net(t) / bound, x, iters=25, steps=30)
    assert power > 1e-3


# ---------------------------------------------------------------------------------------------- isometric layers
ISOMETRIC = dict(EFFICIENT_SMALL, isometric=True)


def test_isometric_config_round_trips_and_sets_the_adjoint_side():
    net = _net("efficient", ISOMETRIC, random=False)
    assert net.config["isometric"] is True and "isometric" not in _net("efficient", EFFICIENT_SMALL, False).config
    assert build_arch("efficient", **net.config).config == net.config
    sides = {(m.in_channels, m.out_channels, m.rescale) for m in net.features if hasattr(m, "rescale")}
    assert (32, 16, "out") in sides and (16, 16, "in") in sides  # narrowing 1x1 after SpaceToDepth: adjoint
    assert net.head[2].rescale == "out" and net.head[0].rescale == "in"  # 16 -> 8 narrows, 16 -> 16 does not


@pytest.mark.parametrize("random", [False, True], ids=["init", "random"])
def test_isometric_backbone_is_1_lipschitz(random):
    net = _net("efficient", ISOMETRIC, random)
    x = torch.rand(3, 3, 32, 32, dtype=torch.float64)
    power, adv = check_lipschitz(f"efficient isometric ({'random' if random else 'init'})", net, x, iters=30, steps=40)
    assert power > 1e-3


@pytest.mark.parametrize("random", [False, True], ids=["init", "random"])
def test_isometric_product_of_per_layer_bounds(random):
    net = _net("efficient", dict(TINY["efficient"], isometric=True), random)
    x = torch.rand(2, 3, 16, 16, dtype=torch.float64)
    h, product = x, 1.0
    for layer in _layer_sequence(net):
        points = range(h.shape[0]) if isinstance(layer, MaxMin) else range(1)
        b = max(exact_jacobian_norm(layer, h[i : i + 1]) for i in points)
        record(f"efficient isometric per-layer: {type(layer).__name__}", b)
        assert b <= 1 + 1e-9, f"{layer}: ||J|| = {b}"
        product *= b
        h = layer(h)
    torch.testing.assert_close(h, net(x), rtol=1e-12, atol=1e-12)
    assert product <= 1 + 1e-9


def test_isometric_init_keeps_differences_between_images():
    """Plain AOL init shrinks the difference of two images many times over; the isometric init keeps most of it."""
    torch.manual_seed(0)
    x = torch.rand(2, 3, 64, 64, dtype=torch.float64)
    config = dict(widths=(16, 32, 64), stem_factor=4, head_width=128, embed_dim=64, image_size=64)

    def ratio(**extra):
        torch.manual_seed(1)
        net = build_arch("efficient", **config, **extra).double().eval()
        with torch.no_grad():
            f = net(x)
        return float((f[0] - f[1]).norm() / (x[0] - x[1]).norm())

    plain, isometric = ratio(), ratio(isometric=True)
    record("efficient init: ||f(x)-f(y)|| / ||x-y||, plain AOL", plain)
    record("efficient init: ||f(x)-f(y)|| / ||x-y||, isometric", isometric)
    assert isometric > 20 * plain and isometric > 0.01


def test_efficient_forward_equals_its_layers_in_sequence():
    # the fused strided convolutions and the chunked no-grad forward are the same map as features -> pool -> head
    torch.manual_seed(0)
    net = (
        Efficient(widths=(8, 16, 16), head_width=16, embed_dim=8, native_resolution=True, image_size=32, isometric=True)
        .double()
        .eval()
    )
    for p in net.parameters():
        with torch.no_grad():
            p.add_(0.05 * torch.randn_like(p))
    x = torch.rand(net.inference_chunk + 3, 3, 37, 45, dtype=torch.float64)
    reference = net.head(net.pool(net.features(x)))
    with torch.no_grad():
        torch.testing.assert_close(net(x), reference, rtol=0, atol=1e-12)
    torch.testing.assert_close(net(x), reference, rtol=0, atol=1e-12)  # the grad-enabled path, unchunked


# ---------------------------------------------------------------------------------------------- grid pool
GRID = dict(EFFICIENT_SMALL, native_resolution=True, max_size=48, isometric=True, grid=2)


def test_grid_is_recorded_only_when_not_one():
    with torch.device("meta"):
        assert "grid" not in Efficient(widths=(8, 16), head_width=16, embed_dim=8).config
        net = Efficient(widths=(8, 16), head_width=16, embed_dim=8, grid=2)
    assert net.config["grid"] == 2 and build_arch("efficient", **net.config).config == net.config
    assert net.head[0].in_features == 4 * 16


@pytest.mark.parametrize("size", [(32, 32), (48, 40), (37, 45), (33, 61)])
@pytest.mark.parametrize("random", [False, True], ids=["init", "random"])
def test_grid_backbone_lipschitz_bound_holds(size, random):
    """End to end, uneven cells included: ||f(x) - f(y)|| <= L(size) ||x - y||, L the global pool's bound."""
    net = _net("efficient", GRID, random)
    bound = net.lipschitz_bound(size)
    x = torch.rand(2, 3, *size, dtype=torch.float64)
    power, adv = check_lipschitz(f"efficient grid 2 {size} / L(size)", lambda t: net(t) / bound, x, iters=25, steps=30)
    assert power > 1e-3


def test_head_for_grid_starts_as_the_global_pool_network():
    """A global-pool network widened by head_for_grid computes the same embedding where the cells are equal."""
    from lipsim.archs.efficient import head_for_grid

    wide = dict(GRID, head_width=64)  # 4 cells x 16 channels -> 64: the widened layer keeps input-side AOL rescaling
    plain = _net("efficient", dict(wide, grid=1), random=True)
    grid = _net("efficient", wide, random=False)
    assert grid.head[0].rescale == plain.head[0].rescale == "in"
    state = plain.state_dict()
    state["head.0.weight"] = head_for_grid(state["head.0.weight"], 2)
    grid.load_state_dict(state)
    grid.invalidate_cache()
    x = torch.rand(2, 3, 48, 32, dtype=torch.float64)  # even cells at every stage
    torch.testing.assert_close(grid(x), plain(x), rtol=1e-9, atol=1e-9)
