"""Named weights: registry, verified safetensors I/O and resolution (file, bundled copy, Hub)."""

from . import catalog  # noqa: F401  (registers the known weights)
from .registry import WeightsSpec, default_weights_for, get_weights_spec, list_weights, register_weights
from .safetensors_io import check_state_dict, read_safetensors, sha256_file, write_safetensors

__all__ = [
    "WeightsSpec",
    "check_state_dict",
    "default_weights_for",
    "get_weights_spec",
    "list_weights",
    "read_safetensors",
    "register_weights",
    "sha256_file",
    "write_safetensors",
]
