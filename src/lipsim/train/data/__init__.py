"""Training and evaluation data: photo crops, distortions, synthetic 2AFC sets, BAPPS and NIGHTS loaders.

Example:
    >>> from lipsim.train.data import ImageFolderCrops, NIGHTS, make_2afc  # doctest: +SKIP
"""

from .bapps import BAPPS2AFC, BAPPS_CATEGORIES
from .distortions import FAMILIES, distort
from .image_folder import (
    CropBox,
    FixedCropPool,
    ImageFiles,
    ImageFolderCrops,
    jitter_view,
    lipsim_views,
    list_images,
    load_rgb,
    read_image,
    seeded_generator,
)
from .nights import NIGHTS
from .synthetic_2afc import make_2afc

__all__ = [
    "BAPPS2AFC",
    "BAPPS_CATEGORIES",
    "CropBox",
    "FAMILIES",
    "FixedCropPool",
    "ImageFiles",
    "ImageFolderCrops",
    "NIGHTS",
    "distort",
    "jitter_view",
    "lipsim_views",
    "list_images",
    "load_rgb",
    "make_2afc",
    "read_image",
    "seeded_generator",
]
