"""A recommended same/different threshold for a model, with its measured error rates.

Pairs come from held-out photos: a square crop of each photo (``size`` px) against ``copies`` mild copies
of itself (noise, blur, JPEG, colour or a small shift at strengths in ``mild_range``: "same"), and against
the crop of every other photo ("different"). The photos are split in two halves by index parity: the
threshold is the largest ``tau`` whose false-same rate (different pairs with ``d <= tau``) on the first
half is at most ``max_false_same``; the rates reported are measured on the second half, so they are not
tuned to. ROC AUC is over all pairs (probability that a same pair is closer than a different pair).

Example:
    >>> result = calibrate_threshold(model, "photos/val/imagenet-samples", size=224)  # doctest: +SKIP
    >>> result["threshold"], result["false_same"], result["true_same"]  # doctest: +SKIP
    (0.031, 0.004, 0.97)
"""

from __future__ import annotations

import os
from typing import Any

import torch

from ..model import LipSim
from .data.crops import crop_resize, sample_crop_box
from .data.distortions import MILD_FAMILIES, distort
from .data.image_files import ImageFiles
from .rng import seeded_generator

__all__ = ["calibrate_threshold", "roc_auc", "MILD_FAMILIES"]


def roc_auc(pos: torch.Tensor, neg: torch.Tensor) -> float:
    """P(pos < neg) + 0.5 P(pos == neg): how well small distances separate same (pos) from different (neg).

    Example:
        >>> roc_auc(torch.tensor([0.1, 0.2]), torch.tensor([0.3, 0.15]))
        0.75
    """
    pos, neg = pos.double().flatten(), neg.double().flatten()
    below = (pos[:, None] < neg[None, :]).double().mean()
    ties = (pos[:, None] == neg[None, :]).double().mean()
    return float(below + 0.5 * ties)


def _pick_threshold(diff: torch.Tensor, max_false_same: float) -> float:
    """Largest tau with share(diff <= tau) <= max_false_same (midway to the next different pair)."""
    d = diff.double().sort().values
    allowed = int(max_false_same * d.numel())  # pairs that may fall at or below tau
    if allowed >= d.numel():
        return float(d[-1])
    upper = float(d[allowed])
    lower = float(d[allowed - 1]) if allowed > 0 else 0.0
    return 0.5 * (lower + upper)


@torch.no_grad()
def calibrate_threshold(
    model: LipSim,
    images_dir: str | os.PathLike[str],
    size: int = 224,
    copies: int = 3,
    seed: int = 0,
    max_false_same: float = 0.01,
    mild_range: tuple[float, float] = (0.05, 0.3),
    batch_size: int = 32,
) -> dict[str, Any]:
    """Measure same/different distances on the photos under ``images_dir`` and pick a threshold.

    Returns:
        ``threshold``, ``false_same`` and ``true_same`` (second half), ``true_same_by_family`` (that rate and the
        number of copies for each distortion family), ``auc`` (all pairs), the counts and the protocol, ready to
        store in a weights config.
    """
    files = ImageFiles(images_dir)
    n = len(files.files)
    if n < 4:
        raise ValueError(f"calibration needs at least 4 photos, found {n} under {str(images_dir)!r}")
    crops, copy_imgs, copy_families, halves = [], [], [], []
    for i in range(n):
        g = seeded_generator("calibrate", seed, i)
        w, h = files.sizes[i]
        box = sample_crop_box(w, h, (0.5, 1.0), g, flip=False)
        ref = crop_resize(files.image(i), box, size).float().div(255.0)
        crops.append(ref)
        for _ in range(copies):
            family = MILD_FAMILIES[int(torch.randint(len(MILD_FAMILIES), (1,), generator=g))]
            s = mild_range[0] + (mild_range[1] - mild_range[0]) * float(torch.rand(1, generator=g))
            copy_imgs.append(distort(ref, family, s, g).clamp(0, 1))
            copy_families.append(family)
        halves.append(i % 2)

    def embed(images: list[torch.Tensor]) -> torch.Tensor:
        chunks = range(0, len(images), batch_size)
        return torch.cat([model.embed(torch.stack(images[j : j + batch_size])) for j in chunks])

    phi = embed(crops).double()
    phi_copies = embed(copy_imgs).double().view(n, copies, -1)
    same = 1.0 - (phi_copies * phi[:, None, :]).sum(-1)  # (n, copies)
    diff_all = 1.0 - phi @ phi.T
    half = torch.tensor(halves)
    iu = torch.triu_indices(n, n, offset=1)
    both = lambda k: (half[iu[0]] == k) & (half[iu[1]] == k)  # noqa: E731 (pairs within one half)
    diff_fit, diff_test = diff_all[iu[0], iu[1]][both(0)], diff_all[iu[0], iu[1]][both(1)]
    test_copy = (half == 1)[:, None].expand(n, copies).flatten()  # the copies of the second half's photos
    same_test = same.flatten()[test_copy]
    tau = _pick_threshold(diff_fit, max_false_same)
    test_families = [f for f, test in zip(copy_families, test_copy.tolist()) if test]
    by_family = {}
    for family in MILD_FAMILIES:
        mine = torch.tensor([f == family for f in test_families], dtype=torch.bool)
        if mine.any():
            rate = float((same_test[mine] <= tau).double().mean())
            by_family[family] = {"true_same": rate, "copies": int(mine.sum())}
    return {
        "threshold": round(tau, 6),
        "false_same": float((diff_test <= tau).double().mean()),
        "true_same": float((same_test <= tau).double().mean()),
        "true_same_by_family": by_family,
        "auc": roc_auc(same.flatten(), diff_all[iu[0], iu[1]]),
        "pairs": {"same": int(same.numel()), "different": int(iu.shape[1]), "photos": n},
        "protocol": (
            f"{size}px crops of {n} held-out photos vs {copies} mild copies each "
            f"({'/'.join(MILD_FAMILIES)}, strength {mild_range[0]}-{mild_range[1]}) and vs each other; "
            f"threshold fit on even-indexed photos at <= {max_false_same:.1%} false same, rates on odd"
        ),
    }


def write_threshold(model_dir: str | os.PathLike[str], result: dict[str, Any]) -> str:
    """Store ``result``'s threshold and rates in a ``save_pretrained`` directory's config.json (atomically).

    The weights file and its sha256 are unchanged; the config gains ``threshold`` and ``threshold_rates``, and with
    ``result["by_size"]`` (``calibrate --sizes``) ``size_thresholds`` (``{"32": tau, ...}``; rates in
    ``threshold_rates["by_size"]``).
    """
    import json
    from pathlib import Path

    from ..pretrained.resolve import CONFIG_NAME

    path = Path(model_dir) / CONFIG_NAME
    if not path.is_file():
        raise ValueError(
            f"{str(model_dir)!r} is not a save_pretrained directory (no {CONFIG_NAME}); "
            "--write needs a local model directory"
        )
    config = json.loads(path.read_text())
    config["threshold"] = result["threshold"]
    config["threshold_rates"] = {k: v for k, v in result.items() if k != "threshold"}
    if "by_size" in result:
        config["size_thresholds"] = {size: r["threshold"] for size, r in result["by_size"].items()}
    else:
        config.pop("size_thresholds", None)
    tmp = path.with_name(path.name + ".tmp")
    tmp.write_text(json.dumps(config, indent=2, sort_keys=True) + "\n")
    os.replace(tmp, path)
    return f"wrote threshold {result['threshold']} to {path}"
