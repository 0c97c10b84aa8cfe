"""Weight files shipped with the package: in the wheel (lipsim/_bundled_weights) or a source checkout's weights/.

The wheel bundles the default weights and at most one earlier version (pyproject.toml lists them). Older versions
stay in a source checkout's weights/archive/ (and on the Hub); a wheel install gets them from the Hub.
"""

from __future__ import annotations

from importlib import resources
from pathlib import Path

__all__ = ["bundled_file"]

_SOURCE_TREE_WEIGHTS = Path(__file__).resolve().parents[3] / "weights"
#: sub-folder of the source tree's weights/ holding versions the wheel no longer bundles
ARCHIVE = "archive"


def bundled_file(name: str) -> Path | None:
    """Path of ``name`` shipped in the wheel (lipsim/_bundled_weights) or, in a source checkout, weights/[archive/].

    Example:
        >>> bundled_file("no-such-weights.safetensors") is None
        True
    """
    try:
        candidate = Path(str(resources.files("lipsim") / "_bundled_weights" / name))
        if candidate.is_file():
            return candidate
    except (ModuleNotFoundError, FileNotFoundError):  # pragma: no cover - importlib edge cases
        pass
    for candidate in (_SOURCE_TREE_WEIGHTS / name, _SOURCE_TREE_WEIGHTS / ARCHIVE / name):
        if candidate.is_file():
            return candidate
    return None
