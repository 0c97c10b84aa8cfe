"""Lay out a photo collection as ``train/`` and ``val/`` folders, split by a hash of each file's name.

The training collection (``--data DIR``) is read in place and never written to. It may hold:

- ``tiny-imagenet/*.tar``: tar shards whose members are ``WNID/WNID_N.JPEG`` (streamed, each member
  extracted once into the output folder);
- ``imagenet-samples/*.jpg``, ``bsds500/{train,val}/*.jpg`` and any other folder of images (linked, not
  copied).

Split rule (deterministic, independent of file order and machine): a file goes to ``val`` when the first
8 hex digits of ``sha256(source + "/" + relative name)`` modulo 1000 are below ``1000 * val_share``;
a folder already called ``val`` (BSDS500's) stays ``val``, one called ``train`` stays ``train``. The
class label of a Tiny ImageNet or ImageNet file is its WNID prefix, so ``val/tiny-imagenet/WNID/`` can
serve k-NN retrieval on images training never saw.

Layout written::

    out_dir/train/<source>/...      out_dir/val/<source>/...      out_dir/split.json

Example:
    >>> summary = prepare_photo_split("data", "/tmp/photos", val_share=0.1)  # doctest: +SKIP
    >>> summary["counts"]["val"]["tiny-imagenet"]  # doctest: +SKIP
    5046
"""

from __future__ import annotations

import hashlib
import json
import os
import tarfile
from pathlib import Path
from typing import Any

from .image_files import image_extensions

__all__ = ["prepare_photo_split", "split_of", "SPLIT_FILE"]

SPLIT_FILE = "split.json"


def split_of(source: str, name: str, val_share: float) -> str:
    """``"val"`` or ``"train"`` for file ``name`` of ``source`` (see the module docstring).

    Example:
        >>> split_of("tiny-imagenet", "n01443537/n01443537_0.JPEG", 0.0)
        'train'
        >>> split_of("tiny-imagenet", "n01443537/n01443537_0.JPEG", 1.0)
        'val'
    """
    parts = Path(name).parts
    if parts and parts[0] in ("train", "val"):
        return parts[0]
    h = int(hashlib.sha256(f"{source}/{name}".encode()).hexdigest()[:8], 16) % 1000
    return "val" if h < round(1000 * val_share) else "train"


def _tar_members(shard: Path):
    with tarfile.open(shard, "r|*") as tar:  # streamed: one pass, no random access
        for member in tar:
            if member.isfile():
                f = tar.extractfile(member)
                if f is not None:
                    yield member.name, f.read()


def _safe_relative(name: str) -> Path:
    rel = Path(name)
    if rel.is_absolute() or ".." in rel.parts:
        raise ValueError(f"refusing tar member with an unsafe path: {name!r}")
    return rel


def _write_atomic(path: Path, data: bytes) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(path.name + ".tmp")
    tmp.write_bytes(data)
    os.replace(tmp, path)


def prepare_photo_split(
    data_dir: str | os.PathLike[str],
    out_dir: str | os.PathLike[str],
    val_share: float = 0.1,
    progress: bool = True,
) -> dict[str, Any]:
    """Extract / link every photo under ``data_dir`` into ``out_dir/{train,val}/<source>/``.

    Re-running is cheap: extracted files that already exist with the right size are kept.

    Args:
        data_dir: the read-only collection (see the module docstring).
        out_dir: where the split folders and ``split.json`` go.
        val_share: share of files held out for validation, in [0, 1).

    Returns:
        The summary written to ``split.json`` (rule, share, counts per split and source).
    """
    if not 0.0 <= val_share < 1.0:
        raise ValueError(f"val_share must be in [0, 1), got {val_share!r}")
    data, out = Path(data_dir), Path(out_dir)
    if not data.is_dir():
        raise ValueError(f"photo collection {str(data)!r} does not exist or is not a directory")
    from tqdm.auto import tqdm

    exts = image_extensions()
    counts: dict[str, dict[str, int]] = {"train": {}, "val": {}}

    def add(split: str, source: str) -> None:
        counts[split][source] = counts[split].get(source, 0) + 1

    for source_dir in sorted(p for p in data.iterdir() if p.is_dir() and not p.name.startswith(".")):
        source = source_dir.name
        shards = sorted(source_dir.glob("*.tar"))
        for shard in tqdm(shards, desc=f"{source} shards", disable=not progress):
            for name, payload in _tar_members(shard):
                if os.path.splitext(name)[1].lower() not in exts:
                    continue
                rel = _safe_relative(name)
                split = split_of(source, rel.as_posix(), val_share)
                target = out / split / source / rel
                if not (target.is_file() and target.stat().st_size == len(payload)):
                    _write_atomic(target, payload)
                add(split, source)
        for path in sorted(source_dir.rglob("*")):
            if not path.is_file() or path.suffix.lower() not in exts or path.name.startswith("."):
                continue
            rel = path.relative_to(source_dir)
            split = split_of(source, rel.as_posix(), val_share)
            if rel.parts[0] in ("train", "val"):
                rel = Path(*rel.parts[1:])
            link = out / split / source / rel
            link.parent.mkdir(parents=True, exist_ok=True)
            if not link.exists():
                if link.is_symlink():
                    link.unlink()
                link.symlink_to(path.resolve())
            add(split, source)
    summary = {
        "rule": "val iff int(sha256(source + '/' + name)[:8], 16) % 1000 < 1000 * val_share; "
        "folders named train/val keep their split",
        "val_share": val_share,
        "source": str(data),
        "counts": counts,
    }
    _write_atomic(out / SPLIT_FILE, (json.dumps(summary, indent=2, sort_keys=True) + "\n").encode())
    return summary
