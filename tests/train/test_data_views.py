"""Tests for lipsim.train.data.views: colour jitter components, batched views, determinism (pinned)."""

import pytest
import torch

from lipsim.train.data.views import jitter_view, jitter_views
from lipsim.train.rng import seeded_generator


def test_jitter_view_components():
    a = torch.rand(3, 12, 12, generator=torch.Generator().manual_seed(0))
    assert torch.equal(jitter_view(a, seeded_generator(0), p_jitter=0.0, p_gray=0.0), a)
    gray = jitter_view(a, seeded_generator(0), p_jitter=0.0, p_gray=1.0)
    assert torch.equal(gray[0], gray[1]) and torch.equal(gray[1], gray[2])
    expected = 0.299 * a[0] + 0.587 * a[1] + 0.114 * a[2]
    assert torch.allclose(gray[0], expected, atol=1e-3)
    half = a * 0.5
    bright = jitter_view(half, seeded_generator(3), contrast=0, saturation=0, hue=0, p_jitter=1.0, p_gray=0.0)
    ratio = (bright / half.clamp_min(1e-6)).flatten()
    assert torch.allclose(ratio, ratio[0].expand_as(ratio), atol=1e-3) and 0.6 <= ratio[0] <= 1.4
    assert not torch.allclose(ratio[0], torch.tensor(1.0))


def test_views_are_deterministic_and_in_range():
    a = torch.rand(6, 3, 10, 10, generator=torch.Generator().manual_seed(1))
    b1 = jitter_views(a, [seeded_generator("v", i) for i in range(6)])
    b2 = jitter_views(a, [seeded_generator("v", i) for i in range(6)])
    assert torch.equal(b1, b2) and b1.shape == a.shape and 0.0 <= b1.min() and b1.max() <= 1.0
    one = [jitter_view(a[i], seeded_generator("v", i)) for i in range(6)]
    assert all(torch.equal(one[i], jitter_view(a[i], seeded_generator("v", i))) for i in range(6))
    with pytest.raises(ValueError, match="one generator per image"):
        jitter_views(a, [seeded_generator(0)])


def test_batched_views_match_single_views_without_hue():
    # Same draws per generator; brightness, contrast, saturation and grayscale are torchvision's formulas.
    a = torch.rand(8, 3, 10, 10, generator=torch.Generator().manual_seed(2))
    batched = jitter_views(a, [seeded_generator("w", i) for i in range(8)], hue=0.0)
    single = torch.stack([jitter_view(a[i], seeded_generator("w", i), hue=0.0) for i in range(8)])
    assert torch.allclose(batched, single, atol=1e-4)
    assert not torch.allclose(batched, a, atol=1e-2)


def test_views_are_pinned():
    # Training runs cache jitter_views outputs on disk: draws and arithmetic must not change.
    x = torch.rand(4, 3, 12, 12, generator=torch.Generator().manual_seed(0))
    batched = jitter_views(x, [seeded_generator("views", i) for i in range(4)])[:, :, 5, 7]
    assert torch.allclose(
        batched,
        torch.tensor(
            [
                [0.6158523559570312, 0.40115922689437866, 0.7127341032028198],
                [0.9572635889053345, 0.5354019403457642, 0.012922286987304688],
                [0.0, 0.079658642411232, 0.357118159532547],
                [0.6013720631599426, 0.6415824890136719, 0.5001930594444275],
            ]
        ),
        rtol=0,
        atol=1e-6,
    )
    single = jitter_view(x[3], seeded_generator("views", 3))[:, 5, 7]
    assert torch.allclose(
        single, torch.tensor([0.6258896589279175, 0.5883725881576538, 0.495479553937912]), rtol=0, atol=1e-6
    )
