"""BAPPS 2AFC triplets (LPIPS, Zhang et al. 2018) in their released folder layout.

Layout::

    root/2afc/<split>/<category>/{ref,p0,p1}/NNNNNN.png
    root/2afc/<split>/<category>/judge/NNNNNN.npy     (share of people preferring p1, in [0, 1])

The real categories are traditional, cnn, superres, deblur, color and frameinterp; any folder that
has the four subfolders is accepted (so :func:`make_two_afc` output loads too). Judge files are read
and checked at construction.

Example:
    A synthetic set written by :func:`~lipsim.train.data.make_two_afc` has this layout:

    >>> import tempfile
    >>> from PIL import Image
    >>> from lipsim.train.data import make_two_afc
    >>> tmp = tempfile.TemporaryDirectory()
    >>> photos = os.path.join(tmp.name, "photos")
    >>> os.mkdir(photos)
    >>> rng = np.random.default_rng(0)
    >>> for k in range(2):  # two small random "photos"
    ...     pixels = rng.integers(0, 256, (30, 40, 3), dtype=np.uint8)
    ...     Image.fromarray(pixels).save(os.path.join(photos, f"{k}.png"))
    >>> _ = make_two_afc(photos, os.path.join(tmp.name, "syn"), n=14, seed=0, size=16, split="val")
    >>> ds = BAPPS2AFC(os.path.join(tmp.name, "syn"), split="val", categories=["blur", "noise"])
    >>> item = ds[0]
    >>> len(ds), item["ref"].shape, item["category"]
    (4, torch.Size([3, 16, 16]), 'blur')
    >>> tmp.cleanup()
"""

from __future__ import annotations

import os
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np
import torch
from torch.utils.data import Dataset

from .image_files import read_image

SUBFOLDERS = ("ref", "p0", "p1", "judge")
BAPPS_CATEGORIES = ("traditional", "cnn", "superres", "deblur", "color", "frameinterp")


def _stems(folder: Path, ext: str) -> set[str]:
    return {p.stem for p in folder.iterdir() if p.is_file() and p.suffix.lower() == ext and not p.name.startswith(".")}


def _describe(ids: Sequence[str], limit: int = 5) -> str:
    shown = ", ".join(sorted(ids)[:limit])
    return shown + (f" (and {len(ids) - limit} more)" if len(ids) > limit else "")


def _read_judge(path: Path) -> float:
    try:
        arr = np.load(path, allow_pickle=False)
    except (OSError, ValueError) as exc:
        raise ValueError(f"judge file {str(path)!r} is not a readable .npy array: {exc}") from exc
    if arr.size != 1 or not np.issubdtype(arr.dtype, np.number):
        raise ValueError(
            f"judge file {str(path)!r} must hold one number in [0, 1] (share preferring p1), "
            f"got an array of dtype {arr.dtype} and shape {arr.shape}"
        )
    value = float(arr.reshape(()))
    if not 0.0 <= value <= 1.0:  # also rejects NaN
        raise ValueError(f"judge file {str(path)!r} holds {value}, expected a share in [0, 1]")
    return value


class BAPPS2AFC(Dataset):
    """BAPPS-layout 2AFC triplets.

    Args:
        root: Dataset root (the folder holding ``2afc``).
        split: Split folder, ``"train"`` or ``"val"`` in the real data (any existing folder is accepted).
        categories: Category folders to load; ``None`` loads every subfolder of the split.
        image_size: Resize every image to this (int: square, pair: (H, W)) with bicubic antialiasing,
            clamped to [0, 1]; ``None`` keeps the stored size (64 x 64 in BAPPS).

    Items are dicts: ``ref``, ``p0``, ``p1`` (float tensors (3, H, W) in [0, 1]), ``p`` (float32
    scalar tensor: share preferring p1), ``id`` (file stem, str) and ``category`` (str).

    Raises:
        ValueError: If ``root/2afc/<split>`` is missing or empty, a category lacks one of
            ``ref``, ``p0``, ``p1``, ``judge``, file ids differ between them, or a judge file is not a
            single number in [0, 1]. The message names the path and what was expected.

    Example:
        >>> import tempfile
        >>> from PIL import Image
        >>> from lipsim.train.data import make_two_afc
        >>> tmp = tempfile.TemporaryDirectory()
        >>> photos = os.path.join(tmp.name, "photos")
        >>> os.mkdir(photos)
        >>> rng = np.random.default_rng(0)
        >>> for k in range(2):  # two small random "photos"
        ...     pixels = rng.integers(0, 256, (30, 40, 3), dtype=np.uint8)
        ...     Image.fromarray(pixels).save(os.path.join(photos, f"{k}.png"))
        >>> _ = make_two_afc(photos, os.path.join(tmp.name, "syn"), n=7, seed=0, size=16, split="val")
        >>> ds = BAPPS2AFC(os.path.join(tmp.name, "syn"), split="val")
        >>> len(ds), ds.categories
        (7, ['blur', 'color', 'jpeg', 'noise', 'pixelate', 'quantize', 'shift'])
        >>> tmp.cleanup()
    """

    def __init__(
        self,
        root: str | os.PathLike,
        split: str = "val",
        categories: Sequence[str] | None = None,
        image_size: int | tuple[int, int] | None = None,
    ) -> None:
        self.root = Path(root)
        self.split = split
        self.image_size = image_size
        split_dir = self.root / "2afc" / split
        if not split_dir.is_dir():
            raise ValueError(
                f"BAPPS split folder {str(split_dir)!r} not found: expected root/2afc/<split>/<category>/"
                "{ref,p0,p1,judge} under the given root"
            )
        if categories is None:
            categories = sorted(p.name for p in split_dir.iterdir() if p.is_dir() and not p.name.startswith("."))
            if not categories:
                raise ValueError(f"BAPPS split folder {str(split_dir)!r} has no category folders")
        elif isinstance(categories, str):
            categories = [categories]
        self.categories = list(categories)

        self._items: list[tuple[str, str, float]] = []  # (category, id, p)
        for category in self.categories:
            cat_dir = split_dir / category
            if not cat_dir.is_dir():
                raise ValueError(f"BAPPS category folder {str(cat_dir)!r} not found")
            missing = [sub for sub in SUBFOLDERS if not (cat_dir / sub).is_dir()]
            if missing:
                raise ValueError(
                    f"BAPPS category folder {str(cat_dir)!r} lacks subfolder(s) {missing}: expected {list(SUBFOLDERS)}"
                )
            ids = {sub: _stems(cat_dir / sub, ".npy" if sub == "judge" else ".png") for sub in SUBFOLDERS}
            common = set.intersection(*ids.values())
            for sub in SUBFOLDERS:
                extra = ids[sub] - common
                if extra:
                    others = [o for o in SUBFOLDERS if o != sub]
                    raise ValueError(
                        f"BAPPS ids differ in {str(cat_dir)!r}: {sub}/ has {_describe(list(extra))} "
                        f"missing from at least one of {others} (each id needs ref/ID.png, p0/ID.png, "
                        "p1/ID.png and judge/ID.npy)"
                    )
            if not common:
                raise ValueError(f"BAPPS category folder {str(cat_dir)!r} holds no triplets")
            for stem in sorted(common):
                self._items.append((category, stem, _read_judge(cat_dir / "judge" / f"{stem}.npy")))

    def __len__(self) -> int:
        return len(self._items)

    @property
    def judges(self) -> torch.Tensor:
        """All p values (share preferring p1) as a float32 tensor, in item order."""
        return torch.tensor([p for _, _, p in self._items], dtype=torch.float32)

    def __getitem__(self, index: int) -> dict:
        category, stem, p = self._items[index]
        cat_dir = self.root / "2afc" / self.split / category
        out: dict[str, Any] = {
            sub: read_image(cat_dir / sub / f"{stem}.png", self.image_size) for sub in ("ref", "p0", "p1")
        }
        out.update(p=torch.tensor(p, dtype=torch.float32), id=stem, category=category)
        return out
