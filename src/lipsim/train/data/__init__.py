"""Training and evaluation data: photo crops, distortions, synthetic 2AFC sets, BAPPS and NIGHTS loaders.

Example:
    >>> import torch
    >>> from lipsim.train.data import FAMILIES, distort
    >>> distort(torch.rand(3, 16, 16), "jpeg", 0.5, torch.Generator().manual_seed(0)).shape
    torch.Size([3, 16, 16])
    >>> FAMILIES
    ('noise', 'blur', 'jpeg', 'color', 'pixelate', 'quantize', 'shift')
"""

from ..rng import seeded_generator
from .bapps import BAPPS2AFC, BAPPS_CATEGORIES
from .crops import CropBox, FixedCropPool
from .distortions import FAMILIES, distort
from .image_files import ImageFiles, list_images, load_rgb, read_image
from .nights import NIGHTS
from .synthetic_two_afc import make_two_afc
from .views import jitter_view

__all__ = [
    "BAPPS2AFC",
    "BAPPS_CATEGORIES",
    "CropBox",
    "FAMILIES",
    "FixedCropPool",
    "ImageFiles",
    "NIGHTS",
    "distort",
    "jitter_view",
    "list_images",
    "load_rgb",
    "make_two_afc",
    "read_image",
    "seeded_generator",
]
