"""``lipsim``: umbrella command (compare, list-archs, list-weights, convert-original, dedup, search)."""

from __future__ import annotations

import argparse
import sys
from collections.abc import Sequence

from ._common import ArgumentParser, run_cli

__all__ = ["main"]

PROG = "lipsim"


def main(argv: Sequence[str] | None = None) -> int:
    argv = list(sys.argv[1:] if argv is None else argv)
    if argv and argv[0] == "compare":
        from .compare import main as compare_main

        return compare_main(argv[1:])
    p = ArgumentParser(prog=PROG, description="LipSim: certified perceptual image similarity.")
    sub = p.add_subparsers(dest="command", required=True)
    sub.add_parser("compare", help="same as lipsim-compare (see lipsim-compare --help)")
    sub.add_parser("list-archs", help="print the available architectures")
    lw = sub.add_parser("list-weights", help="print the registered weights")
    lw.add_argument("--arch", help="only weights of this arch")
    _register_extra(sub)
    args = p.parse_args(argv)

    def body() -> int:
        from .. import list_archs
        from ..archs import get_arch_spec
        from ..pretrained import get_weights_spec, list_weights

        if args.command == "list-archs":
            for name in list_archs():
                print(f"{name}\t{get_arch_spec(name).description}")
            return 0
        if args.command == "list-weights":
            for name in list_weights(args.arch):
                s = get_weights_spec(name)
                print(f"{name}\t{s.arch}\t{s.license}\t{s.description}")
            return 0
        return args.handler(args)

    return run_cli(PROG, body)


def _register_extra(sub: argparse._SubParsersAction) -> None:
    """Subcommands contributed by other modules (each registers itself if importable)."""
    from .dedup import register as register_dedup
    from .search import register as register_search

    register_dedup(sub)
    register_search(sub)
    try:
        from .convert import register as register_convert
    except ImportError:
        return
    register_convert(sub)


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
