"""How well the ``lpips-sketch`` teacher embedding keeps the true ST-LPIPS distance on real photo pairs.

For each photo (centre crop, area-resized to ``--size``) it forms pairs with: Gaussian noise (sigma .03,
.1), a 3x3 and a 7x7 box blur, JPEG (quality 30), a 3-pixel shift (the image translated, reflected at
the border), a colour change (gain 1.15 on red) and a different photo. For every pair it computes

- ``d``: ST-LPIPS (``lipsim.train.reference.get_reference_metric("stlpips-<net>")``, exact);
- ``d_s = ||embed(x) - embed(y)||^2`` with the teacher's un-normalised 1024-d sketch;
- ``1 - cos`` of the unit-norm teacher embeddings (what a student is trained to reproduce);

and prints the median / 90th percentile of ``|d_s / d - 1|``, the Spearman rank correlation of ``d_s``
and of ``1 - cos`` with ``d``, the same for the ``lpips-mean`` pooled recipe (spatial mean before the
difference), and ms per image for the sketch on one thread.

Usage:
    python3 benchmarks/stlpips_sketch.py --images DIR [DIR ...] [--net alex] [--size 64] [--photos 40]
"""

from __future__ import annotations

import argparse
import glob
import io
import os
import time

import numpy as np
import torch
import torch.nn.functional as F
from PIL import Image

from lipsim.train.reference import get_reference_metric
from lipsim.train.teachers import get_teacher


def load(path: str, size: int) -> torch.Tensor:
    im = Image.open(path).convert("RGB")
    w, h = im.size
    s = min(w, h)
    im = im.crop(((w - s) // 2, (h - s) // 2, (w - s) // 2 + s, (h - s) // 2 + s))
    x = torch.from_numpy(np.asarray(im).copy()).permute(2, 0, 1).float()[None] / 255
    return F.interpolate(x, size=(size, size), mode="area").clamp(0, 1)


def jpeg(x: torch.Tensor, quality: int) -> torch.Tensor:
    a = (x[0].permute(1, 2, 0).numpy() * 255).round().astype(np.uint8)
    buf = io.BytesIO()
    Image.fromarray(a).save(buf, format="JPEG", quality=quality)
    b = np.asarray(Image.open(buf).convert("RGB")).copy()
    return torch.from_numpy(b).permute(2, 0, 1).float()[None] / 255


def distortions(x: torch.Tensor, other: torch.Tensor, g: torch.Generator) -> list[tuple[str, torch.Tensor]]:
    noise = torch.randn(x.shape, generator=g)
    gain = torch.tensor([1.15, 1.0, 1.0]).view(1, 3, 1, 1)
    return [
        ("noise.03", (x + 0.03 * noise).clamp(0, 1)),
        ("noise.1", (x + 0.1 * noise).clamp(0, 1)),
        ("blur3", F.avg_pool2d(F.pad(x, (1, 1, 1, 1), mode="reflect"), 3, 1)),
        ("blur7", F.avg_pool2d(F.pad(x, (3, 3, 3, 3), mode="reflect"), 7, 1)),
        ("jpeg30", jpeg(x, 30)),
        ("shift3", F.pad(x, (3, 0, 3, 0), mode="reflect")[..., : -3 or None, : -3 or None]),
        ("colour", (x * gain).clamp(0, 1)),
        ("other", other),
    ]


def spearman(a: np.ndarray, b: np.ndarray) -> float:
    ra, rb = np.argsort(np.argsort(a)), np.argsort(np.argsort(b))
    return float(np.corrcoef(ra, rb)[0, 1])


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--images", nargs="+", required=True, help="folders of photos (jpg/png)")
    ap.add_argument("--net", default="alex", choices=["alex", "vgg"])
    ap.add_argument("--size", type=int, default=64)
    ap.add_argument("--photos", type=int, default=40)
    ap.add_argument("--seed", type=int, default=0)
    args = ap.parse_args()
    torch.set_num_threads(1)
    files = sorted(
        f for d in args.images for f in glob.glob(os.path.join(d, "*")) if f.lower().endswith((".jpg", ".jpeg", ".png"))
    )
    rng = np.random.default_rng(args.seed)
    files = [files[i] for i in rng.permutation(len(files))[: args.photos]]
    metric = get_reference_metric(f"stlpips-{args.net}")
    sketch = get_teacher(f"stlpips-{args.net}")
    pooled = get_teacher(f"stlpips-{args.net}", embedding="lpips-mean")
    g = torch.Generator().manual_seed(args.seed)
    rows: list[tuple[str, float, float, float, float, float]] = []
    t_sketch = 0.0
    with torch.no_grad():
        for i, f in enumerate(files):
            x = load(f, args.size)
            other = load(files[(i + 1) % len(files)], args.size)
            for name, y in distortions(x, other, g):
                d = float(metric(x, y))
                t0 = time.perf_counter()
                ex, ey = sketch.embed(x), sketch.embed(y)
                t_sketch += time.perf_counter() - t0
                d_s = float((ex - ey).pow(2).sum())
                cos = float(1 - F.cosine_similarity(ex, ey))
                px, py = pooled.embed(x), pooled.embed(y)
                d_p = float((px - py).pow(2).sum())
                cos_p = float(1 - F.cosine_similarity(px, py))
                rows.append((name, d, d_s, cos, d_p, cos_p))
    d = np.array([r[1] for r in rows])
    d_s = np.array([r[2] for r in rows])
    rel = np.abs(d_s / d - 1)
    print(
        f"ST-LPIPS {args.net}, {args.size} px, {len(files)} photos, {len(rows)} pairs; "
        f"d in [{d.min():.4f}, {d.max():.4f}]"
    )
    print(f"sketch |d_s/d - 1|: median {np.median(rel):.4f}, p90 {np.quantile(rel, 0.9):.4f}, max {rel.max():.4f}")
    for fam in sorted({r[0] for r in rows}):
        m = np.array([r[0] == fam for r in rows])
        print(f"  {fam:9s} d mean {d[m].mean():.4f}  |d_s/d-1| median {np.median(rel[m]):.4f}")
    column = lambda i: np.array([r[i] for r in rows])  # noqa: E731
    print(
        f"Spearman with d: sketch ||.||^2 {spearman(d_s, d):.4f}, sketch 1-cos {spearman(column(3), d):.4f}, "
        f"lpips-mean ||.||^2 {spearman(column(4), d):.4f}, lpips-mean 1-cos {spearman(column(5), d):.4f}"
    )
    print(f"sketch teacher: {1000 * t_sketch / (2 * len(rows)):.1f} ms/image (1 thread, batch 1, incl. backbone)")


if __name__ == "__main__":
    main()
