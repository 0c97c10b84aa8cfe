"""Shared fixtures of the training tests: folders of small photos and tiny models (CPU, offline).

Optional packages (the ``train`` extra) are skipped per module or test with :func:`tests.train._packages.require`
or ``pytest.importorskip``, so an install without the extra skips these tests instead of failing them.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

import numpy as np
import pytest
import torch
from PIL import Image

from lipsim import LipSim
from tests._helpers import EFFICIENT_SMALL
from tests.train._images import smooth_photo

#: (height, width) of the photos :func:`make_photos` writes by default.
DEFAULT_SIZES = ((96, 80), (112, 88), (128, 96), (144, 104))


@pytest.fixture(scope="session")
def make_photos(tmp_path_factory) -> Callable[..., Path]:
    """Factory: ``make_photos(sizes=DEFAULT_SIZES, seed=0, fmt="png")`` writes one smooth photo per size into a
    new folder and returns the folder. The same arguments give byte-identical files."""

    def make(sizes: Sequence[tuple[int, int]] = DEFAULT_SIZES, seed: int = 0, fmt: str = "png") -> Path:
        root = tmp_path_factory.mktemp("photos")
        rng = np.random.default_rng(seed)
        for i, (h, w) in enumerate(sizes):
            Image.fromarray(smooth_photo(rng, h, w)).save(root / f"p{i}.{fmt}")
        return root

    return make


@pytest.fixture(scope="session")
def tiny_lipsim() -> Callable[..., LipSim]:
    """Factory: ``tiny_lipsim(seed=0, **arch_config)``, a freshly initialised small ``efficient`` LipSim (32 px,
    k = 8) in eval mode; keyword arguments override its architecture options."""

    def make(seed: int = 0, **arch_config: Any) -> LipSim:
        torch.manual_seed(seed)
        return LipSim(pretrained=False, **{**EFFICIENT_SMALL, **arch_config}).eval()

    return make
