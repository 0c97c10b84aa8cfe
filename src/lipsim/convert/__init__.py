"""Converters from other weight formats into lipsim pretrained directories.

- :func:`convert_original`: the LipSim authors' released ``paper-small`` training checkpoints
  (``lipsim convert-original CKPT.pth OUT_DIR`` on the command line).
"""

from .original import OriginalCheckpoint, convert_original, load_original, map_original_state_dict

__all__ = ["OriginalCheckpoint", "convert_original", "load_original", "map_original_state_dict"]
