"""Cross-family triplets relabelled by the consensus of several reference metrics, grouped by family pair.

A cross-family triplet (``make-2afc --cross-family``) shows a reference and two different distortion
families. No single metric is ground truth there, so the triplet is kept only when every voter (e.g.
LPIPS-VGG, LPIPS-Alex, DISTS, ST-LPIPS) picks the same candidate *by a clear margin*: for each voter the
relative gap ``|d0 - d1| / (d0 + d1)`` must be at least ``margin``. Kept triplets are copied into a new
BAPPS-layout set whose categories name the family pair, closer first (``color-closer-than-jpeg``), so
``lipsim-train eval`` on it prints one score per family pair.

Example:
    >>> summary = consensus_set("syn224", "val", "cross224", ["lpips-vgg", "dists"], margin=0.05)  # doctest: +SKIP
    >>> summary["kept"], summary["total"]  # doctest: +SKIP
    (231, 400)
"""

from __future__ import annotations

import csv
import json
import os
import shutil
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

import numpy as np
import torch
from torch import Tensor

from .image_files import read_image

__all__ = ["consensus_set"]

Metric = Callable[[Tensor, Tensor], Tensor]


def _cross_rows(root: Path, split: str) -> list[dict[str, str]]:
    table = root / f"triplets_{split}.csv"
    if not table.is_file():
        raise ValueError(f"{str(table)!r} not found: make the set with `lipsim-train make-2afc --cross-family`")
    with open(table, newline="", encoding="utf-8") as fh:
        rows = [r for r in csv.DictReader(fh) if r["category"] == "cross"]
    if not rows:
        raise ValueError(f"{str(table)!r} has no cross-family triplets (make-2afc --cross-family > 0)")
    return rows


@torch.no_grad()
def consensus_set(
    src_root: str | os.PathLike[str],
    split: str,
    out_root: str | os.PathLike[str],
    voters: Sequence[str] | dict[str, Metric],
    margin: float = 0.05,
    batch_size: int = 16,
    progress: bool = True,
    limit: int | None = None,
) -> dict[str, Any]:
    """Write the consensus subset of ``src_root``'s cross-family triplets to ``out_root`` (BAPPS layout).

    Args:
        src_root: a ``make-2afc`` output folder holding cross-family triplets.
        split: its split (``val``).
        out_root: new folder (``2afc/<split>/<closer>-closer-than-<farther>/...`` and ``consensus.json``).
        voters: reference metric names (:func:`lipsim.train.reference.get_reference_metric`) or callables.
        margin: minimum relative gap ``|d0 - d1| / (d0 + d1)`` for every voter.
        limit: use only the first ``limit`` cross-family triplets (None: all).

    Returns:
        The summary written to ``consensus.json``: voters, margin, total, kept, per-category counts and, per
        triplet, each voter's distances.
    """
    from tqdm.auto import tqdm

    if not 0.0 <= margin < 1.0:
        raise ValueError(f"margin must be in [0, 1), got {margin!r}")
    src, out = Path(src_root), Path(out_root)
    rows = _cross_rows(src, split)
    if limit is not None:
        if limit < 1:
            raise ValueError(f"limit must be a positive number of triplets, got {limit!r}")
        rows = rows[:limit]
    if isinstance(voters, dict):
        metrics = dict(voters)
    else:
        from ..reference import get_reference_metric

        metrics = {name: get_reference_metric(name) for name in voters}
    if not metrics:
        raise ValueError("consensus needs at least one voter")
    cross = src / "2afc" / split / "cross"
    dists: dict[str, list[tuple[float, float]]] = {name: [] for name in metrics}
    for start in tqdm(range(0, len(rows), batch_size), desc="consensus", disable=not progress):
        ids = [r["id"] for r in rows[start : start + batch_size]]
        ref, p0, p1 = (torch.stack([read_image(cross / sub / f"{i}.png") for i in ids]) for sub in ("ref", "p0", "p1"))
        for name, metric in metrics.items():
            d0, d1 = metric(ref, p0).double().tolist(), metric(ref, p1).double().tolist()
            dists[name].extend(zip(d0, d1))
    split_dir = out / "2afc" / split
    if split_dir.exists():
        shutil.rmtree(split_dir)
    kept: list[dict[str, Any]] = []
    counts: dict[str, int] = {}
    for j, row in enumerate(rows):
        votes = [(d1 < d0, abs(d0 - d1) / max(d0 + d1, 1e-12)) for d0, d1 in (dists[n][j] for n in metrics)]
        p1_closer = votes[0][0]
        if any(v != p1_closer for v, _ in votes) or min(g for _, g in votes) < margin:
            continue
        closer, farther = (row["family1"], row["family0"]) if p1_closer else (row["family0"], row["family1"])
        category = f"{closer}-closer-than-{farther}"
        counts[category] = counts.get(category, 0) + 1
        cat_dir = split_dir / category
        for sub in ("ref", "p0", "p1"):
            (cat_dir / sub).mkdir(parents=True, exist_ok=True)
            shutil.copyfile(cross / sub / f"{row['id']}.png", cat_dir / sub / f"{row['id']}.png")
        (cat_dir / "judge").mkdir(exist_ok=True)
        np.save(cat_dir / "judge" / f"{row['id']}.npy", np.array([1.0 if p1_closer else 0.0], dtype=np.float32))
        kept.append({"id": row["id"], "category": category, "distances": {n: list(dists[n][j]) for n in metrics}})
    summary = {
        "source": str(src),
        "split": split,
        "voters": list(metrics),
        "margin": margin,
        "total": len(rows),
        "kept": len(kept),
        "counts": dict(sorted(counts.items())),
        "triplets": kept,
    }
    out.mkdir(parents=True, exist_ok=True)
    tmp = out / "consensus.json.tmp"
    tmp.write_text(json.dumps(summary, indent=1) + "\n")
    os.replace(tmp, out / "consensus.json")
    return summary
