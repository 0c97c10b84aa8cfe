"""``lipsim dedup DIR``: certified near-duplicates of a folder of images.

    lipsim dedup photos/ --threshold 0.02 --eps 0.1 --cache photos.lsc.safetensors --json

Every image is embedded once (batched, through an embedding cache keyed by file content and weights), all
pairs with d <= threshold are found in blocks, grouped, and every reported pair is labelled
certified-same / same / different / certified-different at budget eps (docs/retrieval.md). Under torchrun
each process embeds a shard; rank 0 gathers them through files next to the cache and reports.
"""

from __future__ import annotations

import argparse
import csv
import json
import sys

from ._common import add_model_args, model_from_args

__all__ = ["register", "run_dedup", "DESCRIPTION"]

PROG = "lipsim dedup"
DESCRIPTION = (
    "Find near-duplicate images in DIR (recursively) and label every reported pair: certified-same / same "
    "(d <= threshold, certified or not at budget eps) and, for pairs inside a group that do not match, "
    "certified-different / different. d = 1 - cos in [0, 2]; budgets and radii are l2 norms in the file's "
    "pixels scaled to [0, 1], for a change of one of the two images."
)
FIELDS = ["a", "b", "distance", "label", "radius", "lower", "upper", "group"]


def register(subparsers: argparse._SubParsersAction) -> argparse.ArgumentParser:
    """Add the ``dedup`` subcommand to the ``lipsim`` command."""
    p = subparsers.add_parser(
        "dedup", help="certified near-duplicate groups of a folder of images", description=DESCRIPTION
    )
    p.add_argument("dir", help="folder of images (searched recursively)")
    p.add_argument(
        "--threshold", type=float, help="d <= T means same (default: the threshold recommended by the weights)"
    )
    p.add_argument("--eps", type=float, default=36 / 255, help="l2 budget for the labels (default 36/255)")
    out = p.add_mutually_exclusive_group()
    out.add_argument("--json", action="store_true", help="one JSON object per reported pair")
    out.add_argument("--csv", action="store_true", help="CSV with a header row, one row per reported pair")
    p.add_argument("--cache", help="embedding cache file (safetensors + .json side file), reused across runs")
    p.add_argument(
        "--size",
        type=int,
        metavar="PX",
        help="compare every image at one scale: short side PX (finds copies saved at another resolution; "
        "default: each image at its own size)",
    )
    p.add_argument("--save-index", metavar="FILE", help="also save the embeddings as a lipsim index (for search)")
    p.add_argument(
        "--matches-only",
        action="store_true",
        help="report only pairs with d <= threshold, not the other pairs inside each group",
    )
    p.add_argument(
        "--progress",
        choices=["auto", "on", "off"],
        default="auto",
        help="progress bar on stderr (tqdm, when installed); auto: when stderr is a terminal",
    )
    p.add_argument(
        "--shard-timeout",
        type=float,
        default=3600.0,
        help="under torchrun: seconds rank 0 waits for the other ranks' shards (default 3600)",
    )
    add_model_args(p)
    p.set_defaults(handler=run_dedup, batch_size=32)
    return p


def _note(message: str) -> None:
    print(f"{PROG}: {message}", file=sys.stderr)


def run_dedup(args: argparse.Namespace) -> int:
    from ..index import Index, embed_files, find_duplicates, list_images, resolve_threshold, shard_from_env
    from ..resize import MAX_RESIZE_SIDE

    if not args.eps >= 0 or args.eps == float("inf"):
        raise ValueError(f"--eps must be a finite number >= 0, got {args.eps}")
    if args.threshold is not None and not 0 <= args.threshold <= 2:
        raise ValueError(f"--threshold must be in [0, 2] (the range of d), got {args.threshold}")
    if args.shard_timeout <= 0:
        raise ValueError(f"--shard-timeout must be > 0 seconds, got {args.shard_timeout}")
    if args.size is not None and args.size < 1:
        raise ValueError(f"--size must be a positive number of pixels, got {args.size}")
    if args.size is not None and args.size > MAX_RESIZE_SIDE:
        raise ValueError(
            f"--size must be at most {MAX_RESIZE_SIDE} px (lipsim.resize.MAX_RESIZE_SIDE, the longest side a "
            f"resize produces), got {args.size}"
        )
    files = list_images(args.dir)
    shard = shard_from_env()
    model = model_from_args(args)
    tau = resolve_threshold(model, args.threshold, args.size)
    if tau is None:
        raise ValueError(
            f"the weights ({model.source or model.arch}) recommend no threshold; pass --threshold T "
            "(same = d <= T, d in [0, 2])"
        )
    progress = sys.stderr.isatty() if args.progress == "auto" else args.progress == "on"
    r = embed_files(
        model,
        files,
        cache=args.cache,
        batch_size=args.batch_size,
        progress=progress,
        shard=shard,
        shard_timeout=args.shard_timeout,
        size=args.size,
    )
    if r.only_shard:
        _note(f"rank {shard.rank} of {shard.world_size}: embedded {r.computed} images; rank 0 reports")
        return 0
    for path, why in r.skipped:
        _note(f"skipped unreadable file {path!r}: {why}")
    if r.emb is None:
        _note(f"no readable images among {len(files)} files in {args.dir!r}")
        if args.csv:
            csv.writer(sys.stdout).writerow(FIELDS)
        return 0
    if args.save_index:
        index = Index(model, threshold=args.threshold, size=args.size)
        index.add_embeddings(r.emb, r.paths)
        index.save(args.save_index)
    dup = find_duplicates(r.emb, tau, args.eps, group_pairs=not args.matches_only)
    _print_pairs(args, r.paths, dup)
    counts = {lab: dup.cert.labels.count(lab) for lab in ("certified-same", "same", "different", "certified-different")}
    _note(
        f"{len(r.paths)} images ({r.computed} embedded now, {len(r.skipped)} skipped), {len(dup.groups)} groups, "
        f"{len(dup.cert.labels)} pairs ("
        + ", ".join(f"{v} {k}" for k, v in counts.items())
        + f") at threshold {tau:g}, eps {args.eps:.4g}"
    )
    for g in dup.large_groups:
        _note(f"group {g + 1} has {len(dup.groups[g])} images: only its matching pairs are listed")
    return 0


def _print_pairs(args: argparse.Namespace, paths: list[str], dup) -> None:
    c = dup.cert
    rows = []
    for p in range(len(dup.i)):
        rows.append(
            {
                "a": paths[int(dup.i[p])],
                "b": paths[int(dup.j[p])],
                "distance": float(c.distance[p]),
                "label": c.labels[p],
                "radius": float(c.radius[p]),
                "lower": float(c.lower[p]),
                "upper": float(c.upper[p]),
                "group": int(dup.group[p]) + 1,
            }
        )
    if args.json:
        for row in rows:
            print(json.dumps({**row, "threshold": dup.threshold, "eps": dup.eps}))
        return
    if args.csv:
        w = csv.DictWriter(sys.stdout, fieldnames=FIELDS, lineterminator="\n")
        w.writeheader()
        w.writerows(rows)
        return
    current = None
    for row in rows:
        if row["group"] != current:
            current = row["group"]
            print(f"group {current} ({len(dup.groups[current - 1])} images)")
        print(f"  {row['a']}  {row['b']}  d={row['distance']:.6f}  {row['label']}  radius={row['radius']:.6f}")
