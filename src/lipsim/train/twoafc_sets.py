"""Open a 2AFC evaluation/fine-tuning set by format name, and batch its triplets."""

from __future__ import annotations

from typing import Iterator

import torch
from torch.utils.data import ConcatDataset, Dataset

__all__ = ["open_2afc", "FORMATS", "iter_batches", "stack_items"]

FORMATS = ("bapps", "nights")


def open_2afc(root: str, fmt: str, split: str | None = None, image_size: int | None = None) -> dict[str, Dataset]:
    """Named subsets to score separately.

    bapps: one subset per category folder of ``root/2afc/<split>`` (default split "val"), plus nothing else.
    nights: ``test_imagenet`` and ``test_no_imagenet`` for split "test" (design.md, section 7), else the split.
    """
    from .data import BAPPS2AFC, NIGHTS

    if fmt == "bapps":
        split = split or "val"
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


def concat(subsets: dict[str, Dataset]) -> Dataset:
    return ConcatDataset(list(subsets.values()))


def stack_items(items: list[dict]) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor, torch.Tensor]:
    ref = torch.stack([it["ref"] for it in items])
    p0 = torch.stack([it["p0"] for it in items])
    p1 = torch.stack([it["p1"] for it in items])
    p = torch.stack([torch.as_tensor(it["p"], dtype=torch.float32) for it in items])
    return ref, p0, p1, p


def iter_batches(ds: Dataset, batch_size: int) -> Iterator[tuple[torch.Tensor, ...]]:
    """Sequential batches (ref, x0, x1, p) of a 2AFC dataset."""
    n = len(ds)  # type: ignore[arg-type]
    for i in range(0, n, batch_size):
        yield stack_items([ds[j] for j in range(i, min(n, i + batch_size))])
