"""A small folder of photos in every colour mode, shared by the image-files and crops tests."""

from __future__ import annotations

from pathlib import Path

import numpy as np
from PIL import Image

from tests.train._images import noise_image


def make_photo_folder(root: Path) -> Path:
    """Five images (RGB, gray, RGBA, palette GIF, JPEG; some nested), a text file and a hidden image."""
    (root / "sub" / "deeper").mkdir(parents=True)
    Image.fromarray(noise_image(0, 48, 64)).save(root / "a_rgb.png")
    Image.fromarray(noise_image(1, 40, 40)[..., 0]).save(root / "sub" / "b_gray.png")
    rgba = np.concatenate([noise_image(2, 50, 36), np.full((50, 36, 1), 128, np.uint8)], axis=2)
    Image.fromarray(rgba, "RGBA").save(root / "sub" / "c_rgba.png")
    Image.fromarray(noise_image(3, 36, 44)).convert("P").save(root / "sub" / "deeper" / "d_palette.gif")
    Image.fromarray(noise_image(4, 60, 52)).save(root / "e.JPG", quality=90)
    (root / "notes.txt").write_text("not an image")
    Image.fromarray(noise_image(5, 8, 8)).save(root / ".hidden.png")
    return root
