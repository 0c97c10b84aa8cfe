"""Registry of named weights (timm-style): what each file is, where it lives and how to check it."""

from __future__ import annotations

from dataclasses import dataclass

from ..errors import UnknownWeightsError, WeightsError

__all__ = [
    "WeightsSpec",
    "get_weights_spec",
    "default_weights_for",
    "list_weights",
    "register_weights",
    "weights_with_sha256",
]


@dataclass(frozen=True)
class WeightsSpec:
    """One published set of weights: where the file is and how to check it.

    How to build the network (arch config, constant coordinate, threshold) is read from the file's own
    metadata, its one source; ``arch`` is stated here too so that :func:`list_weights` and
    :func:`default_weights_for` work without opening files, and loading checks that both agree.

    Attributes:
        name: registry name, e.g. ``"efficient-photos-v1"``.
        arch: architecture name (see :func:`lipsim.list_archs`).
        file: file name of the safetensors file (bundled in the wheel and/or in the Hub repo).
        sha256: hex digest of that file; loading refuses any other content. None: not published yet.
        hub_repo: Hugging Face Hub repository id holding ``file``.
        hub_revision: pinned commit (or tag) of ``hub_repo``.
        license: licence of the weights.
        description: one line on what they were trained on and how.
        default: whether ``LipSim(pretrained=True, arch=arch)`` picks this entry.
        conversion_hint: for weights that exist only in another format, how to make them.
        bundled_in: for weights the wheel no longer bundles, the last lipsim release whose wheel did (named in the
            error when the Hub cannot be reached).
    """

    name: str
    arch: str
    file: str
    sha256: str | None
    hub_repo: str | None
    hub_revision: str | None
    license: str
    description: str
    default: bool = False
    conversion_hint: str | None = None
    bundled_in: str | None = None


_REGISTRY: dict[str, WeightsSpec] = {}


def register_weights(spec: WeightsSpec) -> WeightsSpec:
    """Add ``spec`` to the registry (names are unique)."""
    if spec.name in _REGISTRY:
        raise ValueError(f"weights {spec.name!r} are already registered")
    _REGISTRY[spec.name] = spec
    return spec


def list_weights(arch: str | None = None) -> list[str]:
    """Names of the registered weights, optionally only those of ``arch``.

    Example:
        >>> isinstance(list_weights(), list)
        True
    """
    return sorted(n for n, s in _REGISTRY.items() if arch is None or s.arch == arch)


def get_weights_spec(name: str) -> WeightsSpec:
    """The :class:`WeightsSpec` called ``name``; :class:`~lipsim.errors.UnknownWeightsError` otherwise."""
    try:
        return _REGISTRY[name]
    except (KeyError, TypeError):
        raise UnknownWeightsError(f"unknown weights {name!r}; registered: {list_weights()}") from None


def weights_with_sha256(sha256: str) -> WeightsSpec | None:
    """The registered weights whose file has this sha256 (a file the registry pins, whatever its path), or None.

    Example:
        >>> weights_with_sha256("0" * 64) is None
        True
    """
    for spec in _REGISTRY.values():
        if spec.sha256 is not None and spec.sha256.lower() == sha256.lower():
            return spec
    return None


def default_weights_for(arch: str) -> WeightsSpec:
    """The default weights of ``arch``, or a WeightsError saying that none exist yet."""
    for spec in _REGISTRY.values():
        if spec.arch == arch and spec.default:
            return spec
    others = list_weights(arch)
    raise WeightsError(
        f"no default pretrained weights are registered for arch {arch!r}"
        + (f" (registered for it: {others}; pass weights=NAME)" if others else "")
        + ". Use LipSim(pretrained=False) for a freshly initialised model to train, or weights=PATH"
        " for a safetensors file or save_pretrained directory"
    )
