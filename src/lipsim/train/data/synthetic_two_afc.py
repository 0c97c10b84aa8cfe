"""Write a deterministic synthetic 2AFC set in the BAPPS layout.

Severity triplets (folder per family): a random square crop of a photo as reference, and the same
distortion family at a mild strength (uniform in ``mild_range``) and a strong one (uniform in
``strong_range``), on randomly chosen sides. The milder one is the right answer, so ``judge``
(the share preferring p1) is 1.0 when p1 is the milder one and 0.0 otherwise. Nearly flat
reference crops (luminance std below ``min_std``, e.g. clear sky) are redrawn, since no one can
rank distortions of a blank patch.

Copy triplets (folder ``copy``): a mild copy of the reference (one of the families of
:data:`~lipsim.train.data.distortions.MILD_FAMILIES` at a strength uniform in ``copy_range``, as
``lipsim-train calibrate`` makes its "same" pairs) against an undistorted crop of another photo. The copy is the
right answer: a metric that tells copies from other photos ranks every such triplet by a margin.

Cross-family triplets (folder ``cross``): two different families at strengths uniform in
``(mild_range[0], strong_range[1])``, labelled by a reference metric (e.g. LPIPS): judge is 1.0 if
``d(ref, p1) < d(ref, p0)``, 0.0 if greater, 0.5 on ties. The metric sees the saved 8-bit images.

Layout written::

    out_dir/manifest.json
    out_dir/triplets_<split>.csv
    out_dir/2afc/<split>/<family, copy or cross>/{ref,p0,p1}/NNNNNN.png
    out_dir/2afc/<split>/<family, copy or cross>/judge/NNNNNN.npy   (float32 array of shape (1,))

Triplet ``k`` is a pure function of (source images, ``seed``, ``split``, ``k``) and the options, so
the same inputs give byte-identical files.

:func:`make_two_afc_splits` (what ``lipsim-train make-2afc`` runs by default) writes a ``train`` split for
fine-tuning and a ``val`` split for evaluation, :data:`VAL_SHARE` of the triplets in ``val``. Both come from
the same photos (different crops and strengths); for a held-out evaluation, write a ``val`` split from other
photos.

Example:
    >>> import tempfile
    >>> tmp = tempfile.TemporaryDirectory()
    >>> photos = os.path.join(tmp.name, "photos")
    >>> os.mkdir(photos)
    >>> rng = np.random.default_rng(0)
    >>> for k in range(2):  # two small random "photos"
    ...     pixels = rng.integers(0, 256, (30, 40, 3), dtype=np.uint8)
    ...     Image.fromarray(pixels).save(os.path.join(photos, f"{k}.png"))
    >>> info = make_two_afc(photos, os.path.join(tmp.name, "syn"), n=14, seed=0, size=16, split="val")
    >>> info["n"], info["size"], info["counts"]["blur"]
    (14, 16, 2)
    >>> sorted(os.listdir(os.path.join(tmp.name, "syn", "2afc", "val", "blur")))
    ['judge', 'p0', 'p1', 'ref']
    >>> tmp.cleanup()
"""

from __future__ import annotations

import csv
import hashlib
import json
import os
import shutil
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import torch
from PIL import Image
from torch import Tensor

from ..rng import seeded_generator
from .crops import CropBox, crop_resize, sample_crop_box
from .distortions import FAMILIES, MILD_FAMILIES, distort
from .image_files import ImageFiles, read_image

CROSS = "cross"
COPY = "copy"
OTHER_PHOTO = "other-photo"  # the family column of a copy triplet's side that shows another photo
VAL_SHARE = 0.2  # default share of the triplets in the val split when make_two_afc_splits writes train and val
_METRIC_BATCH = 64
_CROP_TRIES = 20


@dataclass(frozen=True)
class _Plan:
    k: int
    category: str
    tid: int
    file_idx: int
    family0: str
    strength0: float
    family1: str
    strength1: float
    judge: float | None  # None: to be labelled by the reference metric
    other_idx: int | None = None  # copy triplets: the photo of the wrong answer


def _uniform(gen: torch.Generator, lo: float, hi: float) -> float:
    return lo + (hi - lo) * torch.rand(1, generator=gen, dtype=torch.float64).item()


def _check_range(name: str, r: Sequence[float]) -> tuple[float, float]:
    lo, hi = (float(v) for v in r)
    if not 0.0 < lo <= hi <= 1.0:
        raise ValueError(f"{name} must be (low, high) with 0 < low <= high <= 1, got {tuple(r)!r}")
    return lo, hi


def _lipsim_version() -> str:
    from ... import __version__

    return __version__


def _sha256(path: Path) -> str:
    h = hashlib.sha256()
    with open(path, "rb") as fh:
        for chunk in iter(lambda: fh.read(1 << 20), b""):
            h.update(chunk)
    return h.hexdigest()


def _to_uint8(x: Tensor) -> np.ndarray:
    return (x.clamp(0, 1) * 255.0).round().to(torch.uint8).permute(1, 2, 0).numpy()


def _save_png(arr: np.ndarray, path: Path) -> None:
    Image.fromarray(arr).save(path, format="PNG", compress_level=6, optimize=False)


def _save_judge(value: float, path: Path) -> None:
    np.save(path, np.array([value], dtype=np.float32))


def _plan(
    n: int,
    n_cross: int,
    seed: int,
    split: str,
    families: tuple[str, ...],
    files: ImageFiles,
    crop_scale: tuple[float, float],
    mild: tuple[float, float],
    strong: tuple[float, float],
    n_copy: int = 0,
    copy_range: tuple[float, float] = (0.05, 0.3),
) -> list[_Plan]:
    """Severity triplets first, then copy triplets, then cross-family ones (labelled last, by the metric)."""
    n_sev = n - n_cross - n_copy
    plans = []
    for k in range(n):
        gen = seeded_generator("synthetic-2afc", seed, split, k)
        file_idx = int(torch.randint(len(files.files), (1,), generator=gen).item())
        if k < n_sev:
            fam = families[k % len(families)]
            s_mild, s_strong = _uniform(gen, *mild), _uniform(gen, *strong)
            if torch.rand(1, generator=gen).item() < 0.5:  # milder one on p1
                plans.append(_Plan(k, fam, k // len(families), file_idx, fam, s_strong, fam, s_mild, 1.0))
            else:
                plans.append(_Plan(k, fam, k // len(families), file_idx, fam, s_mild, fam, s_strong, 0.0))
        elif k < n_sev + n_copy:
            fam = MILD_FAMILIES[int(torch.randint(len(MILD_FAMILIES), (1,), generator=gen))]
            strength = _uniform(gen, *copy_range)
            other = int(torch.randint(len(files.files) - 1, (1,), generator=gen))
            other += other >= file_idx  # any photo but the reference's
            tid = k - n_sev
            if torch.rand(1, generator=gen).item() < 0.5:  # the copy on p1
                plans.append(_Plan(k, COPY, tid, file_idx, OTHER_PHOTO, 0.0, fam, strength, 1.0, other))
            else:
                plans.append(_Plan(k, COPY, tid, file_idx, fam, strength, OTHER_PHOTO, 0.0, 0.0, other))
        else:
            i, j = torch.randperm(len(families), generator=gen)[:2].tolist()
            s0, s1 = _uniform(gen, mild[0], strong[1]), _uniform(gen, mild[0], strong[1])
            plans.append(_Plan(k, CROSS, k - n_sev - n_copy, file_idx, families[i], s0, families[j], s1, None))
    return plans


def _textured_crop(
    img: Image.Image, size: int, crop_scale: tuple[float, float], min_std: float, gen: torch.Generator
) -> tuple[CropBox, Tensor]:
    """Draw up to ``_CROP_TRIES`` crops; keep the first whose luminance std reaches ``min_std``
    (else the most textured one), so that flat sky patches do not make unanswerable triplets."""
    best: tuple[float, CropBox, Tensor] | None = None
    for _ in range(_CROP_TRIES):
        box = sample_crop_box(img.size[0], img.size[1], crop_scale, gen, flip=True)
        crop = crop_resize(img, box, size)
        std = crop.float().mean(0).std().item() / 255.0
        if best is None or std > best[0]:
            best = (std, box, crop)
        if std >= min_std:
            break
    assert best is not None  # _CROP_TRIES >= 1
    return best[1], best[2]


def _label_cross(cross_dir: Path, count: int, metric: Callable[[Tensor, Tensor], Tensor]) -> list[float]:
    def load(sub: str, ids: range) -> Tensor:
        return torch.stack([read_image(cross_dir / sub / f"{t:06d}.png") for t in ids])

    labels: list[float] = []
    for start in range(0, count, _METRIC_BATCH):
        ids = range(start, min(count, start + _METRIC_BATCH))
        ref, p0, p1 = (load(sub, ids) for sub in ("ref", "p0", "p1"))
        with torch.no_grad():
            d0, d1 = metric(ref, p0), metric(ref, p1)
        for name, d in (("d(ref, p0)", d0), ("d(ref, p1)", d1)):
            if not isinstance(d, Tensor) or d.shape != (len(ids),) or not torch.isfinite(d).all():
                got = tuple(d.shape) if isinstance(d, Tensor) else type(d).__name__
                raise ValueError(
                    f"reference_metric must return a finite tensor of shape ({len(ids)},) for a batch of "
                    f"{len(ids)} image pairs; {name} gave {got}"
                )
        for a, b in zip(d0.detach().cpu().double().tolist(), d1.detach().cpu().double().tolist()):
            labels.append(1.0 if b < a else 0.0 if a < b else 0.5)
    return labels


def make_two_afc(
    images_dir: str | os.PathLike,
    out_dir: str | os.PathLike,
    n: int,
    seed: int,
    size: int = 64,
    families: Sequence[str] = FAMILIES,
    split: str = "val",
    cross_family: float = 0.0,
    reference_metric: Callable[[Tensor, Tensor], Tensor] | None = None,
    *,
    crop_scale: tuple[float, float] = (0.02, 0.5),
    mild_range: tuple[float, float] = (0.1, 0.35),
    strong_range: tuple[float, float] = (0.65, 1.0),
    min_std: float = 0.04,
    overwrite: bool = False,
    copies: float = 0.0,
    copy_range: tuple[float, float] = (0.05, 0.3),
) -> dict:
    """Generate ``n`` synthetic 2AFC triplets from the photos under ``images_dir``.

    Severity triplet ``k`` (for ``k < n - round(cross_family * n) - round(copies * n)``) uses family
    ``families[k % len(families)]``; then come the copy triplets, then the cross-family ones.

    Args:
        images_dir: Folder searched recursively for source photos.
        out_dir: Output root (receives ``2afc/<split>/...``, ``manifest.json``, ``triplets_<split>.csv``).
        n: Total number of triplets.
        seed: Seed; with the same inputs the output files are byte-identical.
        size: Side of the square patches in pixels.
        families: Distortion families (a subset of :data:`FAMILIES`).
        split: Split folder name, e.g. ``"val"`` or ``"train"``.
        cross_family: Share of ``n`` made of cross-family triplets, in [0, 1].
        reference_metric: ``(x0, x1) -> distances`` on float tensors (N, 3, H, W) in [0, 1] on the
            CPU, returning shape (N,), lower = more similar. Required when ``cross_family > 0``.
        crop_scale: (low, high) share of a photo's largest square covered by a reference crop.
        mild_range: Strength range of the milder distortion.
        strong_range: Strength range of the stronger distortion.
        min_std: Reference crops are redrawn (up to 20 times) until the std of their luminance in
            [0, 1] reaches this; 0 accepts the first crop.
        overwrite: Replace an existing non-empty ``out_dir/2afc/<split>``.
        copies: Share of ``n`` made of copy triplets (a mild copy of the reference against another photo).
        copy_range: Strength range of the copies' distortion.

    Returns:
        The manifest entry of this split (also stored under ``splits[split]`` in ``manifest.json``).

    Raises:
        ValueError: On invalid arguments, a missing metric for cross-family triplets, an existing
            output split without ``overwrite``, no readable source photos, or bad metric output.

    Example:
        >>> import tempfile
        >>> tmp = tempfile.TemporaryDirectory()
        >>> photos = os.path.join(tmp.name, "photos")
        >>> os.mkdir(photos)
        >>> rng = np.random.default_rng(0)
        >>> for k in range(2):  # two small random "photos"
        ...     pixels = rng.integers(0, 256, (30, 40, 3), dtype=np.uint8)
        ...     Image.fromarray(pixels).save(os.path.join(photos, f"{k}.png"))
        >>> info = make_two_afc(photos, os.path.join(tmp.name, "syn"), n=7, seed=1, size=16, split="val")
        >>> info["counts"]["blur"]
        1
        >>> tmp.cleanup()
    """
    if isinstance(n, bool) or not isinstance(n, int) or n < 1:
        raise ValueError(f"n must be a positive int, got {n!r}")
    if isinstance(seed, bool) or not isinstance(seed, int):
        raise ValueError(f"seed must be an int, got {seed!r}")
    if isinstance(size, bool) or not isinstance(size, int) or size < 8:
        raise ValueError(f"size must be an int >= 8, got {size!r}")
    families = tuple(families)
    unknown = [f for f in families if f not in FAMILIES]
    if not families or unknown or len(set(families)) != len(families):
        raise ValueError(f"families must be distinct names from {FAMILIES}, got {families!r}")
    if not isinstance(split, str) or not split or "/" in split or "\\" in split or split.startswith("."):
        raise ValueError(f"split must be a plain folder name such as 'val' or 'train', got {split!r}")
    if not 0.0 <= float(cross_family) <= 1.0:
        raise ValueError(f"cross_family must be a share in [0, 1], got {cross_family!r}")
    if not 0.0 <= float(copies) <= 1.0 or float(cross_family) + float(copies) > 1.0:
        raise ValueError(f"copies must be a share in [0, 1 - cross_family], got copies={copies!r}")
    n_cross = round(float(cross_family) * n)
    n_copy = min(round(float(copies) * n), n - n_cross)
    if n_cross > 0 and reference_metric is None:
        raise ValueError(
            f"cross_family={cross_family} asks for {n_cross} cross-family triplets, which are labelled by a "
            "reference metric: pass reference_metric=callable(x0, x1) -> distances of shape (N,)"
        )
    if n_cross > 0 and not callable(reference_metric):
        raise ValueError(f"reference_metric must be callable, got {type(reference_metric).__name__}")
    if n_cross > 0 and len(families) < 2:
        raise ValueError(f"cross-family triplets need at least two families, got {families!r}")
    crop_scale = _check_range("crop_scale", crop_scale)
    mild = _check_range("mild_range", mild_range)
    strong = _check_range("strong_range", strong_range)
    copy_range = _check_range("copy_range", copy_range)
    if not 0.0 <= float(min_std) < 0.5:
        raise ValueError(f"min_std must be in [0, 0.5), got {min_std!r}")
    if mild[1] >= strong[0]:
        raise ValueError(f"mild_range {mild} must lie entirely below strong_range {strong}")

    files = ImageFiles(images_dir)
    if n_copy and len(files.files) < 2:
        raise ValueError(f"copy triplets need at least 2 photos under {str(images_dir)!r}, found {len(files.files)}")
    out_dir = Path(out_dir)
    split_dir = out_dir / "2afc" / split
    if split_dir.exists() and any(split_dir.iterdir()):
        if not overwrite:
            raise ValueError(
                f"output folder {str(split_dir)!r} already exists and is not empty "
                "(pass overwrite=True, or --overwrite)"
            )
        shutil.rmtree(split_dir)

    plans = _plan(n, n_cross, seed, split, families, files, crop_scale, mild, strong, n_copy, copy_range)
    counts: dict[str, int] = {}
    for p in plans:
        counts[p.category] = counts.get(p.category, 0) + 1
    for category in counts:
        for sub in ("ref", "p0", "p1", "judge"):
            (split_dir / category / sub).mkdir(parents=True, exist_ok=True)

    boxes: dict[int, CropBox] = {}
    by_file: dict[int, list[_Plan]] = {}
    for p in plans:
        by_file.setdefault(p.file_idx, []).append(p)
    for file_idx in sorted(by_file):  # decode each photo once
        img = files.image(file_idx)
        for p in by_file[file_idx]:
            box, ref8 = _textured_crop(
                img, size, crop_scale, min_std, seeded_generator("synthetic-2afc-crop", seed, split, p.k)
            )
            boxes[p.k] = box
            ref = ref8.float().div(255.0)
            gen = seeded_generator("synthetic-2afc-distort", seed, split, p.k)
            if p.other_idx is None:
                x0 = distort(ref, p.family0, p.strength0, gen)
                x1 = distort(ref, p.family1, p.strength1, gen)
            else:
                other_gen = seeded_generator("synthetic-2afc-other", seed, split, p.k)
                other = _textured_crop(files.image(p.other_idx), size, crop_scale, min_std, other_gen)[1]
                other = other.float().div(255.0)
                if p.family0 == OTHER_PHOTO:
                    x0, x1 = other, distort(ref, p.family1, p.strength1, gen)
                else:
                    x0, x1 = distort(ref, p.family0, p.strength0, gen), other
            stem = f"{p.tid:06d}"
            cat_dir = split_dir / p.category
            _save_png(ref8.permute(1, 2, 0).numpy(), cat_dir / "ref" / f"{stem}.png")
            _save_png(_to_uint8(x0), cat_dir / "p0" / f"{stem}.png")
            _save_png(_to_uint8(x1), cat_dir / "p1" / f"{stem}.png")
            if p.judge is not None:
                _save_judge(p.judge, cat_dir / "judge" / f"{stem}.npy")

    judges = {p.k: p.judge for p in plans}
    if n_cross:
        assert reference_metric is not None  # checked with the arguments
        labels = _label_cross(split_dir / CROSS, n_cross, reference_metric)
        for p, value in zip(plans[n - n_cross :], labels):
            _save_judge(value, split_dir / CROSS / "judge" / f"{p.tid:06d}.npy")
            judges[p.k] = value

    with open(out_dir / f"triplets_{split}.csv", "w", newline="", encoding="utf-8") as fh:
        writer = csv.writer(fh, lineterminator="\n")
        writer.writerow(
            [
                "category",
                "id",
                "source",
                "left",
                "top",
                "side",
                "flipped",
                "family0",
                "strength0",
                "family1",
                "strength1",
                "judge",
                "other_source",
            ]
        )
        for p in plans:
            writer.writerow(
                [
                    p.category,
                    f"{p.tid:06d}",
                    files.files[p.file_idx].relative_to(files.root).as_posix(),
                    boxes[p.k].left,
                    boxes[p.k].top,
                    boxes[p.k].side,
                    int(boxes[p.k].flipped),
                    p.family0,
                    f"{p.strength0:.6f}",
                    p.family1,
                    f"{p.strength1:.6f}",
                    judges[p.k],
                    "" if p.other_idx is None else files.files[p.other_idx].relative_to(files.root).as_posix(),
                ]
            )

    metric_name = None
    if n_cross:
        metric_name = getattr(reference_metric, "__qualname__", None) or type(reference_metric).__qualname__
    entry = {
        "seed": seed,
        "n": n,
        "size": size,
        "families": list(families),
        "cross_family": float(cross_family),
        "counts": dict(sorted(counts.items())),
        "crop_scale": list(crop_scale),
        "mild_range": list(mild),
        "strong_range": list(strong),
        "min_std": float(min_std),
        "copies": float(copies),
        "copy_range": list(copy_range),
        "copy_families": list(MILD_FAMILIES),
        "reference_metric": metric_name,
        "judge": "share preferring p1; severity triplets: 1.0 if p1 is the milder distortion else 0.0; "
        "copy triplets: 1.0 if p1 is the copy else 0.0",
        "sources": [
            {"path": f.relative_to(files.root).as_posix(), "sha256": _sha256(f), "width": w, "height": h}
            for f, (w, h) in zip(files.files, files.sizes)
        ],
    }
    manifest_path = out_dir / "manifest.json"
    manifest: dict[str, Any] = {
        "format": "lipsim synthetic 2AFC, BAPPS layout",
        "lipsim_version": _lipsim_version(),
        "splits": {},
    }
    if manifest_path.is_file():
        try:
            old = json.loads(manifest_path.read_text(encoding="utf-8"))
            if isinstance(old, dict) and isinstance(old.get("splits"), dict):
                manifest["splits"] = old["splits"]
        except json.JSONDecodeError:
            pass
    manifest["splits"][split] = entry
    manifest["splits"] = dict(sorted(manifest["splits"].items()))
    manifest_path.write_text(json.dumps(manifest, indent=2, sort_keys=True) + "\n", encoding="utf-8")
    return entry


def split_counts(n: int, val_share: float = VAL_SHARE) -> dict[str, int]:
    """How :func:`make_two_afc_splits` shares ``n`` triplets: ``val`` gets ``round(n * val_share)``, at least 1.

    Example:
        >>> split_counts(24)
        {'train': 19, 'val': 5}
    """
    if isinstance(n, bool) or not isinstance(n, int) or n < 2:
        raise ValueError(
            f"n must be an int >= 2 to write both a train and a val split, got {n!r} "
            "(for one split, pass split= to make_two_afc, or --split)"
        )
    if isinstance(val_share, bool) or not isinstance(val_share, (int, float)) or not 0.0 < val_share < 1.0:
        raise ValueError(f"val_share must be a share strictly between 0 and 1, got {val_share!r}")
    n_val = min(n - 1, max(1, round(n * val_share)))
    return {"train": n - n_val, "val": n_val}


def make_two_afc_splits(
    images_dir: str | os.PathLike,
    out_dir: str | os.PathLike,
    n: int,
    seed: int,
    val_share: float = VAL_SHARE,
    *,
    overwrite: bool = False,
    **options,
) -> dict[str, dict]:
    """Write a ``train`` and a ``val`` split (``n`` triplets in all, ``val_share`` of them in ``val``).

    ``train`` is what ``lipsim-train finetune`` reads by default and ``val`` what ``lipsim-train eval``
    reads by default. Each split is a :func:`make_two_afc` call (triplets seeded by ``(seed, split, k)``);
    ``options`` are its keyword arguments (``size``, ``families``, ``cross_family``, ...).

    Returns:
        The manifest entries, by split name.

    Raises:
        ValueError: As :func:`make_two_afc`, ``n < 2``, a bad ``val_share``, or an existing non-empty split
            folder without ``overwrite`` (checked for both splits before anything is written).

    Example:
        >>> import tempfile
        >>> tmp = tempfile.TemporaryDirectory()
        >>> photos = os.path.join(tmp.name, "photos")
        >>> os.mkdir(photos)
        >>> rng = np.random.default_rng(0)
        >>> for k in range(2):  # two small random "photos"
        ...     pixels = rng.integers(0, 256, (30, 40, 3), dtype=np.uint8)
        ...     Image.fromarray(pixels).save(os.path.join(photos, f"{k}.png"))
        >>> info = make_two_afc_splits(photos, os.path.join(tmp.name, "syn"), n=10, seed=0, size=16)
        >>> info["train"]["n"], info["val"]["n"]
        (8, 2)
        >>> tmp.cleanup()
    """
    if "split" in options:
        raise ValueError(
            "make_two_afc_splits writes the 'train' and 'val' splits; for one split call make_two_afc(split=...)"
        )
    counts = split_counts(n, val_share)
    if not overwrite:
        for split in counts:
            split_dir = Path(out_dir) / "2afc" / split
            if split_dir.exists() and any(split_dir.iterdir()):
                raise ValueError(
                    f"output folder {str(split_dir)!r} already exists and is not empty "
                    "(pass overwrite=True, or --overwrite)"
                )
    return {
        split: make_two_afc(images_dir, out_dir, n=count, seed=seed, split=split, overwrite=overwrite, **options)
        for split, count in counts.items()
    }
