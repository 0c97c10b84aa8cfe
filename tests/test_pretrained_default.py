"""The bundled weights (default v5, v4, v3, v2 and v1): offline loading, checksum, regression values, severity ordering,
and the default's calibrated threshold on the example images."""

import io
from pathlib import Path

import numpy as np
import pytest
import torch
from PIL import Image, ImageFilter

import lipsim
from lipsim.pretrained import sha256_file
from lipsim.pretrained.bundled import bundled_file
from lipsim.pretrained.registry import _REGISTRY

IMAGES = Path(__file__).resolve().parents[1] / "examples" / "images"
NAMES = ("astronaut", "chelsea", "coffee", "rocket")
DEFAULT = next(s for s in _REGISTRY.values() if s.default and s.arch == "efficient")
BUNDLED = (
    "efficient-native-v5",
    "efficient-native-v4",
    "efficient-native-v3",
    "efficient-native-v2",
    "efficient-photos64-v1",
)

# d(image, distorted) of each bundled model, recorded when the weights were made (regression guard)
EXPECTED = {
    "efficient-native-v5": {
        "chelsea_jpeg": 0.050595,
        "chelsea_blur1": 0.062558,
        "chelsea_blur3": 0.241222,
        "chelsea_coffee": 0.162849,
    },
    "efficient-native-v4": {
        "chelsea_jpeg": 0.014257202856242657,
        "chelsea_blur1": 0.026037903502583504,
        "chelsea_blur3": 0.08082296699285507,
        "chelsea_coffee": 0.06564890593290329,
    },
    "efficient-native-v3": {
        "chelsea_jpeg": 0.011203795671463013,
        "chelsea_blur1": 0.02280438132584095,
        "chelsea_blur3": 0.07248074561357498,
        "chelsea_coffee": 0.058824267238378525,
    },
    "efficient-native-v2": {
        "chelsea_jpeg": 3.3177188925037626e-06,
        "chelsea_blur1": 5.2783481805818155e-05,
        "chelsea_blur3": 0.00160699593834579,
        "chelsea_coffee": 0.01683303341269493,
    },
    "efficient-photos64-v1": {
        "chelsea_jpeg": 2.3946993678691797e-05,
        "chelsea_blur1": 7.959583854244556e-06,
        "chelsea_blur3": 0.0002617879072204232,
        "chelsea_coffee": 0.42474740743637085,
    },
}


@pytest.fixture(scope="module", params=BUNDLED)
def model(request):
    return lipsim.LipSim(weights=request.param)


def test_default_is_v5_and_v4_v3_v2_v1_stay_loadable():
    assert DEFAULT.name == "efficient-native-v5"
    m = lipsim.LipSim(pretrained=True)
    assert m.source.startswith("efficient-native-v5") and m.backbone.config["isometric"] is True
    stages = m.provenance["training"]
    assert [stage["stage"] for stage in stages] == ["distill", "distill", "distill"]
    assert stages[-1]["margin"] == 0.05 and stages[-1]["hinge_weight"] == 1.0 and "two_afc" in stages[-1]
    v4 = lipsim.LipSim(weights="efficient-native-v4")
    assert v4.threshold == pytest.approx(0.021912) and v4.backbone.config == m.backbone.config
    v3 = lipsim.LipSim(weights="efficient-native-v3")
    assert v3.threshold == pytest.approx(0.01876) and v3.backbone.config == m.backbone.config
    v2 = lipsim.LipSim(weights="efficient-native-v2")
    assert v2.threshold == pytest.approx(0.000701) and "isometric" not in v2.backbone.config
    v1 = lipsim.LipSim(weights="efficient-photos64-v1")
    assert v1.threshold is None and v1.image_size == 64 and not v1.backbone.native_resolution


@pytest.mark.parametrize("name", BUNDLED)
def test_bundled_and_verified(monkeypatch, name):
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    spec = _REGISTRY[name]
    path = bundled_file(spec.file)
    assert path is not None, f"{spec.file} is not bundled"
    assert sha256_file(path) == spec.sha256
    assert path.stat().st_size <= 50 * 2**20
    m = lipsim.LipSim(weights=name)
    assert m.arch == "efficient" and name in m.source
    assert not m.training and not any(p.requires_grad for p in m.parameters())


def test_default_threshold_tells_a_copy_from_another_photo():
    m = lipsim.LipSim(pretrained=True)
    assert m.threshold is not None and 0 < m.threshold < 0.1
    assert m.provenance["threshold_rates"]["false_same"] <= 0.01
    same = m.certify(_load("chelsea"), _load("chelsea_jpeg"), threshold=m.threshold)
    different = m.certify(_load("astronaut"), _load("coffee"), threshold=m.threshold)
    assert bool(same.same) and not bool(different.same)
    assert bool(different.radius > 0) and bool(same.radius > 0)


def test_default_runs_at_the_callers_resolution():
    m = lipsim.LipSim(pretrained=True)
    x = _load("chelsea")  # 256 x 256: between the training size (64) and max_size (512)
    prepared = m.prepare(x, "x")
    assert tuple(prepared.pixels.shape[-2:]) == (256, 256)
    factor = prepared.resize_norm
    assert factor == pytest.approx(m.backbone.lipschitz_bound((256, 256))) and factor < 0.3


def _load(name: str) -> torch.Tensor:
    return lipsim.load_image(IMAGES / f"{name}.png")


def test_regression_values(model):
    expected = EXPECTED[model.source.split(" ")[0]]
    got = {
        "chelsea_jpeg": model(_load("chelsea"), _load("chelsea_jpeg")).item(),
        "chelsea_blur1": model(_load("chelsea"), _load("chelsea_blur1")).item(),
        "chelsea_blur3": model(_load("chelsea"), _load("chelsea_blur3")).item(),
        "chelsea_coffee": model(_load("chelsea"), _load("coffee")).item(),
    }
    for k, v in expected.items():
        assert got[k] == pytest.approx(v, rel=1e-4, abs=1e-6), (k, got[k])


def _pil_distort(img: Image.Image, kind: str, strength: str) -> Image.Image:
    if kind == "blur":
        return img.filter(ImageFilter.GaussianBlur(1.0 if strength == "mild" else 4.0))
    if kind == "jpeg":
        buf = io.BytesIO()
        img.save(buf, "JPEG", quality=60 if strength == "mild" else 5)
        buf.seek(0)
        return Image.open(buf).convert("RGB")
    g = torch.Generator().manual_seed(0)
    x = torch.from_numpy(np.asarray(img).copy()).float() / 255
    sigma = 0.03 if strength == "mild" else 0.15
    x = (x + sigma * torch.randn(x.shape, generator=g)).clamp(0, 1)
    return Image.fromarray((x * 255).round().byte().numpy())


@pytest.mark.parametrize("name", NAMES)
@pytest.mark.parametrize("kind", ["blur", "jpeg", "noise"])
def test_milder_distortion_is_closer(model, name, kind):
    img = Image.open(IMAGES / f"{name}.png").convert("RGB")
    mild, strong = _pil_distort(img, kind, "mild"), _pil_distort(img, kind, "strong")
    r = model.two_afc(img, mild, strong)
    assert r.choice.item() == 0, (name, kind, r.d0.item(), r.d1.item())
