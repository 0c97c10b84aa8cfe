"""The weights lipsim knows about. Entries are added as trained or converted weights are published."""

from __future__ import annotations

__all__: list[str] = []
