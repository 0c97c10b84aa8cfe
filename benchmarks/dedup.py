"""Near-duplicate detection: lipsim against pHash, dHash, PDQ and imagededup's CNN, with attack budgets.

The set: every photo given with --images (files or folders; default: the photos shipped with scikit-image)
is read, centre-cropped square and resized to --size px. The first --sources photos each get one variant per
transform below (a family); the other photos are distractors.

    crop       a random crop of 80-100% of each side, resized back
    rescale    resized to 40-80% of the size (kept smaller)
    jpeg       JPEG quality 30-90
    colour     brightness x0.7-1.3, contrast x0.7-1.3, saturation x0.6-1.4
    blur       Gaussian blur, radius 1-2.5 px
    rotate     rotation by 3-8 degrees either way, centre crop 85%, resized back
    overlay    a caption in the default PIL font and a semi-transparent logo box
    border     a screenshot-like frame: a grey title bar of 8-15% and a 2-6 px border, resized back

Positives: (original, variant) pairs. Negatives: every pair of images from different families (a distractor is
a family of one). Every tool scores every pair; the table gives precision and recall at the tool's documented
default threshold, the ROC AUC and the recall at <= 1% false matches (the threshold chosen on this set, so
an optimistic figure for every tool alike).

Attack budget (l2 norm of the change, pixels in [0, 1], on the --size px variant) that makes a true match
no longer match, on --attack-pairs positives:

- lipsim: the certified lower bound (the decision radius at the threshold used) and an upper bound, the smallest
  budget of a doubling ladder at which PGD (l2, --pgd-steps steps) breaks the match;
- hashes: the smallest budget of the same ladder at which a black-box greedy random search (random low-frequency
  patterns scaled to the budget, kept when the Hamming distance grows; --hash-queries hash evaluations per budget)
  breaks it. The changed image is rounded to 8 bits before hashing; its l2 norm is measured after rounding.

lipsim uses ``model.threshold`` when the weights carry one (--lipsim-threshold overrides); without one its
precision/recall column uses the threshold at 1% false matches on this set, marked "(set)".

Usage:
    python3 benchmarks/dedup.py [--images DIR ...] [--weights W] [--sources 12] [--size 256] \\
        [--attack-pairs 8] [--out benchmarks/results/dedup]

Writes OUT.md (the table) and OUT_roc.png (ROC curves). Needs imagehash, pdqhash, matplotlib (benchmark only,
not package dependencies): pip install imagehash pdqhash matplotlib [imagededup].
"""

from __future__ import annotations

import argparse
import hashlib
import io
import math
import os
import sys
import tempfile
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

# one thread unless told otherwise: on a shared machine, BLAS/OpenMP thread pools of numpy, scipy and torch
# oversubscribe the cores and run tens of times slower
os.environ.setdefault("OMP_NUM_THREADS", "1")

import numpy as np  # noqa: E402
from PIL import Image, ImageDraw, ImageEnhance, ImageFilter  # noqa: E402

TRANSFORMS = ("crop", "rescale", "jpeg", "colour", "blur", "rotate", "overlay", "border")
SUFFIXES = {".png", ".jpg", ".jpeg", ".bmp", ".tif", ".tiff", ".webp"}
LADDER = (0.25, 0.5, 1.0, 2.0, 4.0, 8.0, 16.0, 32.0)


# ---------------------------------------------------------------------------------------------- the set
def _square(im: Image.Image, size: int) -> Image.Image:
    im = im.convert("RGB")
    w, h = im.size
    s = min(w, h)
    im = im.crop(((w - s) // 2, (h - s) // 2, (w - s) // 2 + s, (h - s) // 2 + s))
    return im.resize((size, size), Image.BICUBIC)


def transform(im: Image.Image, name: str, rng: np.random.Generator) -> Image.Image:
    """One variant of a square RGB image."""
    size = im.size[0]
    if name == "crop":
        f = rng.uniform(0.8, 1.0)
        c = int(round(size * f))
        x, y = rng.integers(0, size - c + 1, size=2)
        return im.crop((x, y, x + c, y + c)).resize((size, size), Image.BICUBIC)
    if name == "rescale":
        s = max(16, int(round(size * rng.uniform(0.4, 0.8))))
        return im.resize((s, s), Image.BICUBIC)
    if name == "jpeg":
        buf = io.BytesIO()
        im.save(buf, format="JPEG", quality=int(rng.integers(30, 91)))
        return Image.open(io.BytesIO(buf.getvalue())).convert("RGB")
    if name == "colour":
        im = ImageEnhance.Brightness(im).enhance(rng.uniform(0.7, 1.3))
        im = ImageEnhance.Contrast(im).enhance(rng.uniform(0.7, 1.3))
        return ImageEnhance.Color(im).enhance(rng.uniform(0.6, 1.4))
    if name == "blur":
        return im.filter(ImageFilter.GaussianBlur(rng.uniform(1.0, 2.5)))
    if name == "rotate":
        angle = rng.uniform(3, 8) * rng.choice([-1, 1])
        r = im.rotate(angle, resample=Image.BICUBIC)
        m = int(size * 0.075)
        return r.crop((m, m, size - m, size - m)).resize((size, size), Image.BICUBIC)
    if name == "overlay":
        out = im.copy()
        d = ImageDraw.Draw(out, "RGBA")
        x, y = rng.integers(0, size // 2, size=2)
        d.text((int(x), int(y)), "(c) lipsim bench " + str(int(rng.integers(1000, 9999))), fill=(255, 255, 255, 230))
        bx, by = rng.integers(0, size - size // 5, size=2)
        col = tuple(int(v) for v in rng.integers(0, 256, size=3))
        d.rectangle((int(bx), int(by), int(bx) + size // 5, int(by) + size // 8), fill=(*col, 150))
        return out
    if name == "border":
        bar = int(size * rng.uniform(0.08, 0.15))
        b = int(rng.integers(2, 7))
        canvas = Image.new("RGB", (size + 2 * b, size + bar + 2 * b), (40, 40, 40))
        ImageDraw.Draw(canvas).rectangle((0, 0, size + 2 * b, bar), fill=(200, 200, 205))
        canvas.paste(im, (b, bar + b))
        return canvas.resize((size, size), Image.BICUBIC)
    raise ValueError(f"unknown transform {name!r}")


def _photo_files(paths: list[str]) -> list[Path]:
    files: list[Path] = []
    for p in map(Path, paths):
        if p.is_dir():
            files += sorted(f for f in p.rglob("*") if f.suffix.lower() in SUFFIXES and f.is_file())
        elif p.is_file():
            files.append(p)
        else:
            raise SystemExit(f"dedup.py: no such file or folder: {str(p)!r}")
    return files


def _default_images() -> list[str]:
    try:
        import skimage.data
    except ImportError:
        raise SystemExit(
            "dedup.py: pass --images (scikit-image, the default source of photos, is not installed)"
        ) from None
    return [os.path.dirname(skimage.data.__file__)]


@dataclass
class Item:
    path: str
    family: int
    kind: str  # "original", a transform name, or "distractor"
    image: Image.Image


def build_set(files: list[Path], n_sources: int, size: int, root: Path, seed: int) -> tuple[list[Item], list[str]]:
    """Write the originals, variants and distractors under ``root``; returns the items and notes."""
    notes, seen, photos = [], set(), []
    for f in files:
        try:
            with Image.open(f) as im:
                im.load()
                if min(im.size) < 64:
                    notes.append(f"{f.name}: smaller than 64 px, not used")
                    continue
                digest = hashlib.sha256(im.convert("RGB").tobytes()).hexdigest()
                if digest in seen:
                    continue
                seen.add(digest)
                photos.append((f, _square(im, size)))
        except Exception as e:  # an unreadable photo is noted, not fatal
            notes.append(f"{f.name}: unreadable ({type(e).__name__})")
    if len(photos) < 3:
        raise SystemExit(f"dedup.py: need at least 3 readable photos, found {len(photos)}")
    n_sources = min(n_sources, len(photos) - 1)
    rng = np.random.default_rng(seed)
    items: list[Item] = []
    for fam, (_, im) in enumerate(photos):
        kind = "original" if fam < n_sources else "distractor"
        p = root / f"{fam:03d}_{kind}.png"
        im.save(p)
        items.append(Item(str(p), fam, kind, im))
        if fam < n_sources:
            for t in TRANSFORMS:
                v = transform(im, t, rng)
                vp = root / f"{fam:03d}_{t}.png"
                v.save(vp)
                items.append(Item(str(vp), fam, t, v))
    return items, notes


# ---------------------------------------------------------------------------------------------- tools
@dataclass
class Tool:
    name: str
    default: float | None  # match when distance <= default
    default_note: str
    distance: Callable[[int, int], float] | None = None
    matrix: np.ndarray | None = None
    skipped: str | None = None
    attack: dict = field(default_factory=dict)


def _hamming_matrix(bits: np.ndarray) -> np.ndarray:
    b = bits.astype(np.int32)
    return (b[:, None, :] != b[None, :, :]).sum(-1).astype(np.float64)


def hash_tools(items: list[Item]) -> tuple[list[Tool], dict]:
    tools, hashers = [], {}
    try:
        import imagehash

        def ih(fn):
            return lambda im: np.asarray(fn(im).hash, dtype=bool).ravel()

        for name, fn in (("pHash", imagehash.phash), ("dHash", imagehash.dhash)):
            h = ih(fn)
            hashers[name] = h
            m = _hamming_matrix(np.stack([h(it.image) for it in items]))
            tools.append(
                Tool(name, 10, "Hamming <= 10 of 64 bits (imagededup's default max_distance_threshold)", matrix=m)
            )
    except ImportError:
        tools += [
            Tool(n, None, "", skipped="imagehash is not installed (pip install imagehash)") for n in ("pHash", "dHash")
        ]
    try:
        import pdqhash

        def pdq(im):
            return np.asarray(pdqhash.compute(np.asarray(im.convert("RGB")))[0], dtype=bool)

        hashers["PDQ"] = pdq
        tools.append(
            Tool(
                "PDQ",
                31,
                "Hamming <= 31 of 256 bits (the PDQ documentation's match threshold)",
                matrix=_hamming_matrix(np.stack([pdq(it.image) for it in items])),
            )
        )
    except ImportError:
        tools.append(Tool("PDQ", None, "", skipped="pdqhash is not installed (pip install pdqhash)"))
    return tools, hashers


def cnn_tool(items: list[Item]) -> Tool:
    """imagededup's CNN (MobileNetV3 features, cosine >= 0.9), only when its weights are already cached."""
    name, note = "imagededup CNN", "cosine similarity >= 0.9 (imagededup's default min_similarity_threshold)"
    try:
        import torch

        ckpt = Path(torch.hub.get_dir()) / "checkpoints"
        if not any(ckpt.glob("mobilenet_v3_small-*.pth")):
            return Tool(
                name,
                None,
                note,
                skipped="its MobileNetV3 weights are downloaded at first use and are not in "
                f"the torch hub cache ({ckpt}); this run is offline",
            )
        from imagededup.methods import CNN

        cnn = CNN(verbose=False)
        with tempfile.TemporaryDirectory() as d:
            for i, it in enumerate(items):
                it.image.save(Path(d) / f"{i:05d}.png")
            enc = cnn.encode_images(image_dir=d)
        f = np.stack([enc[f"{i:05d}.png"] for i in range(len(items))]).astype(np.float64)
        f /= np.linalg.norm(f, axis=1, keepdims=True)
        return Tool(name, 1 - 0.9, note + " (distance = 1 - cosine)", matrix=1 - f @ f.T)
    except ImportError:
        return Tool(name, None, note, skipped="imagededup is not installed (pip install imagededup)")
    except Exception as e:  # noqa: BLE001 - any failure of a third-party tool is reported, not fatal
        return Tool(name, None, note, skipped=f"failed to run ({type(e).__name__}: {str(e).splitlines()[0][:120]})")


# ---------------------------------------------------------------------------------------------- metrics
def roc(pos: np.ndarray, neg: np.ndarray) -> tuple[np.ndarray, np.ndarray, float]:
    """ROC of the rule "match when distance <= t" (fpr, tpr over all t) and its AUC (ties count half)."""
    t = np.unique(np.concatenate([pos, neg]))
    ps, ns = np.sort(pos), np.sort(neg)
    tpr = np.concatenate([[0.0], np.searchsorted(ps, t, side="right") / len(ps)])
    fpr = np.concatenate([[0.0], np.searchsorted(ns, t, side="right") / len(ns)])
    below = (np.searchsorted(ns, pos, side="left") + np.searchsorted(ns, pos, side="right")) / 2.0
    return fpr, tpr, 1.0 - float(np.mean(below)) / len(ns)


def recall_at_fpr(pos: np.ndarray, neg: np.ndarray, fpr: float = 0.01) -> tuple[float, float]:
    """Largest recall with at most ``fpr`` false matches, and the largest threshold giving it."""
    f, r, _ = roc(pos, neg)
    t = np.concatenate([[-np.inf], np.unique(np.concatenate([pos, neg]))])
    ok = np.nonzero(f <= fpr)[0]
    k = ok[-1]  # f and r grow with t: the last admissible threshold has the largest recall
    return float(r[k]), float(t[k])


def pairs(items: list[Item]) -> tuple[list[tuple[int, int]], list[tuple[int, int]]]:
    pos, neg = [], []
    for a in range(len(items)):
        for b in range(a + 1, len(items)):
            if items[a].family == items[b].family:
                if "original" in (items[a].kind, items[b].kind):
                    pos.append((a, b))
            else:
                neg.append((a, b))
    return pos, neg


# ---------------------------------------------------------------------------------------------- attacks
def _to_pil(x: np.ndarray) -> Image.Image:
    return Image.fromarray((np.clip(x, 0, 1) * 255).round().astype(np.uint8))


def attack_hash(hasher, src: Image.Image, var: Image.Image, threshold: float, queries: int, rng) -> float:
    """Smallest ladder budget at which greedy random search pushes Hamming(src, var + delta) above threshold.

    Black-box: only hash values are used. Each query adds a random block pattern (4, 8 or 16 blocks a side,
    one sign per block, the same for the three channels) of norm budget / 4 to the current change, projects
    onto the l2 ball and the pixel range, rounds to 8 bits and keeps the candidate when the Hamming distance to
    the original's hash does not decrease. The search carries its change over from one budget to the next.
    """
    h_src = hasher(src)
    x0 = np.asarray(var, dtype=np.float64) / 255.0
    h, w = x0.shape[:2]
    delta = np.zeros_like(x0)
    best = int((hasher(var) != h_src).sum())
    for budget in LADDER:
        for _ in range(queries):
            g = int(rng.choice([4, 8, 16]))
            signs = rng.choice([-1.0, 1.0], size=(g, g))
            pat = np.kron(signs, np.ones((-(-h // g), -(-w // g))))[:h, :w, None].repeat(3, axis=2)
            cand = delta + pat * (budget / 4) / np.linalg.norm(pat)
            n = np.linalg.norm(cand)
            if n > budget:
                cand *= budget / n
            img = _to_pil(x0 + cand)
            real = np.asarray(img, dtype=np.float64) / 255.0 - x0
            if np.linalg.norm(real) > budget:
                continue
            dist = int((hasher(img) != h_src).sum())
            if dist >= best:
                best, delta = dist, real
            if best > threshold:
                return budget
    return math.inf


def attack_lipsim(model, src, var, threshold: float, steps: int, size: int | None = None) -> float:
    """Smallest ladder budget at which l2 PGD on the variant pushes d(src, var + delta) above threshold.

    With ``size`` both images go through the index's common-size resize first (as ``embed_files(size=...)``).
    """
    import torch

    from lipsim import load_image
    from lipsim.index.embed import to_model_input

    def embed(x):
        if size is None:
            return model.embed(x)
        return model.embed(to_model_input(model, x[0], size)[0][None])

    a = load_image(src).unsqueeze(0)
    x0 = load_image(var).unsqueeze(0)
    with torch.no_grad():
        ea = embed(a)
    for budget in LADDER:
        delta = torch.zeros_like(x0)
        step = 2.5 * budget / steps
        for _ in range(steps):
            delta.requires_grad_(True)
            e = embed((x0 + delta).clamp(0, 1))
            d = 0.5 * (e - ea).pow(2).sum()
            (g,) = torch.autograd.grad(d, delta)
            with torch.no_grad():
                delta = delta + step * g / g.norm().clamp_min(1e-30)
                delta = delta * min(1.0, budget / float(delta.norm()))
                delta = (x0 + delta).clamp(0, 1) - x0
                if float(0.5 * (embed(x0 + delta) - ea).pow(2).sum()) > threshold:
                    return budget
    return math.inf


# ---------------------------------------------------------------------------------------------- main
def main() -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--images", nargs="+", help="photos or folders of photos (default: scikit-image's photos)")
    p.add_argument("--weights", help="lipsim weights (default: the package default)")
    p.add_argument("--lipsim-threshold", type=float, help="override the weights' threshold")
    p.add_argument("--lipsim-size", type=int, help="compare at one scale, short side PX (lipsim dedup --size)")
    p.add_argument("--sources", type=int, default=12, help="photos that get variants (default 12)")
    p.add_argument("--size", type=int, default=256, help="side of the square photos (default 256)")
    p.add_argument("--attack-pairs", type=int, default=8, help="true matches attacked per tool (default 8)")
    p.add_argument("--pgd-steps", type=int, default=20, help="PGD steps per budget (default 20)")
    p.add_argument("--hash-queries", type=int, default=100, help="hash evaluations per budget (default 100)")
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--out", default="benchmarks/results/dedup", help="prefix of OUT.md and OUT_roc.png")
    args = p.parse_args()

    import torch

    from lipsim import LipSim
    from lipsim.index import embed_files, find_duplicates

    torch.manual_seed(args.seed)
    torch.set_num_threads(int(os.environ["OMP_NUM_THREADS"]))
    t_start = time.time()
    files = _photo_files(args.images or _default_images())
    work = Path(tempfile.mkdtemp(prefix="lipsim-dedup-bench-"))
    items, notes = build_set(files, args.sources, args.size, work, args.seed)
    pos, neg = pairs(items)
    n_fam = sum(it.kind == "original" for it in items)
    print(
        f"{len(items)} images: {n_fam} originals x {len(TRANSFORMS)} variants, "
        f"{sum(it.kind == 'distractor' for it in items)} distractors; {len(pos)} true and {len(neg)} false pairs",
        file=sys.stderr,
    )

    model = LipSim(weights=args.weights).eval()
    t0 = time.time()
    emb = embed_files(model, [it.path for it in items], size=args.lipsim_size)
    assert not emb.skipped, emb.skipped
    t_embed = time.time() - t0
    phi = emb.emb.phi.double()
    lip = Tool("lipsim" if args.lipsim_size is None else f"lipsim (--size {args.lipsim_size})", None, "")
    lip.matrix = (torch.cdist(phi, phi).pow(2) / 2).numpy()
    tau = args.lipsim_threshold if args.lipsim_threshold is not None else getattr(model, "threshold", None)
    hashes, hashers = hash_tools(items)
    tools = [lip, *hashes, cnn_tool(items)]

    ia, ib = np.array(pos).T
    na, nb = np.array(neg).T
    rows, curves = [], {}
    for t in tools:
        if t.skipped:
            continue
        dpos, dneg = t.matrix[ia, ib], t.matrix[na, nb]
        fpr, tpr, auc = roc(dpos, dneg)
        r1, t1 = recall_at_fpr(dpos, dneg)
        curves[t.name] = (fpr, tpr, auc)
        if t is lip:
            if tau is None:
                tau, lip.default_note = (
                    float(t1),
                    f"d <= {t1:.3g}: no threshold in the weights; chosen at 1% false matches on this set (set)",
                )
            elif args.lipsim_threshold is not None:
                lip.default_note = f"d <= {tau:.3g} (--lipsim-threshold)"
            else:
                lip.default_note = f"d <= {tau:.3g} (the weights' threshold)"
            t.default = tau
        prec_den = (dpos <= t.default).sum() + (dneg <= t.default).sum()
        precision = (dpos <= t.default).sum() / prec_den if prec_den else float("nan")
        recall = (dpos <= t.default).mean()
        per_t = {
            tr: float((t.matrix[ia, ib][[items[b].kind == tr for b in ib]] <= t.default).mean()) for tr in TRANSFORMS
        }
        rows.append((t, precision, recall, auc, r1, (dneg <= t.default).mean(), per_t))

    # attacks on true matches that every tool currently matches at its default threshold
    rng = np.random.default_rng(args.seed)
    attackable = [k for k in range(len(pos)) if all(t.matrix[pos[k]] <= t.default for t, *_ in rows)]
    chosen = [pos[k] for k in rng.permutation(attackable)[: args.attack_pairs]]
    dup = find_duplicates(emb.emb, tau, 0.0, group_pairs=False)
    cert = {(int(i), int(j)): float(r) for i, j, r in zip(dup.i, dup.j, dup.cert.radius)}
    for t, *_ in rows:
        budgets = []
        for a, b in chosen:
            if t is lip:
                lo = cert[(min(a, b), max(a, b))]
                hi = attack_lipsim(model, items[a].path, items[b].path, tau, args.pgd_steps, args.lipsim_size)
                budgets.append((lo, hi))
            elif t.name in hashers:
                budgets.append(
                    (
                        None,
                        attack_hash(hashers[t.name], items[a].image, items[b].image, t.default, args.hash_queries, rng),
                    )
                )
        t.attack = {"budgets": budgets}

    def med(v):
        v = sorted(v)
        return v[len(v) // 2] if v else float("nan")

    def fmt(x):
        return f"> {LADDER[-1]:g}" if math.isinf(x) else f"{x:.3g}"

    lines = [
        f"Set: {len(items)} images of {args.size} px ({n_fam} originals x {len(TRANSFORMS)} transforms + "
        f"{sum(it.kind == 'distractor' for it in items)} distractors) from {len(files)} files; {len(pos)} true pairs, "
        f"{len(neg)} false pairs. lipsim weights: {model.source}. Attacks on {len(chosen)} true matches that every "
        "tool matched; budgets are l2 norms (pixels in [0, 1]) of the change of the variant.",
        "",
        "| tool | default threshold | precision | recall | false matches | ROC AUC | recall at <= 1% false matches | "
        "l2 budget to break a match: certified lower bound | attack upper bound (median) |",
        "|---|---|---|---|---|---|---|---|---|",
    ]
    for t, prec, rec, auc, r1, fm, _ in rows:
        b = t.attack.get("budgets", [])
        lo = med([x for x, _ in b if x is not None]) if t is lip else None
        hi = med([y for _, y in b]) if b else float("nan")
        lines.append(
            f"| {t.name} | {t.default_note} | {100 * prec:.1f}% | {100 * rec:.1f}% | {100 * fm:.2f}% | "
            f"{auc:.3f} | {100 * r1:.1f}% | {'-' if lo is None else f'{lo:.3g}'} | "
            f"{fmt(hi)} ({'PGD' if t is lip else 'black-box search'}) |"
        )
    for t in tools:
        if t.skipped:
            lines.append(f"| {t.name} | {t.default_note or '-'} | skipped: {t.skipped} | | | | | | |")
    lines += [
        "",
        "Recall per transform at the default threshold:",
        "",
        "| tool | " + " | ".join(TRANSFORMS) + " |",
        "|---|" + "---|" * len(TRANSFORMS),
    ]
    for t, *_, per_t in rows:
        lines.append(f"| {t.name} | " + " | ".join(f"{100 * per_t[tr]:.0f}%" for tr in TRANSFORMS) + " |")
    if notes:
        lines += ["", "Notes: " + "; ".join(notes)]
    lines += [
        "",
        f"lipsim embedded {len(items)} images in {t_embed:.1f} s; whole run {time.time() - t_start:.0f} s "
        f"(load average {os.getloadavg()[0]:.1f}).",
    ]
    text = "\n".join(lines)
    print(text)
    out = Path(args.out)
    out.parent.mkdir(parents=True, exist_ok=True)
    out.with_suffix(".md").write_text(text + "\n")
    try:
        import matplotlib

        matplotlib.use("Agg")
        import matplotlib.pyplot as plt

        fig, ax = plt.subplots(figsize=(5.5, 4.5))
        for name, (fpr, tpr, auc) in curves.items():
            ax.step(fpr, tpr, where="post", label=f"{name} (AUC {auc:.3f})")
        ax.set_xscale("symlog", linthresh=0.01)
        ax.axvline(0.01, color="grey", lw=0.5, ls=":")
        ax.set_xlabel("false match rate")
        ax.set_ylabel("recall (true match rate)")
        ax.set_title("Near-duplicate ROC")
        ax.legend(loc="lower right", fontsize=8)
        fig.tight_layout()
        fig.savefig(str(out) + "_roc.png", dpi=120)
        print(f"wrote {out.with_suffix('.md')} and {out}_roc.png", file=sys.stderr)
    except ImportError:
        print("matplotlib is not installed: no ROC plot (pip install matplotlib)", file=sys.stderr)
    return 0


if __name__ == "__main__":
    sys.exit(main())
