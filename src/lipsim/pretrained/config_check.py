"""Validation of a weights config (config.json or safetensors metadata) before anything is built or allocated.

Every value is checked for its type, its range and a sane upper bound, so a hostile or corrupt config ends in
one :class:`~lipsim.errors.WeightsError` naming the key, never in a huge allocation, a RecursionError or an
error from deep inside torch. Keys lipsim does not know are kept as provenance (any JSON, nested at most
:data:`MAX_DEPTH` levels).

Example:
    >>> cfg = validate_config({"arch": "efficient", "arch_config": {"embed_dim": 64}}, "config.json")
    >>> cfg["constant_coordinate"], cfg["arch_config"]
    ('append', {'embed_dim': 64})
    >>> validate_config({"arch": "efficient", "arch_config": {"image_size": 0}}, "config.json")
    Traceback (most recent call last):
    ...
    lipsim.errors.WeightsError: config.json: arch_config.image_size must be an int in [8, 4096], got 0
"""

from __future__ import annotations

import json
import math
import re
from collections.abc import Callable
from typing import Any

from ..errors import WeightsError

__all__ = [
    "MAX_CONFIG_BYTES",
    "MAX_DEPTH",
    "ARCH_CONFIG_LIMITS",
    "parse_config_json",
    "validate_config",
    "check_threshold",
    "check_size_thresholds",
]

#: Largest config.json read (a config is a few hundred bytes; this leaves room for provenance).
MAX_CONFIG_BYTES = 1 << 20
#: Deepest JSON nesting accepted anywhere in a config.
MAX_DEPTH = 32

_SHA256 = re.compile(r"^[0-9a-fA-F]{64}$")

# arch -> key -> (kind, lowest, highest); kind "int", "even" (even int), "int16" (multiple of 16), "bool" (a JSON
# true or false, never a string or a number), "evens" (a list of 1..16 even ints). Every option of each arch is
# listed (a key not listed is refused): bounds are far above any real network and far below what would exhaust
# memory while building or running it.
ARCH_CONFIG_LIMITS: dict[str, dict[str, tuple[str, int, int]]] = {
    "efficient": {
        "widths": ("evens", 2, 8192),
        "stem_factor": ("int", 1, 16),
        "head_width": ("even", 2, 65536),
        "embed_dim": ("int", 1, 65536),
        "image_size": ("int", 8, 4096),
        "native_resolution": ("bool", 0, 1),
        "max_size": ("int", 8, 4096),
        "isometric": ("bool", 0, 1),
        "grid": ("int", 1, 16),
    },
    "paper-small": {
        "channels": ("int", 1, 4096),
        "conv_inner": ("int", 1, 4096),
        "depth_conv": ("int", 1, 1024),
        "depth_linear": ("int", 1, 1024),
        "linear_inner": ("int", 1, 65536),
        "embed_dim": ("int", 1, 65536),
        "image_size": ("int16", 16, 4096),
        "paper_q_quirk": ("bool", 0, 1),
    },
}


def _is_int(v: Any) -> bool:
    return isinstance(v, int) and not isinstance(v, bool)


def _check_value(kind: str, lo: int, hi: int, v: Any) -> str | None:
    """None if ``v`` fits, else what was expected."""
    if kind == "bool":
        return None if isinstance(v, bool) else "must be true or false"
    if kind == "evens":
        ok = (
            isinstance(v, (list, tuple))
            and 1 <= len(v) <= 16
            and all(_is_int(w) and lo <= w <= hi and w % 2 == 0 for w in v)
        )
        return None if ok else f"must be a list of 1 to 16 even ints in [{lo}, {hi}]"
    ok = _is_int(v) and lo <= v <= hi
    if kind == "even":
        return None if ok and v % 2 == 0 else f"must be an even int in [{lo}, {hi}]"
    if kind == "int16":
        return None if ok and v % 16 == 0 else f"must be a multiple of 16 in [{lo}, {hi}]"
    return None if ok else f"must be an int in [{lo}, {hi}]"


def _depth_ok(value: Any) -> bool:
    """Whether ``value`` is nested at most MAX_DEPTH levels (iterative: no recursion limit involved)."""
    stack: list[tuple[Any, int]] = [(value, 0)]
    while stack:
        v, d = stack.pop()
        if isinstance(v, (dict, list)):
            if d >= MAX_DEPTH:
                return False
            stack.extend((c, d + 1) for c in (v.values() if isinstance(v, dict) else v))
    return True


def parse_config_json(text: str | bytes, source: str) -> Any:
    """``json.loads`` with the failures a hostile file can cause turned into one WeightsError."""
    if len(text) > MAX_CONFIG_BYTES:
        raise WeightsError(f"{source}: config is {len(text):,} bytes, more than the {MAX_CONFIG_BYTES:,} accepted")
    try:
        return json.loads(text)
    except RecursionError:
        raise WeightsError(f"{source}: config JSON is nested too deeply (more than {MAX_DEPTH} levels)") from None
    except (json.JSONDecodeError, UnicodeDecodeError) as e:
        raise WeightsError(f"{source} is not valid JSON: {e}") from None


def check_threshold(value: Any, source: str) -> float | None:
    """``value`` as a float in [0, 2] (the range of d), None if absent; WeightsError otherwise."""
    if value is None:
        return None
    if (
        isinstance(value, bool)
        or not isinstance(value, (int, float))
        or not math.isfinite(value)
        or not 0.0 <= value <= 2.0
    ):
        raise WeightsError(f"{source}: threshold must be a number in [0, 2] (the range of d) or null, got {value!r}")
    return float(value)


def check_size_thresholds(value: Any, source: str) -> dict[int, float]:
    """``value`` (``{"32": tau, ...}``, the thresholds calibrated per compare size) as {size: tau}; {} if absent.

    Example:
        >>> check_size_thresholds({"64": 0.03, "32": 0.02}, "weights"), check_size_thresholds(None, "weights")
        ({32: 0.02, 64: 0.03}, {})
    """
    if value is None:
        return {}
    if not isinstance(value, dict) or not all(isinstance(k, str) and k.isdigit() and int(k) > 0 for k in value):
        raise WeightsError(
            f"{source}: size_thresholds must map compare sizes in pixels (positive integers, as JSON keys) to "
            f"thresholds, got {value!r}"
        )
    out = {}
    for key in sorted(value, key=int):
        tau = check_threshold(value[key], f"{source} size_thresholds[{key!r}]")
        if tau is None:
            raise WeightsError(f"{source} size_thresholds[{key!r}]: expected a threshold in [0, 2], got null")
        out[int(key)] = tau
    return out


def _check(cond: bool, source: str, message: Callable[[], str]) -> None:
    if not cond:
        raise WeightsError(f"{source}: {message()}")


def validate_config(config: Any, source: str) -> dict[str, Any]:
    """Check a weights config and fill its defaults (``constant_coordinate="append"``, ``arch_config={}``).

    Raises:
        WeightsError: the first problem found, naming the key, the expected type/range and the value.
    """
    _check(
        isinstance(config, dict),
        source,
        lambda: f"config must be a JSON object with at least 'arch', got {type(config).__name__}",
    )
    _check(_depth_ok(config), source, lambda: f"config JSON is nested too deeply (more than {MAX_DEPTH} levels)")
    _check("arch" in config, source, lambda: f"config must be a JSON object with at least 'arch', got {config!r:.200}")
    arch = config["arch"]
    _check(_known_arch(arch), source, lambda: f"arch must be one of {_known_archs()}, got {arch!r:.100}")
    fmt = config.get("format", "lipsim")
    _check(fmt == "lipsim", source, lambda: f"format must be 'lipsim', got {fmt!r:.100}")
    cc = config.setdefault("constant_coordinate", "append")
    _check(cc in ("append", "none"), source, lambda: f"constant_coordinate must be 'append' or 'none', got {cc!r:.100}")
    arch_config = config.setdefault("arch_config", {})
    _check(
        isinstance(arch_config, dict),
        source,
        lambda: f"arch_config must be a JSON object, got {type(arch_config).__name__}",
    )
    limits = ARCH_CONFIG_LIMITS.get(arch, {})
    for key, (kind, lo, hi) in limits.items():
        if key in arch_config:
            problem = _check_value(kind, lo, hi, arch_config[key])
            if problem is not None:
                raise WeightsError(f"{source}: arch_config.{key} {problem}, got {arch_config[key]!r:.100}")
    unknown = sorted(key for key in arch_config if key not in limits)
    _check(
        not unknown,
        source,
        lambda: f"arch_config.{unknown[0]:.100} is not an option of arch {arch!r}; its options are {sorted(limits)}",
    )
    sha = config.get("weights_sha256")
    _check(
        sha is None or isinstance(sha, str) and bool(_SHA256.match(sha)),
        source,
        lambda: f"weights_sha256 must be 64 hex digits, got {sha!r:.100}",
    )
    check_threshold(config.get("threshold"), source)
    rates = config.get("threshold_rates")
    _check(
        rates is None or isinstance(rates, dict),
        source,
        lambda: f"threshold_rates must be a JSON object, got {type(rates).__name__}",
    )
    version = config.get("lipsim_version")
    _check(
        version is None or isinstance(version, str),
        source,
        lambda: f"lipsim_version must be a string, got {type(version).__name__}",
    )
    return config


def _known_archs() -> list[str]:
    from ..archs import list_archs

    return list_archs()


def _known_arch(name: Any) -> bool:
    return isinstance(name, str) and name in _known_archs()
