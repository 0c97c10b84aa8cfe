"""Measure teacher backbones x embedding recipes, to choose the distillation target.

For every candidate (teacher, embedding recipe, taps) it reports, with d = 1 - cos of the embeddings:

- 2AFC severity score per distortion family (noise, blur, jpeg, color, pixelate, quantize, shift) and
  overall: a reference crop of a real photo, the same distortion (same random draw) at a mild and a
  clearly stronger strength; correct when d(ref, mild) < d(ref, strong).
- retrieval top-1: augmented views (random resized crop, flip, colour jitter, grayscale) of held-out
  crops as queries against all the original crops.
- agreement with DISTS (agrDI) and LPIPS-VGG (agrLV) on cross-family triplets: the reference crop and
  two different distortion families at random strengths; share of triplets where the candidate picks the
  same image as the reference metric (no human data exists here; these are the established metrics).
- d_unrel: mean d between different crops (the range a student has to reproduce);
  eff_dim: participation ratio (sum lambda)^2 / sum lambda^2 of the crops' embedding covariance
  (how many directions carry the variation: high = harder to regress);
  peak: mean over crops of max_i |e_i| * sqrt(D) (1 = flat, large = a few "spiky" coordinates dominate).
- embed_dim and CPU ms/image at 224 and 128 px (the whole backbone with every tap, one thread, batch 8,
  best of 3; pooling costs well under 1%).
The reference metrics LPIPS-Alex, LPIPS-VGG and DISTS are scored on the same triplets for context.

Photos: /work/photos/* when present (it gathers the sources below), else the skimage.data colour photos
plus the mate-backgrounds nature photos and the 11 photographic plasma wallpapers when installed.

Usage:
    PYTHONPATH=src python3 benchmarks/teacher_choice.py [--size 128] [--refs 24] [--cross 96] [--queries 96]
        [--teachers vgg16,alexnet,efficientnet-lite0] [--quick]
"""

from __future__ import annotations

import argparse
import glob
import math
import time
from collections.abc import Callable
from dataclasses import dataclass

import numpy as np
import torch
import torch.nn.functional as F
from PIL import Image
from torchvision.transforms import v2 as T

from lipsim.train.data.distortions import FAMILIES, distort
from lipsim.train.reference import get_reference_metric
from lipsim.train.teachers.efficientnet_lite0 import EfficientNetLite0Teacher
from lipsim.train.teachers.embeddings import EMBEDDINGS, NEEDS_HEADS
from lipsim.train.teachers.lpips_nets import AlexNetTeacher, VGG16Teacher

SKIMAGE_PHOTOS = ("astronaut", "chelsea", "coffee", "rocket", "stereo_motorcycle")
PHOTO_DIR = "/work/photos"
PLASMA_PHOTOS = (
    "FallenLeaf",
    "Path",
    "DarkestHour",
    "summer_1am",
    "EveningGlow",
    "Grey",
    "Kite",
    "ColorfulCups",
    "OneStandsOut",
    "ColdRipple",
    "BytheWater",
)


def _photo_paths() -> list[str]:
    """/work/photos/* when present (it gathers all sources), else the Debian photo packages."""
    found = sorted(p for p in glob.glob(f"{PHOTO_DIR}/*") if not p.endswith((".md", ".txt")))
    if found:
        return found
    paths = sorted(glob.glob("/usr/share/backgrounds/mate/nature/*.jpg"))
    paths += [f"/usr/share/wallpapers/{n}/contents/images/2560x1600.jpg" for n in PLASMA_PHOTOS]
    return [p for p in paths if glob.os.path.isfile(p)]


def load_photos(max_side: int) -> list[torch.Tensor]:
    """Colour photos as (3, H, W) float tensors in [0, 1], the long side scaled down to ``max_side``."""
    arrays = []
    paths = _photo_paths()
    if not any("skimage" in p for p in paths):
        import skimage.data

        for name in SKIMAGE_PHOTOS:
            img = getattr(skimage.data, name)()
            for a in img if isinstance(img, tuple) else (img,):
                if np.ndim(a) == 3:  # stereo_motorcycle also returns a 2-D disparity map
                    arrays.append(np.asarray(a)[..., :3])
    for path in paths:
        try:
            with Image.open(path) as im:
                im.draft("RGB", (max_side, max_side))  # fast JPEG decode at reduced size
                arrays.append(np.asarray(im.convert("RGB")))
        except OSError:
            continue
    photos = []
    for a in arrays:
        x = torch.from_numpy(a.copy()).permute(2, 0, 1).float()[None] / 255.0
        scale = max_side / max(x.shape[-2:])
        if scale < 1:
            x = F.interpolate(x, scale_factor=scale, mode="area")
        photos.append(x[0].clamp(0, 1))
    return photos


def random_crops(photos: list[torch.Tensor], n: int, size: int, g: torch.Generator) -> torch.Tensor:
    """``n`` crops of ``size`` px, cycling through the photos, random position, side 1-2x ``size`` resized."""
    out = []
    for i in range(n):
        p = photos[i % len(photos)]
        h, w = p.shape[-2:]
        side = int(min(h, w, size * (1 + torch.rand(1, generator=g).item())))
        top = int(torch.randint(0, h - side + 1, (1,), generator=g))
        left = int(torch.randint(0, w - side + 1, (1,), generator=g))
        crop = p[:, top : top + side, left : left + side][None]
        out.append(F.interpolate(crop, size=(size, size), mode="bilinear", antialias=True, align_corners=False)[0])
    return torch.stack(out).clamp(0, 1)


@dataclass
class Triplets:
    ref: torch.Tensor  # (R, 3, S, S)
    mild: dict[str, torch.Tensor]  # family -> (R, 3, S, S)
    strong: dict[str, torch.Tensor]


def make_triplets(refs: torch.Tensor, seed: int) -> Triplets:
    """Each reference x each family: mild s ~ U(0.1, 0.5), strong = min(1, s * U(1.5, 2.2)); same random draw.

    The strength ratio >= 1.5 keeps the pair clearly different to a person (e.g. noise sigma 0.04 vs 0.06+,
    blur sigma 1 vs 1.5+ px) while leaving room for a metric to get it wrong.
    """
    mild, strong = {}, {}
    pick = torch.Generator().manual_seed(seed)
    for fam_i, fam in enumerate(FAMILIES):
        ms, ss = [], []
        for r in range(refs.shape[0]):
            s0 = 0.1 + 0.4 * torch.rand(1, generator=pick).item()
            s1 = min(1.0, s0 * (1.5 + 0.7 * torch.rand(1, generator=pick).item()))
            draw = seed * 100003 + fam_i * 1009 + r
            ms.append(distort(refs[r], fam, s0, torch.Generator().manual_seed(draw)))
            ss.append(distort(refs[r], fam, s1, torch.Generator().manual_seed(draw)))
        mild[fam], strong[fam] = torch.stack(ms), torch.stack(ss)
    return Triplets(refs, mild, strong)


def make_cross(refs: torch.Tensor, n: int, seed: int) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
    """``n`` cross-family triplets: (reference index, x0, x1), x0/x1 two different families, s ~ U(0.2, 0.8)."""
    pick = torch.Generator().manual_seed(seed + 7)
    idx, x0, x1 = [], [], []
    for c in range(n):
        r = c % refs.shape[0]
        fa, fb = torch.randperm(len(FAMILIES), generator=pick)[:2].tolist()
        sa, sb = (0.2 + 0.6 * torch.rand(2, generator=pick)).tolist()
        idx.append(r)
        x0.append(distort(refs[r], FAMILIES[fa], sa, torch.Generator().manual_seed(seed * 7919 + 2 * c)))
        x1.append(distort(refs[r], FAMILIES[fb], sb, torch.Generator().manual_seed(seed * 7919 + 2 * c + 1)))
    return torch.tensor(idx), torch.stack(x0), torch.stack(x1)


def augment_queries(crops: torch.Tensor, seed: int) -> torch.Tensor:
    """The training views (docs/training.md): crop + flip + ColorJitter(0.4, 0.4, 0.2, 0.1) p=0.8 + gray p=0.2."""
    size = crops.shape[-1]
    aug = T.Compose(
        [
            T.RandomResizedCrop(size, scale=(0.5, 1.0), antialias=True),
            T.RandomHorizontalFlip(),
            T.RandomApply([T.ColorJitter(0.4, 0.4, 0.2, 0.1)], p=0.8),
            T.RandomGrayscale(p=0.2),
        ]
    )
    torch.manual_seed(seed)
    return torch.stack([aug(c) for c in crops]).clamp(0, 1)


def candidates_for(teacher: torch.nn.Module) -> list[tuple[str, tuple[int, ...]]]:
    n = len(teacher.all_tap_channels)
    has_heads = len(teacher.heads) > 0
    if teacher.name == "efficientnet-lite0":
        stages = tuple(range(7))
        out = [(r, stages) for r in ("mean", "mean-std", "raw-mean-std")]
        out += [("mean", tuple(range(8))), ("deep", (6,)), ("deep", (7,)), ("mean", (2, 4, 6)), ("mean-std", (2, 4, 6))]
        out += [("mean", (2, 3, 4, 5, 6)), ("mean", (1, 3, 5, 6)), ("mean", (2, 4, 6, 7)), ("mean", (4, 6))]
        return out
    out = [(r, tuple(range(n))) for r in EMBEDDINGS if r != "deep" and (has_heads or r not in NEEDS_HEADS)]
    out += [("deep", (n - 1,)), ("mean", tuple(range(1, n))), ("mean", tuple(range(2, n))), ("mean", (n - 2, n - 1))]
    return out


@torch.no_grad()
def pooled_embeddings(teacher, images: torch.Tensor, cands, batch: int = 16) -> list[torch.Tensor]:
    """Unit-norm embeddings of ``images`` for every (recipe, layers) candidate, from one forward pass."""
    heads = list(teacher.heads) if len(teacher.heads) else None
    outs: list[list[torch.Tensor]] = [[] for _ in cands]
    for i in range(0, images.shape[0], batch):
        taps = teacher.taps(images[i : i + batch])
        for k, (recipe, layers) in enumerate(cands):
            h = [heads[j] for j in layers] if heads is not None else None
            e = EMBEDDINGS[recipe]([taps[j] for j in layers], h)
            outs[k].append(F.normalize(e, dim=1))
    return [torch.cat(o) for o in outs]


def afc_scores(dist: Callable[[torch.Tensor, torch.Tensor], torch.Tensor], trip: Triplets) -> dict[str, float]:
    res = {}
    for fam in FAMILIES:
        d0, d1 = dist(trip.ref, trip.mild[fam]), dist(trip.ref, trip.strong[fam])
        res[fam] = float(((d0 < d1).float() + 0.5 * (d0 == d1).float()).mean())
    res["overall"] = float(np.mean([res[f] for f in FAMILIES]))
    return res


def participation_ratio(e: torch.Tensor) -> float:
    c = torch.cov(e.T.double())
    lam = torch.linalg.eigvalsh(c).clamp_min(0)
    return float(lam.sum() ** 2 / (lam.pow(2).sum() + 1e-30))


def time_teacher(teacher, size: int, reps: int = 3) -> float:
    """Single-thread ms/image: best of ``reps`` timings of a batch of 8.

    One thread and the minimum are the least disturbed by other load on a shared machine (with
    oversubscribed threads the depthwise convolutions of EfficientNet slow down up to 20x).
    """
    x = torch.rand(8, 3, size, size)
    best = float("inf")
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    try:
        with torch.no_grad():
            teacher(x)
            for _ in range(reps):
                t0 = time.perf_counter()
                teacher(x)
                best = min(best, time.perf_counter() - t0)
    finally:
        torch.set_num_threads(threads)
    return 1000 * best / 8


def _fmt(v: float, w: int, p: int) -> str:
    return f"{'-':>{w}s}" if isinstance(v, float) and math.isnan(v) else f"{v:{w}.{p}f}"


def print_table(rows: list[dict]) -> None:
    header = (
        f"{'candidate':36s} "
        + " ".join(f"{f[:5]:>5s}" for f in FAMILIES)
        + "  2AFC agrDI agrLV  top1 d_unr  effd  peak   dim ms224 ms128"
    )
    print(header)
    print("-" * len(header))
    for row in rows:
        sc = row["scores"]
        print(
            f"{row['name']:36s} "
            + " ".join(f"{sc[f]:5.3f}" for f in FAMILIES)
            + f" {sc['overall']:5.3f} {_fmt(row['agree_dists'], 5, 3)} {_fmt(row['agree_lpips_vgg'], 5, 3)}"
            f" {_fmt(row['top1'], 5, 3)} {_fmt(row['d_unrel'], 5, 3)} {_fmt(row['eff_dim'], 5, 1)}"
            f" {_fmt(row['peak'], 5, 1)}"
            f" {row['dim'] or '-':>5} {_fmt(row['ms224'], 5, 0)} {_fmt(row['ms128'], 5, 0)}"
        )


def main(argv: list[str] | None = None) -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--size", type=int, default=128, help="crop size the metrics see (px)")
    ap.add_argument("--refs", type=int, default=24, help="reference crops (x 7 families severity triplets)")
    ap.add_argument("--cross", type=int, default=96, help="cross-family triplets labelled by DISTS / LPIPS-VGG")
    ap.add_argument("--queries", type=int, default=96, help="held-out crops for retrieval")
    ap.add_argument("--teachers", default="vgg16,alexnet,efficientnet-lite0")
    ap.add_argument(
        "--references",
        default="lpips-alex,lpips-vgg,dists",
        help="reference metrics to score and to label the cross-family triplets ('' = none)",
    )
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--quick", action="store_true", help="tiny smoke run")
    args = ap.parse_args(argv)
    if args.quick:
        args.refs, args.cross, args.queries, args.size = 4, 8, 8, 64

    photos = load_photos(max_side=4 * args.size)
    g = torch.Generator().manual_seed(args.seed)
    refs = random_crops(photos, args.refs, args.size, g)
    gallery = random_crops(photos, args.queries, args.size, g)
    queries = augment_queries(gallery, args.seed + 1)
    trip = make_triplets(refs, args.seed)
    cross_idx, cross0, cross1 = make_cross(refs, args.cross, args.seed)
    print(
        f"{len(photos)} photos, {args.size} px crops: {args.refs} refs x {len(FAMILIES)} families = "
        f"{args.refs * len(FAMILIES)} severity triplets, {args.cross} cross-family triplets, "
        f"{args.queries} retrieval queries",
        flush=True,
    )

    # Reference metrics: severity scores, and their choices on the cross-family triplets.
    rows, choice = [], {}
    references = [r for r in args.references.split(",") if r]
    for name in references:
        metric = get_reference_metric(name)
        t0 = time.perf_counter()
        with torch.no_grad():
            scores = afc_scores(metric, trip)
            ref = refs[cross_idx]
            choice[name] = metric(ref, cross0) < metric(ref, cross1)
        rows.append(
            dict(
                name=f"[ref] {name}",
                scores=scores,
                dim=0,
                top1=float("nan"),
                d_unrel=float("nan"),
                eff_dim=float("nan"),
                peak=float("nan"),
                ms224=float("nan"),
                ms128=float("nan"),
            )
        )
        print(f"  {name}: {time.perf_counter() - t0:.1f} s", flush=True)

    def agreement(mine: torch.Tensor, ref_name: str) -> float:
        return float((mine == choice[ref_name]).float().mean()) if ref_name in choice else float("nan")

    for row in rows:
        name = row["name"][6:]
        row["agree_dists"] = agreement(choice[name], "dists")
        row["agree_lpips_vgg"] = agreement(choice[name], "lpips-vgg")

    sets = {
        "ref": refs,
        **{f"mild:{f}": trip.mild[f] for f in FAMILIES},
        **{f"strong:{f}": trip.strong[f] for f in FAMILIES},
        "cross0": cross0,
        "cross1": cross1,
        "gallery": gallery,
        "queries": queries,
    }
    offsets, start = {}, 0
    for key, value in sets.items():
        offsets[key] = slice(start, start + value.shape[0])
        start += value.shape[0]
    all_images = torch.cat(list(sets.values()))
    q = args.queries

    builders = {
        "vgg16": VGG16Teacher,
        "alexnet": AlexNetTeacher,
        "efficientnet-lite0": lambda: EfficientNetLite0Teacher(layers=None),
    }
    for tname in args.teachers.split(","):
        teacher = builders[tname]()
        cands = candidates_for(teacher)
        t0 = time.perf_counter()
        embs = pooled_embeddings(teacher, all_images, cands)
        elapsed = time.perf_counter() - t0
        speed = (time_teacher(teacher, 224), time_teacher(teacher, 128))
        for (recipe, layers), e in zip(cands, embs):
            part = {k: e[sl] for k, sl in offsets.items()}
            emb_trip = Triplets(
                part["ref"], {f: part[f"mild:{f}"] for f in FAMILIES}, {f: part[f"strong:{f}"] for f in FAMILIES}
            )
            scores = afc_scores(lambda a, b: 1 - (a * b).sum(1), emb_trip)
            ref = part["ref"][cross_idx]
            mine = (ref * part["cross0"]).sum(1) > (ref * part["cross1"]).sum(1)
            gal, qry = part["gallery"], part["queries"]
            top1 = float(((qry @ gal.T).argmax(1) == torch.arange(q)).float().mean())
            dmat = 1 - gal @ gal.T
            rows.append(
                dict(
                    name=f"{teacher.name}:{recipe}{list(layers)}".replace(" ", ""),
                    scores=scores,
                    top1=top1,
                    agree_dists=agreement(mine, "dists"),
                    agree_lpips_vgg=agreement(mine, "lpips-vgg"),
                    d_unrel=float(dmat[~torch.eye(q, dtype=torch.bool)].mean()),
                    eff_dim=participation_ratio(gal),
                    peak=float((gal.abs().amax(1) * gal.shape[1] ** 0.5).mean()),
                    dim=e.shape[1],
                    ms224=speed[0],
                    ms128=speed[1],
                )
            )
        print(
            f"  {teacher.name}: {len(cands)} candidates from one pass over {all_images.shape[0]} images "
            f"in {elapsed:.1f} s",
            flush=True,
        )
    print_table(rows)


if __name__ == "__main__":
    main()
