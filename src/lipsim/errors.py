"""Exceptions raised by lipsim: one hierarchy, caught by every command-line tool (one line, exit status 2).

Every class derives from :class:`LipSimError` and from the built-in exception that older code (and
generic ``except`` clauses) expect:

- :class:`UnknownNameError` (also ``KeyError`` and ``ValueError``): a name missing from a registry (archs,
  weights, teachers, reference metrics); the message names the known ones.
- :class:`WeightsError` (also ``ValueError``): a weights file or config that is missing, corrupt, unverified (no
  sha256 pinned for it), non-finite, out of range or does not fit the architecture, or weights whose network embeds
  every image alike. :class:`UnknownWeightsError` is both of the above.
- :class:`MissingDependencyError` (also ``ImportError``): an optional package that is not installed; the
  message names the pip command.
- :class:`ImageError` (also ``ValueError``): an image file that cannot be read or that lipsim refuses
  (not a regular file, too many pixels, a pixel format without a known range).

Example:
    >>> from lipsim.archs import get_arch_spec
    >>> try:
    ...     get_arch_spec("vit")
    ... except UnknownNameError as e:
    ...     print(e)
    unknown arch 'vit'; expected one of ['efficient', 'paper-small']
"""

from __future__ import annotations

__all__ = [
    "ImageError",
    "LipSimError",
    "MissingDependencyError",
    "UnknownNameError",
    "UnknownWeightsError",
    "WeightsError",
]


class LipSimError(Exception):
    """Base class of every error lipsim raises on purpose (bad input, bad files, missing packages)."""


class UnknownNameError(LipSimError, KeyError, ValueError):
    """A name that no registry knows; the message lists the known names."""

    def __str__(self) -> str:  # KeyError would print the message in quotes
        return str(self.args[0]) if self.args else ""


class WeightsError(LipSimError, ValueError):
    """A weights file or registry entry is missing, corrupt, unverified, or does not fit the architecture."""


class UnknownWeightsError(UnknownNameError, WeightsError):
    """A weights name that is not registered (both an unknown name and a weights problem)."""


class MissingDependencyError(LipSimError, ImportError):
    """An optional package is not installed; the message names the pip command that provides it."""


class ImageError(LipSimError, ValueError):
    """An image file that cannot be read, or that lipsim refuses to read (the message says why)."""
