"""Exceptions raised by lipsim."""

from __future__ import annotations

__all__ = ["WeightsError"]


class WeightsError(ValueError):
    """A weights file or registry entry is missing, corrupt, or does not fit the architecture."""
