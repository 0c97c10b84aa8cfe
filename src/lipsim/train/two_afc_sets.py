"""Open a 2AFC evaluation/fine-tuning set by format name, and batch its triplets."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import torch
from torch.utils.data import ConcatDataset, Dataset

__all__ = ["open_two_afc", "FORMATS", "iter_batches", "sample_batch", "stack_items"]

FORMATS = ("bapps", "nights")


def open_two_afc(root: str, fmt: str, split: str | None = None, image_size: int | None = None) -> dict[str, Dataset]:
    """Named subsets to score separately.

    bapps: one subset per category folder of ``root/2afc/<split>`` (default split "val"), plus nothing else.
    nights: ``test_imagenet`` and ``test_no_imagenet`` for split "test", else the split.

    Raises:
        ValueError: a BAPPS split is missing (naming the splits that exist and the ``--split`` to pass), or
            an unknown format.
    """
    from .data import BAPPS2AFC, NIGHTS

    if fmt == "bapps":
        split = split or "val"
        _check_bapps_split(root, split)
        full = BAPPS2AFC(root, split=split, image_size=image_size)
        return {c: BAPPS2AFC(root, split=split, categories=[c], image_size=image_size) for c in full.categories}
    if fmt == "nights":
        split = split or "test"
        size = image_size or 224
        if split == "test":
            return {
                "test_imagenet": NIGHTS(root, split="test", imagenet=True, image_size=size),
                "test_no_imagenet": NIGHTS(root, split="test", imagenet=False, image_size=size),
            }
        return {split: NIGHTS(root, split=split, image_size=size)}
    raise ValueError(f"unknown 2AFC format {fmt!r}; expected one of {FORMATS}")


def _check_bapps_split(root: str, split: str) -> None:
    """A missing split next to existing ones: say which ``--split`` to pass."""
    base = Path(root) / "2afc"
    if not base.is_dir() or (base / split).is_dir():
        return  # BAPPS2AFC reports a missing root/2afc itself
    found = sorted(p.name for p in base.iterdir() if p.is_dir() and not p.name.startswith("."))
    if found:
        have = ", ".join(repr(s) for s in found)
        which = f"--split {found[0]}" if len(found) == 1 else f"one of them with --split (e.g. --split {found[0]})"
        raise ValueError(
            f"BAPPS split folder {str(base / split)!r} not found; {str(base)!r} holds split(s) {have}: pass "
            f"{which}, or write a {split!r} split with lipsim-train make-2afc --split {split}"
        )


def concat(subsets: dict[str, Dataset]) -> Dataset:
    return ConcatDataset(list(subsets.values()))


def stack_items(items: list[dict]) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor, torch.Tensor]:
    ref = torch.stack([it["ref"] for it in items])
    p0 = torch.stack([it["p0"] for it in items])
    p1 = torch.stack([it["p1"] for it in items])
    p = torch.stack([torch.as_tensor(it["p"], dtype=torch.float32) for it in items])
    return ref, p0, p1, p


def sample_batch(
    ds: Dataset, batch_size: int, generator: torch.Generator, rank: int = 0, world_size: int = 1
) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor, torch.Tensor]:
    """This process's share (every ``world_size``-th item from ``rank``) of ``batch_size`` triplets drawn with
    replacement by ``generator``: (ref, x0, x1, p)."""
    idx = torch.randint(len(ds), (batch_size,), generator=generator)  # type: ignore[arg-type]
    return stack_items([ds[int(i)] for i in idx[rank::world_size]])


def iter_batches(ds: Dataset, batch_size: int) -> Iterator[tuple[torch.Tensor, ...]]:
    """Sequential batches (ref, x0, x1, p) of a 2AFC dataset."""
    n = len(ds)  # type: ignore[arg-type]
    for i in range(0, n, batch_size):
        yield stack_items([ds[j] for j in range(i, min(n, i + batch_size))])
