"""Weight files shipped with the package: in the wheel (lipsim/_bundled_weights) or a source checkout's weights/."""

from __future__ import annotations

from importlib import resources
from pathlib import Path

__all__ = ["bundled_file"]

_SOURCE_TREE_WEIGHTS = Path(__file__).resolve().parents[3] / "weights"


def bundled_file(name: str) -> Path | None:
    """Path of ``name`` shipped in the wheel (lipsim/_bundled_weights) or, in a source checkout, weights/.

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
    candidate = _SOURCE_TREE_WEIGHTS / name
    return candidate if candidate.is_file() else None
