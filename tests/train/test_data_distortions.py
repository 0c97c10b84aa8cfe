"""Tests for lipsim.train.data.distortions: severity knob, range, determinism, argument checks."""

import pytest
import torch
import torch.nn.functional as F

from lipsim.train.data.distortions import FAMILIES, distort

skdata = pytest.importorskip("skimage.data")


@pytest.fixture(scope="module")
def photo() -> torch.Tensor:
    x = torch.from_numpy(skdata.astronaut()).permute(2, 0, 1).float() / 255.0
    return F.interpolate(x[None], size=(96, 96), mode="area")[0].clamp(0, 1)


def _mse(a: torch.Tensor, b: torch.Tensor) -> float:
    return ((a - b) ** 2).mean().item()


def _gen(seed: int = 0) -> torch.Generator:
    return torch.Generator().manual_seed(seed)


def test_families_are_the_documented_seven():
    assert FAMILIES == ("noise", "blur", "jpeg", "color", "pixelate", "quantize", "shift")


@pytest.mark.parametrize("family", FAMILIES)
def test_difference_from_original_grows_with_strength(photo, family):
    strengths = [0.1, 0.3, 0.55, 0.8, 1.0]
    errors = [_mse(distort(photo, family, s, _gen(3)), photo) for s in strengths]
    assert all(a < b for a, b in zip(errors, errors[1:])), (family, errors)
    assert errors[0] > 0.0


@pytest.mark.parametrize("family", FAMILIES)
def test_mild_and_strong_are_clearly_apart(photo, family):
    mild = _mse(distort(photo, family, 0.2, _gen(1)), photo)
    strong = _mse(distort(photo, family, 0.8, _gen(1)), photo)
    assert strong > 2.0 * mild, (family, mild, strong)


@pytest.mark.parametrize("family", FAMILIES)
def test_shape_dtype_range_preserved_and_input_untouched(photo, family):
    for img in (photo, photo[:, :40, :72].contiguous(), photo.double()):
        before = img.clone()
        out = distort(img, family, 1.0, _gen(0))
        assert out.shape == img.shape and out.dtype == img.dtype
        assert out.min().item() >= 0.0 and out.max().item() <= 1.0
        assert torch.equal(img, before)


@pytest.mark.parametrize("family", FAMILIES)
def test_same_generator_state_gives_identical_output(photo, family):
    a = distort(photo, family, 0.6, _gen(7))
    b = distort(photo, family, 0.6, _gen(7))
    assert torch.equal(a, b)


@pytest.mark.parametrize("family", ["noise", "shift"])
def test_different_seeds_give_different_random_distortions(photo, family):
    assert not torch.equal(distort(photo, family, 0.6, _gen(1)), distort(photo, family, 0.6, _gen(2)))


def test_noise_sigma_follows_strength():
    gray = torch.full((3, 128, 128), 0.5)
    for s in (0.25, 0.5):
        std = (distort(gray, "noise", s, _gen(0)) - gray).std().item()
        assert abs(std - 0.2 * s) < 0.1 * 0.2 * s


def test_quantize_strongest_leaves_two_levels(photo):
    out = distort(photo, "quantize", 1.0, _gen(0))
    assert set(out.unique().tolist()) <= {0.0, 1.0}


def test_pixelate_makes_flat_blocks(photo):
    out = distort(photo, "pixelate", 1.0, _gen(0))  # factor 10: about 10 x 10 blocks
    assert out[:, :, 1:].ne(out[:, :, :-1]).any(0).float().mean() < 0.15
    assert photo[:, :, 1:].ne(photo[:, :, :-1]).any(0).float().mean() > 0.5


def test_blur_keeps_a_constant_image_constant():
    flat = torch.full((3, 32, 32), 0.3)
    assert torch.allclose(distort(flat, "blur", 1.0, _gen(0)), flat, atol=1e-6)


def test_color_keeps_a_gray_image_nearly_gray():
    gray = torch.linspace(0, 1, 32).view(1, 1, 32).expand(3, 32, 32).contiguous()
    out = distort(gray, "color", 1.0, _gen(0))
    assert (out.max(0).values - out.min(0).values).max().item() < 1e-4  # no chroma introduced
    assert _mse(out, gray) > 1e-3  # but contrast changed


def test_argument_errors(photo):
    with pytest.raises(ValueError, match="unknown distortion family 'fog'"):
        distort(photo, "fog", 0.5, _gen())
    for bad in (0.0, -0.1, 1.5, float("nan")):
        with pytest.raises(ValueError, match=r"strength must be a number in \(0, 1\]"):
            distort(photo, "blur", bad, _gen())
    with pytest.raises(ValueError, match=r"shape \(3, H, W\)"):
        distort(photo[None], "blur", 0.5, _gen())
    with pytest.raises(TypeError, match="floating-point"):
        distort((photo * 255).to(torch.uint8), "blur", 0.5, _gen())
    with pytest.raises(TypeError, match="torch.Generator"):
        distort(photo, "noise", 0.5, None)
