"""``lipsim-compare``: certified distances between image files from the shell.

    lipsim-compare a.png b.png [--threshold T]     distance, certified interval (and same/different decision)
    lipsim-compare a.png b.png --heatmap out.png    the same, and a picture of where the two images differ
    lipsim-compare --ref r.png a.png b.png          2AFC: which of a, b is closer to r, and its radius
    lipsim-compare DIR_A DIR_B                      pairs matched by file name
    lipsim-compare DIR                              all pairs of images in DIR

Every image is read and embedded once (in batches of ``--batch-size``); all pairs are then computed from the
embeddings. In the directory modes an unreadable image is skipped and reported (a line on stderr, and a
``{"skipped": ..., "error": ...}`` record with ``--json``); the other results are still printed and the exit
status is 1. Without ``--threshold``, weights that carry a calibrated threshold (``LipSim.threshold``) decide
same / different with it, and the output says so. ``--heatmap`` (two image files of one size; needs matplotlib)
draws :meth:`lipsim.LipSim.difference_map` beside the two images: a visual aid, not a certificate.
"""

from __future__ import annotations

import dataclasses
import itertools
import json
import sys
from collections.abc import Iterator, Sequence
from pathlib import Path
from typing import Any

from ._common import ArgumentParser, add_image_args, add_model_args, fail, model_from_args, run_cli

__all__ = ["main", "build_parser"]

PROG = "lipsim-compare"
IMAGE_SUFFIXES = {".png", ".jpg", ".jpeg", ".bmp", ".gif", ".tif", ".tiff", ".webp", ".ppm", ".pgm"}
PARTIAL_FAILURE = 1
_PAIR_CHUNK = 4096  # pairs certified per vectorised call


def build_parser() -> ArgumentParser:
    p = ArgumentParser(
        prog=PROG,
        description="LipSim distance (1 - cos, in [0, 2]; lower = more similar) with certified l2 bounds. "
        "Budgets and radii are l2 norms in the input image's pixel space, pixels scaled to [0, 1].",
    )
    p.add_argument("paths", nargs="+", help="two images, two directories, one directory, or (with --ref) two images")
    p.add_argument("--ref", help="reference image: 2AFC mode, PATHS are the two candidates")
    p.add_argument("--eps", type=float, default=36 / 255, help="l2 budget per image for the interval (default 36/255)")
    p.add_argument(
        "--threshold",
        type=float,
        help="decide same (d <= T) / different and certify the decision "
        "(default: the threshold the weights carry, if any)",
    )
    p.add_argument(
        "--no-threshold", action="store_true", help="no same/different decision, even if the weights carry a threshold"
    )
    p.add_argument("--json", action="store_true", help="print one JSON object per result")
    p.add_argument(
        "--heatmap",
        metavar="OUT.png",
        help="also draw where the two images differ (a map from the network's feature maps, without a certificate) "
        "beside them, with the distance, into this image file; two image files of one size; needs matplotlib",
    )
    add_model_args(p)
    add_image_args(p)
    return p


# ---------------------------------------------------------------------------------------------- inputs
def _kind(p: Path) -> str:
    from ..image_io import describe_path

    return describe_path(p)


def _images_in(d: Path) -> list[Path]:
    """Entries of ``d`` with an image suffix that are not directories (unreadable ones are reported later)."""
    return sorted(p for p in d.iterdir() if p.suffix.lower() in IMAGE_SUFFIXES and _kind(p) != "directory")


def _check_arg(p: Path) -> str:
    kind = _kind(p)
    if kind == "missing":
        raise FileNotFoundError(f"no such file or directory: {str(p)!r}")
    if kind not in ("regular file", "directory"):
        raise ValueError(f"expected an image file or a directory, got a {kind}: {str(p)!r}")
    return kind


def _pairs(paths: Sequence[str]) -> tuple[list[tuple[Path, Path]], bool]:
    """(pairs of files, whether files that cannot be read are skipped rather than fatal)."""
    ps = [Path(p) for p in paths]
    kinds = [_check_arg(p) for p in ps]
    if len(ps) == 1:
        if kinds[0] != "directory":
            raise ValueError("one path given: expected a directory (all pairs) or two images")
        images = _images_in(ps[0])
        if len(images) < 2:
            raise ValueError(f"directory {str(ps[0])!r} holds {len(images)} images; need at least 2")
        return list(itertools.combinations(images, 2)), True
    if len(ps) != 2:
        raise ValueError(f"expected two images, two directories or one directory, got {len(ps)} paths")
    a, b = ps
    if (kinds[0] == "directory") != (kinds[1] == "directory"):
        raise ValueError("give two images or two directories, not one of each")
    if kinds[0] != "directory":
        return [(a, b)], False
    names_b = {p.name: p for p in _images_in(b)}
    pairs = [(p, names_b[p.name]) for p in _images_in(a) if p.name in names_b]
    if not pairs:
        raise ValueError(f"no file names in common between {str(a)!r} and {str(b)!r}")
    unmatched = len(_images_in(a)) + len(names_b) - 2 * len(pairs)
    if unmatched:
        print(f"{PROG}: note: {unmatched} files without a same-named partner were skipped", file=sys.stderr)
    return pairs, True


def _batches(items: list, size: int) -> Iterator[list]:
    for i in range(0, len(items), size):
        yield items[i : i + size]


# ---------------------------------------------------------------------------------------------- embeddings
def _index(e: Any, idx: Any) -> Any:
    """The rows ``idx`` of an EmbeddingBatch (every tensor field indexed)."""
    import torch

    return dataclasses.replace(
        e,
        **{
            f.name: getattr(e, f.name)[idx]
            for f in dataclasses.fields(e)
            if isinstance(getattr(e, f.name), torch.Tensor)
        },
    )


def _cat(parts: list) -> Any:
    import torch

    first = parts[0]
    return dataclasses.replace(
        first,
        **{
            f.name: torch.cat([getattr(p, f.name) for p in parts])
            for f in dataclasses.fields(first)
            if isinstance(getattr(first, f.name), torch.Tensor)
        },
    )


def _embed_files(
    model, files: list[Path], batch_size: int, max_pixels: int | None, skip: bool
) -> tuple[dict[Path, Any], dict[Path, str]]:
    """Embed each file once: {file: row of an EmbeddingBatch}, {file: why it was skipped}.

    Files are read ``batch_size`` at a time; within a batch, images of the same size share one forward pass.
    Reading errors are fatal unless ``skip``; a network producing NaN is always fatal (the weights are broken).
    """
    import torch

    from ..errors import ImageError
    from ..image_io import load_image
    from ..resize import check_resize

    rows: dict[Path, Any] = {}
    skipped: dict[Path, str] = {}
    for chunk in _batches(files, batch_size):
        by_size: dict[tuple[int, int], list[tuple[Path, torch.Tensor]]] = {}
        for f in chunk:
            try:
                x = load_image(f, max_pixels=max_pixels)
                if model.resize_inputs:  # a size the network cannot be given is this file's error, not its batch's
                    hw = (int(x.shape[-2]), int(x.shape[-1]))
                    check_resize(hw, model.backbone.network_size(hw), repr(str(f)))
            except (ImageError, OSError) as e:
                if not skip:
                    raise
                skipped[f] = str(e).splitlines()[0] if str(e) else type(e).__name__
                print(f"{PROG}: skipped {str(f)!r}: {skipped[f]}", file=sys.stderr)
                continue
            by_size.setdefault((int(x.shape[-2]), int(x.shape[-1])), []).append((f, x))
        for group in by_size.values():
            names = [str(f) for f, _ in group]
            label = ", ".join(names[:3]) + (f" and {len(names) - 3} more" if len(names) > 3 else "")
            emb = model.embed_batch(torch.stack([x for _, x in group]), label)
            for i, (f, _) in enumerate(group):
                rows[f] = _index(emb, slice(i, i + 1))
    return rows, skipped


def _emit(rec: dict[str, Any], as_json: bool, text: str) -> None:
    # allow_nan=False: a NaN can never reach the output (it would not be valid JSON); ValueError -> exit 2
    print(json.dumps(rec, allow_nan=False) if as_json else text)


# ---------------------------------------------------------------------------------------------- modes
def _threshold(model, args) -> tuple[float | None, str | None]:
    if args.threshold is not None:
        return args.threshold, "--threshold"
    if args.no_threshold or model.threshold is None:
        return None, None
    return model.threshold, "weights"


def _compare_pairs(model, args, pairs: list[tuple[Path, Path]], skip: bool) -> int:
    from ..certificates import certify_pair

    files = list(dict.fromkeys(f for pair in pairs for f in pair))  # each file once, in order of first use
    rows, skipped = _embed_files(model, files, args.batch_size, args.max_pixels, skip)
    for f, why in skipped.items():
        if args.json:
            _emit({"skipped": str(f), "error": why}, True, "")
    tau, source = _threshold(model, args)
    where = "--threshold" if source == "--threshold" else "threshold of the weights"
    todo = [(a, b) for a, b in pairs if a in rows and b in rows]
    for chunk in _batches(todo, _PAIR_CHUNK):
        e0 = _cat([rows[a] for a, _ in chunk])
        e1 = _cat([rows[b] for _, b in chunk])
        c = certify_pair(e0, e1, args.eps, tau)
        for i, (a, b) in enumerate(chunk):
            rec: dict[str, Any] = {
                "img0": str(a),
                "img1": str(b),
                "distance": float(c.distance[i]),
                "lower": float(c.lower[i]),
                "upper": float(c.upper[i]),
                "eps": args.eps,
            }
            line = (
                f"{a}  {b}  d={rec['distance']:.6f}  certified [{rec['lower']:.6f}, {rec['upper']:.6f}] "
                f"@ eps={args.eps:.4f}"
            )
            if tau is not None:
                assert c.same is not None and c.radius is not None  # certify_pair decides whenever tau is given
                rec.update(threshold=tau, threshold_source=source, same=bool(c.same[i]), radius=float(c.radius[i]))
                verdict = "same" if rec["same"] else "different"
                line += f"  {verdict} (d {'<=' if rec['same'] else '>'} {tau:g}, {where}) radius={rec['radius']:.6f}"
            _emit(rec, args.json, line)
    if skipped:
        print(
            f"{PROG}: {len(skipped)} of {len(files)} images could not be read; their pairs are missing "
            "(see the lines above)",
            file=sys.stderr,
        )
        return PARTIAL_FAILURE
    return 0


def _two_afc(model, args) -> int:
    from ..certificates import certify_two_afc

    if len(args.paths) != 2:
        raise ValueError(f"--ref needs exactly two candidate images, got {len(args.paths)} paths")
    files = [Path(args.ref), *map(Path, args.paths)]
    for f in files:
        if _check_arg(f) != "regular file":
            raise ValueError(f"expected an image file, got a directory: {str(f)!r}")
    rows, _ = _embed_files(model, list(dict.fromkeys(files)), args.batch_size, args.max_pixels, skip=False)
    r = certify_two_afc(*(rows[f] for f in files))
    rec = {
        "ref": str(files[0]),
        "img0": str(files[1]),
        "img1": str(files[2]),
        "d0": float(r.d0[0]),
        "d1": float(r.d1[0]),
        "choice": int(r.choice[0]),
        "radius": float(r.radius[0]),
    }
    closer = files[1 + int(r.choice[0])]
    _emit(
        rec,
        args.json,
        f"closer to {files[0]}: {closer} (choice {rec['choice']})  d0={rec['d0']:.6f}  "
        f"d1={rec['d1']:.6f}  certified radius={rec['radius']:.6f}",
    )
    return 0


def _check_heatmap_args(args, pairs: list[tuple[Path, Path]], skip: bool) -> None:
    """Before any work: --heatmap draws one pair of same-size image files, and matplotlib is there."""
    from ..heatmap import require_matplotlib
    from ..image_io import image_size

    if skip or len(pairs) != 1:
        raise ValueError("--heatmap draws one pair: give two image files, not directories")
    require_matplotlib()
    folder = Path(args.heatmap).parent
    if not folder.is_dir():
        raise ValueError(f"--heatmap: no such directory to write into: {str(folder)!r}")
    a, b = pairs[0]
    (w0, h0), (w1, h1) = (image_size(f, max_pixels=args.max_pixels) for f in (a, b))
    if (w0, h0) != (w1, h1):
        raise ValueError(
            f"--heatmap needs two images of one size, got {str(a)!r} {w0}x{h0} and {str(b)!r} {w1}x{h1} (width x "
            "height)"
        )


def _draw_heatmap(model, args, a: Path, b: Path) -> None:
    import torch

    from ..heatmap import save_heatmap
    from ..image_io import load_image

    x0, x1 = (load_image(f, max_pixels=args.max_pixels) for f in (a, b))
    with torch.no_grad():
        diff = model.difference_map(x0, x1)[0]
        d = float(model(x0, x1)[0])
    out = save_heatmap(args.heatmap, x0, x1, diff, d, (a.name, b.name))
    print(f"{PROG}: heatmap of {str(a)!r} and {str(b)!r} written to {str(out)!r}", file=sys.stderr)


def main(argv: Sequence[str] | None = None) -> int:
    args = build_parser().parse_args(argv)

    def body() -> int:
        if not 0 <= args.eps < float("inf"):
            fail(PROG, f"--eps must be a finite number >= 0, got {args.eps}")
        if args.threshold is not None and not 0 <= args.threshold <= 2:
            fail(PROG, f"--threshold must be in [0, 2] (the range of d), got {args.threshold}")
        if args.threshold is not None and args.no_threshold:
            fail(PROG, "--threshold and --no-threshold exclude each other")
        if args.ref is not None:
            if args.heatmap is not None:
                fail(PROG, "--heatmap draws one pair of images; it does not combine with --ref")
            model = model_from_args(args)
            return _two_afc(model, args)
        pairs, skip = _pairs(args.paths)
        if args.heatmap is not None:
            _check_heatmap_args(args, pairs, skip)
        model = model_from_args(args)
        status = _compare_pairs(model, args, pairs, skip)
        if args.heatmap is not None:
            _draw_heatmap(model, args, *pairs[0])
        return status

    return run_cli(PROG, body)


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
