"""The bundled default weights: offline loading, checksum, regression values, severity ordering."""

import io
from pathlib import Path

import numpy as np
import pytest
import torch
from PIL import Image, ImageFilter

import lipsim
from lipsim.pretrained import sha256_file
from lipsim.pretrained._hub import bundled_file
from lipsim.pretrained.registry import _REGISTRY

IMAGES = Path(__file__).resolve().parents[1] / "examples" / "images"
NAMES = ("astronaut", "chelsea", "coffee", "rocket")
DEFAULT = next(s for s in _REGISTRY.values() if s.default and s.arch == "efficient")

# d(image, distorted) of the bundled default model, recorded when the weights were made (regression guard)
EXPECTED = {
    "chelsea_jpeg": 2.3946993678691797e-05,
    "chelsea_blur1": 7.959583854244556e-06,
    "chelsea_blur3": 0.0002617879072204232,
    "chelsea_coffee": 0.42474740743637085,
}


@pytest.fixture(scope="module")
def model():
    return lipsim.LipSim(pretrained=True)


def test_default_is_bundled_and_verified(monkeypatch):
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    path = bundled_file(DEFAULT.file)
    assert path is not None, f"{DEFAULT.file} is not bundled"
    assert sha256_file(path) == DEFAULT.sha256
    assert path.stat().st_size <= 50 * 2**20
    m = lipsim.LipSim(pretrained=True)
    assert m.arch == "efficient" and DEFAULT.name in m.source
    assert not m.training and not any(p.requires_grad for p in m.parameters())


def _load(name: str) -> torch.Tensor:
    return lipsim.load_image(IMAGES / f"{name}.png")


def test_regression_values(model):
    got = {
        "chelsea_jpeg": model(_load("chelsea"), _load("chelsea_jpeg")).item(),
        "chelsea_blur1": model(_load("chelsea"), _load("chelsea_blur1")).item(),
        "chelsea_blur3": model(_load("chelsea"), _load("chelsea_blur3")).item(),
        "chelsea_coffee": model(_load("chelsea"), _load("coffee")).item(),
    }
    for k, v in EXPECTED.items():
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
