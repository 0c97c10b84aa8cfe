"""``lipsim-compare``: certified distances between image files from the shell.

    lipsim-compare a.png b.png [--threshold T]     distance, certified interval (and same/different decision)
    lipsim-compare --ref r.png a.png b.png          2AFC: which of a, b is closer to r, and its radius
    lipsim-compare DIR_A DIR_B                      pairs matched by file name
    lipsim-compare DIR                              all pairs of images in DIR
"""

from __future__ import annotations

import itertools
import json
import sys
from pathlib import Path
from typing import Iterator, Sequence

from ._common import ArgumentParser, add_model_args, fail, model_from_args, run_cli

__all__ = ["main", "build_parser"]

PROG = "lipsim-compare"
IMAGE_SUFFIXES = {".png", ".jpg", ".jpeg", ".bmp", ".gif", ".tif", ".tiff", ".webp", ".ppm", ".pgm"}


def build_parser() -> ArgumentParser:
    p = ArgumentParser(
        prog=PROG,
        description="LipSim distance (1 - cos, in [0, 2]; lower = more similar) with certified l2 bounds. "
        "Budgets and radii are l2 norms in the input image's pixel space, pixels scaled to [0, 1].",
    )
    p.add_argument("paths", nargs="+", help="two images, two directories, one directory, or (with --ref) two images")
    p.add_argument("--ref", help="reference image: 2AFC mode, PATHS are the two candidates")
    p.add_argument("--eps", type=float, default=36 / 255, help="l2 budget per image for the interval (default 36/255)")
    p.add_argument("--threshold", type=float, help="decide same (d <= T) / different and certify the decision")
    p.add_argument("--json", action="store_true", help="print one JSON object per result")
    add_model_args(p)
    return p


def _images_in(d: Path) -> list[Path]:
    return sorted(p for p in d.iterdir() if p.is_file() and p.suffix.lower() in IMAGE_SUFFIXES)


def _pairs(paths: Sequence[str]) -> list[tuple[Path, Path]]:
    ps = [Path(p) for p in paths]
    for p in ps:
        if not p.exists():
            raise FileNotFoundError(f"no such file or directory: {str(p)!r}")
    if len(ps) == 1:
        if not ps[0].is_dir():
            raise ValueError("one path given: expected a directory (all pairs) or two images")
        images = _images_in(ps[0])
        if len(images) < 2:
            raise ValueError(f"directory {str(ps[0])!r} holds {len(images)} images; need at least 2")
        return list(itertools.combinations(images, 2))
    if len(ps) != 2:
        raise ValueError(f"expected two images, two directories or one directory, got {len(ps)} paths")
    a, b = ps
    if a.is_dir() != b.is_dir():
        raise ValueError("give two images or two directories, not one of each")
    if not a.is_dir():
        return [(a, b)]
    names_b = {p.name: p for p in _images_in(b)}
    pairs = [(p, names_b[p.name]) for p in _images_in(a) if p.name in names_b]
    if not pairs:
        raise ValueError(f"no file names in common between {str(a)!r} and {str(b)!r}")
    unmatched = len(_images_in(a)) + len(names_b) - 2 * len(pairs)
    if unmatched:
        print(f"{PROG}: note: {unmatched} files without a same-named partner were skipped", file=sys.stderr)
    return pairs


def _batches(items: list, size: int) -> Iterator[list]:
    for i in range(0, len(items), size):
        yield items[i : i + size]


def _embed_files(model, files: list[Path]):
    """EmbeddingBatch for a list of image files of any sizes (each resized on its own)."""
    import torch

    xs, pn = [], []
    for f in files:
        x, p = model._prepare(str(f), str(f))
        xs.append(x)
        pn.append(p)
    return model.embed_prepared(torch.cat(xs), torch.tensor(pn))


def _compare_pairs(model, args, pairs) -> int:
    from ..certificates import certify_pair

    for chunk in _batches(pairs, args.batch_size):
        e0 = _embed_files(model, [a for a, _ in chunk])
        e1 = _embed_files(model, [b for _, b in chunk])
        c = certify_pair(e0, e1, args.eps, args.threshold)
        for i, (a, b) in enumerate(chunk):
            rec = {
                "img0": str(a), "img1": str(b), "distance": float(c.distance[i]),
                "lower": float(c.lower[i]), "upper": float(c.upper[i]), "eps": args.eps,
            }
            if args.threshold is not None:
                rec.update(threshold=args.threshold, same=bool(c.same[i]), radius=float(c.radius[i]))
            if args.json:
                print(json.dumps(rec))
            else:
                line = f"{a}  {b}  d={rec['distance']:.6f}  certified [{rec['lower']:.6f}, {rec['upper']:.6f}] @ eps={args.eps:.4f}"
                if args.threshold is not None:
                    verdict = "same" if rec["same"] else "different"
                    line += f"  {verdict} (d {'<=' if rec['same'] else '>'} {args.threshold}) radius={rec['radius']:.6f}"
                print(line)
    return 0


def _two_afc(model, args) -> int:
    from ..certificates import certify_two_afc

    if len(args.paths) != 2:
        raise ValueError(f"--ref needs exactly two candidate images, got {len(args.paths)} paths")
    files = [Path(args.ref), *map(Path, args.paths)]
    for f in files:
        if not f.is_file():
            raise FileNotFoundError(f"no such image file: {str(f)!r}")
    er, e0, e1 = (_embed_files(model, [f]) for f in files)
    r = certify_two_afc(er, e0, e1)
    rec = {
        "ref": str(files[0]), "img0": str(files[1]), "img1": str(files[2]),
        "d0": float(r.d0[0]), "d1": float(r.d1[0]), "choice": int(r.choice[0]), "radius": float(r.radius[0]),
    }
    if args.json:
        print(json.dumps(rec))
    else:
        closer = files[1 + rec["choice"]]
        print(f"closer to {files[0]}: {closer} (choice {rec['choice']})  d0={rec['d0']:.6f}  d1={rec['d1']:.6f}  "
              f"certified radius={rec['radius']:.6f}")
    return 0


def main(argv: Sequence[str] | None = None) -> int:
    args = build_parser().parse_args(argv)

    def body() -> int:
        if not args.eps >= 0:
            fail(PROG, f"--eps must be >= 0, got {args.eps}")
        if args.threshold is not None and not 0 <= args.threshold <= 2:
            fail(PROG, f"--threshold must be in [0, 2] (the range of d), got {args.threshold}")
        if args.ref is not None:
            model = model_from_args(args)
            return _two_afc(model, args)
        pairs = _pairs(args.paths)
        model = model_from_args(args)
        return _compare_pairs(model, args, pairs)

    return run_cli(PROG, body)


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
