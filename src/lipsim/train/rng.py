"""Seeded random streams: one independent ``torch.Generator`` per tuple of identifying values.

Every random choice in training data (crop boxes, flips, colour jitter) is drawn from a generator seeded
from the item's coordinates, so an item is a pure function of them: a run resumed at any step reproduces
the same batches bit for bit, whatever the number of DataLoader workers. The streams are part of what
training runs cache on disk, so the hashing must never change.

Example:
    >>> import torch
    >>> from lipsim.train.rng import seeded_generator
    >>> a = torch.rand(3, generator=seeded_generator("crop", 0, 0, 7))
    >>> torch.equal(a, torch.rand(3, generator=seeded_generator("crop", 0, 0, 7)))
    True
    >>> torch.equal(a, torch.rand(3, generator=seeded_generator("crop", 0, 0, 8)))
    False
"""

from __future__ import annotations

import hashlib

import torch


def seeded_generator(*parts: object) -> torch.Generator:
    """Return a CPU generator seeded from a hash of ``parts`` (independent streams per tuple).

    Args:
        *parts: Values whose ``str`` identifies the stream, e.g. ``("crop", seed, epoch, index)``.

    Returns:
        A fresh ``torch.Generator`` on the CPU.

    Example:
        >>> a = torch.rand(2, generator=seeded_generator("crop", 0, 0, 7))
        >>> torch.equal(a, torch.rand(2, generator=seeded_generator("crop", 0, 0, 7)))
        True
    """
    digest = hashlib.sha256(":".join(str(p) for p in parts).encode()).digest()
    gen = torch.Generator()
    gen.manual_seed(int.from_bytes(digest[:8], "little") & ((1 << 63) - 1))
    return gen
