"""``lipsim convert-original``: turn one of the LipSim authors' checkpoints into a lipsim weights directory.

    lipsim convert-original CKPT.pth OUT_DIR [--constant-coordinate append|none] [--overwrite]

The result loads with ``LipSim(weights="OUT_DIR")`` or ``lipsim-compare --weights OUT_DIR ...``.
"""

from __future__ import annotations

import argparse

__all__ = ["register"]

DESCRIPTION = (
    "Convert one of the LipSim authors' released paper-small training checkpoints (.pth: distilled, "
    "fine-tuned with margin 0.2 or 0.5) into a lipsim weights directory (config.json + model.safetensors). "
    "The file is read with torch.load(weights_only=True): no code from it runs. Every tensor is checked "
    "(names, shapes, finite values, the duplicated copies equal) before anything is written."
)
CC_HELP = (
    "embedding variant recorded in the output: 'append' (phi = [f; 1] / norm, default) or 'none' "
    "(phi = f / ||f||; certified radii then use the lower bound ||f(x)|| - eps on ||f|| over the ball). "
    "The authors did not document which one each release used; it can also be overridden at load time"
)


def register(subparsers: argparse._SubParsersAction) -> argparse.ArgumentParser:
    """Add the ``convert-original`` subcommand to the ``lipsim`` command."""
    p = subparsers.add_parser(
        "convert-original",
        help="convert a LipSim paper checkpoint (.pth) into a lipsim weights directory",
        description=DESCRIPTION,
    )
    p.add_argument("checkpoint", help="the authors' training checkpoint (.pth)")
    p.add_argument("out_dir", help="directory to write config.json and model.safetensors into (created if needed)")
    p.add_argument("--constant-coordinate", choices=["append", "none"], default="append", help=CC_HELP)
    p.add_argument("--overwrite", action="store_true", help="replace existing files in OUT_DIR")
    p.set_defaults(handler=_convert)
    return p


def _convert(args: argparse.Namespace) -> int:
    import json

    from ..convert import convert_original

    out = convert_original(args.checkpoint, args.out_dir, args.constant_coordinate, overwrite=args.overwrite)
    cfg = json.loads((out / "config.json").read_text())
    print(
        f"wrote {out}/ (arch {cfg['arch']}, constant_coordinate {cfg['constant_coordinate']}, "
        f"source sha256 {cfg['source_sha256']})"
    )
    print(f"use it with: LipSim(weights={str(out)!r})  or  lipsim-compare --weights {out} A.png B.png")
    return 0
