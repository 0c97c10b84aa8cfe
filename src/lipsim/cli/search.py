"""``lipsim search INDEX QUERY...``: nearest neighbours with certified intervals and radii.

    lipsim dedup photos/ --threshold 0.02 --save-index photos.safetensors
    lipsim search photos.safetensors query.jpg -k 5 --eps 0.1

INDEX is an index saved by ``lipsim dedup --save-index`` / ``lipsim.Index.save`` (it must have been built with
the same weights), or a folder of images embedded on the fly (``--cache`` makes that cheap the next time).
"""

from __future__ import annotations

import argparse
import json
import math
import sys
from pathlib import Path

from ._common import add_model_args, model_from_args

__all__ = ["register", "run_search", "DESCRIPTION"]

PROG = "lipsim search"
DESCRIPTION = (
    "The K nearest indexed images of each query, with d = 1 - cos in [0, 2], its certified interval when the "
    "query changes by at most eps (l2, the query file's pixels in [0, 1]), the same/different label at the "
    "threshold and the query's certified radius: no change of the query smaller than it can change its "
    "nearest neighbour."
)


def register(subparsers: argparse._SubParsersAction) -> argparse.ArgumentParser:
    """Add the ``search`` subcommand to the ``lipsim`` command."""
    p = subparsers.add_parser(
        "search", help="certified nearest neighbours of query images in an index", description=DESCRIPTION
    )
    p.add_argument("index", help="index file (lipsim dedup --save-index) or a folder of images")
    p.add_argument("queries", nargs="+", metavar="QUERY", help="query image files")
    p.add_argument("-k", type=int, default=5, help="neighbours per query (default 5)")
    p.add_argument("--eps", type=float, default=36 / 255, help="l2 budget of the query (default 36/255)")
    p.add_argument("--threshold", type=float, help="d <= T means same (default: the index's or the weights')")
    p.add_argument("--json", action="store_true", help="one JSON object per query")
    p.add_argument("--cache", help="embedding cache for a folder INDEX")
    p.add_argument(
        "--size",
        type=int,
        metavar="PX",
        help="for a folder INDEX: compare at one scale, short side PX (a saved index uses the size it was built with)",
    )
    p.add_argument(
        "--backend",
        choices=["exact", "faiss"],
        default="exact",
        help="exact search, or faiss candidates re-ranked exactly (pip install 'lipsim[index]')",
    )
    add_model_args(p)
    p.set_defaults(handler=run_search)
    return p


def _fmt(x: float | None) -> str:
    return "none" if x is None else "inf" if math.isinf(x) else f"{x:.6f}"


def run_search(args: argparse.Namespace) -> int:
    from ..index import Index

    if args.k < 1:
        raise ValueError(f"-k must be >= 1, got {args.k}")
    if not args.eps >= 0 or args.eps == float("inf"):
        raise ValueError(f"--eps must be a finite number >= 0, got {args.eps}")
    if args.threshold is not None and not 0 <= args.threshold <= 2:
        raise ValueError(f"--threshold must be in [0, 2] (the range of d), got {args.threshold}")
    src = Path(args.index)
    if not src.exists():
        raise FileNotFoundError(f"no such index file or folder: {args.index!r}")
    for q in args.queries:
        if not Path(q).is_file():
            raise FileNotFoundError(f"no such query image file: {q!r}")
    model = model_from_args(args)
    if src.is_dir():
        index = Index(model, threshold=args.threshold, backend=args.backend, size=args.size)
        index.add(str(src), cache=args.cache, batch_size=args.batch_size)
        for path, why in index.skipped:
            print(f"{PROG}: skipped unreadable file {path!r}: {why}", file=sys.stderr)
        if not len(index):
            raise ValueError(f"no readable images in {args.index!r}")
    else:
        index = Index.load(src, model, backend=args.backend)
        if args.size is not None and args.size != index.size:
            raise ValueError(
                f"--size {args.size}: the index {args.index!r} was built at size {index.size}; "
                "queries are compared at the index's size (omit --size)"
            )
    results = index.search(
        list(args.queries), k=args.k, eps=args.eps, threshold=args.threshold, batch_size=args.batch_size
    )
    for r in results:
        if args.json:
            print(
                json.dumps(
                    {
                        "query": r.query,
                        "nn_radius": r.nn_radius,
                        "exact": r.exact,
                        "eps": r.eps,
                        "threshold": r.threshold,
                        "neighbours": [
                            {
                                "id": n.id,
                                "distance": n.distance,
                                "lower": n.lower,
                                "upper": n.upper,
                                "label": n.label,
                                "radius": n.radius,
                            }
                            for n in r.neighbours
                        ],
                    }
                )
            )
            continue
        print(f"{r.query}  nearest-neighbour radius={_fmt(r.nn_radius)}" + ("" if r.exact else "  (approximate)"))
        for rank, n in enumerate(r.neighbours, 1):
            line = f"  {rank}. {n.id}  d={n.distance:.6f}  certified [{n.lower:.6f}, {n.upper:.6f}] @ eps={r.eps:.4f}"
            if n.label is not None:
                line += f"  {n.label}  radius={_fmt(n.radius)}"
            print(line)
    return 0
