"""Files shared by the dedup and search CLI tests: a saved tiny model and a folder of structured images."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import torch
from PIL import Image

from tests._helpers import structured_images, tiny_model


def png(path: Path, x: torch.Tensor) -> str:
    Image.fromarray((x.permute(1, 2, 0).numpy() * 255).round().astype(np.uint8)).save(path)
    return str(path)


def make_collection(root: Path) -> dict:
    """weights/ (random-init tiny model), photos/ (6 images + 3 noisy copies + a broken file), a query image."""
    weights = tiny_model("efficient", dtype=torch.float32).save_pretrained(root / "weights")
    other = tiny_model("efficient", dtype=torch.float32, seed=4).save_pretrained(root / "other-weights")
    g = torch.Generator().manual_seed(0)
    base = structured_images(6, 24, seed=5, dtype=torch.float32)
    near = (base[:3] + 0.02 * torch.randn(3, 3, 24, 24, generator=g)).clamp(0, 1)
    photos = root / "photos"
    (photos / "more").mkdir(parents=True)
    paths = [png(photos / f"p{i}.png", base[i]) for i in range(6)]
    paths += [png(photos / "more" / f"p{i}-copy.png", near[i]) for i in range(3)]
    (photos / "broken.png").write_text("not a png")
    query = png(root / "query.png", (base[1] + 0.03 * torch.randn(3, 24, 24, generator=g)).clamp(0, 1))
    return {
        "root": root,
        "weights": str(weights),
        "other": str(other),
        "photos": str(photos),
        "paths": paths,
        "query": query,
        "broken": str(photos / "broken.png"),
    }
