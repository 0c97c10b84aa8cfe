"""lipsim: a provably robust perceptual image similarity metric."""

__version__ = "0.2.0"

from .archs import build_arch, list_archs
from .certificates import DistanceCertificate, TwoAFCResult
from .errors import (
    ImageError,
    LipSimError,
    MissingDependencyError,
    UnknownNameError,
    UnknownWeightsError,
    WeightsError,
)
from .functional import distance
from .image_io import load_image
from .index import Index
from .model import LipSim
from .prepared import PreparedBatch
from .pretrained import list_weights

__all__ = [
    "DistanceCertificate",
    "Index",
    "ImageError",
    "LipSim",
    "LipSimError",
    "MissingDependencyError",
    "PreparedBatch",
    "TwoAFCResult",
    "UnknownNameError",
    "UnknownWeightsError",
    "WeightsError",
    "__version__",
    "build_arch",
    "distance",
    "list_archs",
    "list_weights",
    "load_image",
]
