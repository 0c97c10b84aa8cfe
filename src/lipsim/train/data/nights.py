"""NIGHTS 2AFC triplets (DreamSim, Fu et al. 2023) in their released layout.

Layout::

    root/data.csv
    root/ref/xxx/yyy.png
    root/distort/xxx/yyy_0.png, root/distort/xxx/yyy_1.png

``data.csv`` has a header row. It is read by position (column 0 id, column 2 the target p = share
of people who judged the right image closer, columns 4/5/6 ref/left/right paths relative to
``root``) and by name (``votes``, ``split``, ``is_imagenet``). Published numbers keep rows with
``votes >= 6`` and report the test split as test_imagenet and test_no_imagenet (``imagenet=True`` /
``False`` here).

Example:
    A one-triplet set in this layout:

    >>> import tempfile
    >>> from PIL import Image
    >>> tmp = tempfile.TemporaryDirectory()
    >>> for rel in ["ref/000/0.png", "distort/000/0_0.png", "distort/000/0_1.png"]:
    ...     os.makedirs(os.path.dirname(os.path.join(tmp.name, rel)), exist_ok=True)
    ...     Image.new("RGB", (32, 32), "gray").save(os.path.join(tmp.name, rel))
    >>> rows = ["id,prompt,right_vote,left_vote,ref_path,left_path,right_path,votes,split,is_imagenet",
    ...         "0,a cat,0.83,0.17,ref/000/0.png,distort/000/0_0.png,distort/000/0_1.png,6,test,True"]
    >>> with open(os.path.join(tmp.name, "data.csv"), "w") as fh:
    ...     for row in rows:
    ...         print(row, file=fh)
    >>> test_in = NIGHTS(tmp.name, split="test", imagenet=True)
    >>> item = test_in[0]
    >>> item["p0"].shape, round(float(item["p"]), 2), item["category"]
    (torch.Size([3, 224, 224]), 0.83, 'imagenet')
    >>> NIGHTS(tmp.name, split="test", imagenet=False)  # doctest: +ELLIPSIS
    Traceback (most recent call last):
    ...
    ValueError: NIGHTS index ... has no rows with split='test', votes >= 6, is_imagenet=False (1 rows ...
    >>> tmp.cleanup()
"""

from __future__ import annotations

import csv
import math
import os
from pathlib import Path

import torch
from torch.utils.data import Dataset

from .image_files import read_image

ID_COL, P_COL, REF_COL, LEFT_COL, RIGHT_COL = 0, 2, 4, 5, 6
NAMED_COLS = ("votes", "split", "is_imagenet")
_TRUE = {"true", "1", "1.0", "yes"}
_FALSE = {"false", "0", "0.0", "no"}


def _parse_bool(text: str, where: str) -> bool:
    low = text.strip().lower()
    if low in _TRUE:
        return True
    if low in _FALSE:
        return False
    raise ValueError(f"{where}: is_imagenet must be True or False, got {text!r}")


def _parse_float(text: str, what: str, where: str) -> float:
    try:
        value = float(text)
    except ValueError:
        raise ValueError(f"{where}: {what} must be a number, got {text!r}") from None
    if math.isnan(value):
        raise ValueError(f"{where}: {what} must be a number, got {text!r}")
    return value


class NIGHTS(Dataset):
    """NIGHTS 2AFC triplets.

    Args:
        root: Dataset root holding ``data.csv``, ``ref/`` and ``distort/``.
        split: Value of the ``split`` column to keep (``"train"``, ``"val"`` or ``"test"``).
        min_votes: Keep rows with ``votes >= min_votes`` (6 in every published number).
        imagenet: ``True`` / ``False`` keep only rows whose ``is_imagenet`` matches; ``None`` keeps both.
        image_size: Resize to this (int: square, pair: (H, W)) with bicubic antialiasing, then clamp
            to [0, 1]; ``None`` keeps the stored size.

    Items are dicts: ``ref``, ``p0`` (left image), ``p1`` (right image) as float tensors (3, H, W) in
    [0, 1]; ``p`` (float32 scalar tensor, share preferring p1); ``id`` (str, column 0) and
    ``category`` (``"imagenet"`` or ``"no_imagenet"``).

    Raises:
        ValueError: If ``data.csv`` is missing or lacks columns, a value cannot be parsed, no row
            matches the filters, p is outside [0, 1], or image files are missing (the first ones
            are named).

    Example:
        >>> ds = NIGHTS("/data/nights", split="val")  # doctest: +SKIP
        >>> len(ds)  # doctest: +SKIP
        1958
    """

    def __init__(
        self,
        root: str | os.PathLike,
        split: str = "test",
        min_votes: float = 6,
        imagenet: bool | None = None,
        image_size: int | tuple[int, int] | None = 224,
    ) -> None:
        if imagenet not in (True, False, None):
            raise TypeError(f"imagenet must be True, False or None, got {imagenet!r}")
        self.root = Path(root)
        self.split = split
        self.min_votes = min_votes
        self.imagenet = imagenet
        self.image_size = image_size
        csv_path = self.root / "data.csv"
        if not csv_path.is_file():
            raise ValueError(
                f"NIGHTS index {str(csv_path)!r} not found: expected root/data.csv, root/ref/ and root/distort/"
            )
        with open(csv_path, newline="", encoding="utf-8-sig") as fh:
            rows = list(csv.reader(fh))
        if not rows:
            raise ValueError(f"NIGHTS index {str(csv_path)!r} is empty: expected a header row and data rows")
        header = [h.strip() for h in rows[0]]
        missing = [name for name in NAMED_COLS if name not in header]
        if missing or len(header) <= RIGHT_COL:
            raise ValueError(
                f"NIGHTS index {str(csv_path)!r} has columns {header}: expected at least 7 columns (0 id, "
                f"2 p, 4/5/6 ref/left/right paths) and the named columns {list(NAMED_COLS)}"
                + (f"; missing {missing}" if missing else "")
            )
        col = {name: header.index(name) for name in NAMED_COLS}

        self._rows: list[tuple[str, float, str, str, str, bool]] = []
        split_count = 0
        splits_seen: set[str] = set()
        for line_no, row in enumerate(rows[1:], start=2):
            if not row or all(not cell.strip() for cell in row):
                continue
            where = f"{csv_path}, line {line_no}"
            if len(row) != len(header):
                raise ValueError(f"{where}: expected {len(header)} fields like the header, got {len(row)}")
            row_split = row[col["split"]].strip()
            splits_seen.add(row_split)
            if row_split != split:
                continue
            split_count += 1
            if _parse_float(row[col["votes"]], "votes", where) < min_votes:
                continue
            is_imagenet = _parse_bool(row[col["is_imagenet"]], where)
            if imagenet is not None and is_imagenet != imagenet:
                continue
            p = _parse_float(row[P_COL], "p (column 2)", where)
            if not 0.0 <= p <= 1.0:
                raise ValueError(f"{where}: p (column 2) must be a share in [0, 1], got {p}")
            paths = (row[REF_COL].strip(), row[LEFT_COL].strip(), row[RIGHT_COL].strip())
            self._rows.append((row[ID_COL].strip(), p, *paths, is_imagenet))

        if not self._rows:
            raise ValueError(
                f"NIGHTS index {str(csv_path)!r} has no rows with split={split!r}, votes >= {min_votes}"
                + (f", is_imagenet={imagenet}" if imagenet is not None else "")
                + f" ({split_count} rows of that split before the votes/is_imagenet filters; "
                f"splits present: {sorted(splits_seen)})"
            )
        missing_files = [rel for row in self._rows for rel in row[2:5] if not (self.root / rel).is_file()]
        if missing_files:
            shown = ", ".join(repr(m) for m in missing_files[:5])
            more = f" and {len(missing_files) - 5} more" if len(missing_files) > 5 else ""
            raise ValueError(
                f"NIGHTS image files listed in {str(csv_path)!r} are missing under {str(self.root)!r}: {shown}{more} "
                "(expected ref/xxx/yyy.png and distort/xxx/yyy_{0,1}.png)"
            )

    def __len__(self) -> int:
        return len(self._rows)

    @property
    def judges(self) -> torch.Tensor:
        """All p values (share preferring p1, the right image) as a float32 tensor, in item order."""
        return torch.tensor([row[1] for row in self._rows], dtype=torch.float32)

    def __getitem__(self, index: int) -> dict:
        row_id, p, ref, left, right, is_imagenet = self._rows[index]
        return {
            "ref": read_image(self.root / ref, self.image_size),
            "p0": read_image(self.root / left, self.image_size),
            "p1": read_image(self.root / right, self.image_size),
            "p": torch.tensor(p, dtype=torch.float32),
            "id": row_id,
            "category": "imagenet" if is_imagenet else "no_imagenet",
        }
