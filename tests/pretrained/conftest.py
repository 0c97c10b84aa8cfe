"""Fixtures of the weights tests."""

from __future__ import annotations

import pytest

from lipsim.pretrained import WeightsSpec, register_weights, registry


@pytest.fixture
def temp_registry():
    """register_weights() for the test only: every name added is removed afterwards."""
    added: list[str] = []

    def add(s: WeightsSpec) -> WeightsSpec:
        register_weights(s)
        added.append(s.name)
        return s

    yield add
    for name in added:
        registry._REGISTRY.pop(name, None)
