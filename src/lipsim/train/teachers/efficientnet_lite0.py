"""EfficientNet-Lite0 teacher; the implementation is shared with Lite1/Lite2 in :mod:`.efficientnet_lite`.

This module keeps the import path ``lipsim.train.teachers.efficientnet_lite0.EfficientNetLite0Teacher``.

Example:
    >>> EfficientNetLite0Teacher.name
    'efficientnet-lite0'
"""

from __future__ import annotations

from .efficientnet_lite import EfficientNetLite0Teacher

__all__ = ["EfficientNetLite0Teacher"]
