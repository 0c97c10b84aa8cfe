"""``lipsim-train``: distill, finetune, eval and make-2afc subcommands."""

from __future__ import annotations

import argparse
import json
import sys
from collections.abc import Sequence

from ..cli._common import run_cli
from .config_cli import add_config_arguments, config_from_args
from .configs import DistillConfig, FinetuneConfig

__all__ = ["main", "build_parser"]

PROG = "lipsim-train"


def build_parser() -> argparse.ArgumentParser:
    from .data.synthetic_two_afc import VAL_SHARE

    p = argparse.ArgumentParser(prog=PROG, description="Train and evaluate LipSim models (the LipSim recipe).")
    sub = p.add_subparsers(dest="command", required=True)

    d = sub.add_parser(
        "distill",
        help="distil a teacher into a 1-Lipschitz student",
        description=(
            "Step 1: the student regresses the teacher's unit-norm embedding of crops of the photos in --images. "
            "Launch with torchrun for several GPUs."
        ),
    )
    add_config_arguments(d, DistillConfig)

    f = sub.add_parser(
        "finetune",
        help="hinge fine-tuning on 2AFC triplets",
        description=(
            "Step 2: loss mean(max(0, m - y (d(x,x0) - d(x,x1)))) on NIGHTS, BAPPS or synthetic BAPPS-layout triplets."
        ),
    )
    add_config_arguments(f, FinetuneConfig)

    e = sub.add_parser(
        "eval",
        help="natural, certified and attacked 2AFC scores",
        description=(
            "Scores LipSim and, side by side, reference metrics; writes JSON and a PNG plot of certified score vs eps."
        ),
    )
    e.add_argument("--data", required=True)
    e.add_argument("--format", required=True, choices=["bapps", "nights"])
    e.add_argument("--split", help="split (default: val for bapps, as make-2afc writes; test for nights)")
    e.add_argument(
        "--weights",
        required=True,
        help="a run directory (the --out of distill or finetune, meaning its "
        "model/), a save_pretrained directory, a safetensors file or a registered name",
    )
    e.add_argument("--out", required=True, help="results JSON path (the plot is written beside it as .png)")
    e.add_argument(
        "--reference",
        action="append",
        default=[],
        help="reference metric to compare (repeatable): lpips-alex, lpips-vgg, dists",
    )
    e.add_argument("--l2-eps", type=float, default=2.0, help="l2 PGD budget on the reference (0: skip)")
    e.add_argument("--linf-eps", type=float, default=4 / 255, help="l_inf PGD budget on the reference (0: skip)")
    e.add_argument("--attack-steps", type=int, default=20, help="PGD steps (0: no attack)")
    e.add_argument("--attack-max-triplets", type=int, help="attack only the first N triplets of each subset")
    e.add_argument("--batch-size", type=int, default=32)
    e.add_argument("--max-triplets", type=int, help="score only the first N triplets of each subset")
    e.add_argument("--retrieval-images", help="folder of held-out photos for the retrieval check")
    e.add_argument("--retrieval-n", type=int, default=200)
    e.add_argument("--device")
    e.add_argument("--no-progress", action="store_true")

    m = sub.add_parser(
        "make-2afc",
        help="write a synthetic severity 2AFC set in the BAPPS layout",
        description=(
            "Reference crop, the same distortion at two clearly different strengths; the milder one is correct. "
            "By default writes a train split (read by finetune) and a val split (read by eval)."
        ),
    )
    m.add_argument("--images", required=True, help="folder of photos (searched recursively)")
    m.add_argument("--out", required=True, help="dataset root (receives 2afc/<split>/..., manifest.json)")
    m.add_argument("--n", type=int, required=True, help="number of triplets (in all, over both default splits)")
    m.add_argument("--seed", type=int, required=True)
    m.add_argument("--size", type=int, default=64, help="side of the patches (default 64, as BAPPS)")
    m.add_argument("--split", help="write only this split, with all --n triplets (default: train and val)")
    m.add_argument("--val-share", type=float, help=f"share of --n in the val split (default {VAL_SHARE})")
    m.add_argument("--overwrite", action="store_true", help="replace existing split folders")
    m.add_argument(
        "--cross-family", type=float, default=0.0, help="share of cross-family triplets labelled by --label-metric"
    )
    m.add_argument("--label-metric", help="reference metric labelling cross-family triplets (e.g. lpips-vgg)")
    m.add_argument(
        "--copies", type=float, default=0.0, help="share of copy triplets (mild copy of the reference vs another photo)"
    )
    m.add_argument(
        "--crop-scale",
        type=float,
        nargs=2,
        default=(0.02, 0.5),
        metavar=("LOW", "HIGH"),
        help="reference crop area as a share of the photo's largest square (default 0.02 0.5)",
    )

    s = sub.add_parser(
        "prepare-data",
        help="lay out a photo collection as train/ and val/ folders",
        description=(
            "Extract tar shards once and link image folders into OUT/train and OUT/val, split by a hash of each "
            "file name (lipsim.train.data.photo_split); the collection itself is only read."
        ),
    )
    s.add_argument("--data", required=True, help="the photo collection (tar shards and image folders)")
    s.add_argument("--out", required=True, help="output folder (train/, val/, split.json)")
    s.add_argument("--val-share", type=float, default=0.1, help="share of files held out (default 0.1)")
    s.add_argument("--no-progress", action="store_true")

    c = sub.add_parser(
        "consensus",
        help="keep the cross-family triplets several reference metrics agree on",
        description="Relabel a make-2afc --cross-family set by the consensus of --voters with a "
        "margin; writes a BAPPS-layout set with one category per family pair.",
    )
    c.add_argument("--data", required=True, help="make-2afc output with cross-family triplets")
    c.add_argument("--split", default="val")
    c.add_argument("--out", required=True)
    c.add_argument(
        "--voters",
        nargs="+",
        default=["lpips-vgg", "lpips-alex", "dists", "stlpips-alex"],
        help="reference metrics that vote (default: lpips-vgg lpips-alex dists stlpips-alex)",
    )
    c.add_argument("--margin", type=float, default=0.05, help="minimum |d0-d1|/(d0+d1) for every voter")
    c.add_argument("--limit", type=int, help="use only the first N cross-family triplets")
    c.add_argument("--no-progress", action="store_true")

    k = sub.add_parser(
        "calibrate",
        help="measure same/different rates and store a recommended threshold",
        description="Crops of held-out photos vs mild copies (same) and vs each other (different); "
        "the threshold keeps false 'same' at or below --max-false-same (lipsim.train.calibrate).",
    )
    k.add_argument("--weights", required=True, help="run directory, save_pretrained directory or weights name")
    k.add_argument("--images", required=True, help="held-out photos")
    k.add_argument("--size", type=int, default=224, help="compare size of the threshold (model.threshold)")
    k.add_argument(
        "--sizes",
        type=int,
        nargs="+",
        default=[],
        help="also calibrate at these compare sizes (px; e.g. 32 64 128 224): config size_thresholds, used by "
        "lipsim dedup/search and Index at that --size",
    )
    k.add_argument("--copies", type=int, default=3)
    k.add_argument("--max-false-same", type=float, default=0.01)
    k.add_argument("--write", action="store_true", help="store threshold and rates in the model's config.json")

    n = sub.add_parser(
        "knn",
        help="leave-one-out k-NN top-1 of the embedding on labelled photos",
        description="Labels are the photos' parent folder names (e.g. Tiny ImageNet WNIDs).",
    )
    n.add_argument("--weights", required=True)
    n.add_argument("--images", required=True)
    n.add_argument("--batch-size", type=int, default=256)

    lay = sub.add_parser(
        "layout",
        help="2AFC of a mild copy vs a layout change (flips, quadrants, tiles) and how many changes are 'same'",
        description="Held-out photos: a crop, one mild copy of it (right answer) and each layout change of it "
        "(wrong answer; never seen in training). Scores the weights and any --reference metrics "
        "(lipsim.train.layout_check).",
    )
    lay.add_argument("--weights", required=True, help="run directory, save_pretrained directory or weights name")
    lay.add_argument("--images", required=True, help="held-out photos")
    lay.add_argument("--size", type=int, default=224)
    lay.add_argument("--limit", type=int, default=None, help="at most this many photos")
    lay.add_argument("--threshold", type=float, default=None, help="instead of the weights' own threshold")
    lay.add_argument("--reference", action="append", default=[], help="also score this reference metric")
    lay.add_argument("--out", default=None, help="write the JSON result here too")
    return p


def _run(args: argparse.Namespace) -> int:
    if args.command == "distill":
        from .distill import distill

        distill_cfg = config_from_args(DistillConfig, args)
        _report(distill(distill_cfg), distill_cfg.out)
        return 0
    if args.command == "finetune":
        from .finetune import finetune

        finetune_cfg = config_from_args(FinetuneConfig, args)
        _report(finetune(finetune_cfg), finetune_cfg.out)
        return 0
    if args.command == "eval":
        from .evaluate import EvalConfig, evaluate

        res = evaluate(
            EvalConfig(
                data=args.data,
                format=args.format,
                split=args.split,
                weights=args.weights,
                out=args.out,
                batch_size=args.batch_size,
                references=args.reference,
                l2_eps=args.l2_eps,
                linf_eps=args.linf_eps,
                attack_steps=args.attack_steps,
                attack_max_triplets=args.attack_max_triplets,
                retrieval_images=args.retrieval_images,
                retrieval_n=args.retrieval_n,
                max_triplets=args.max_triplets,
                device=args.device,
                progress=not args.no_progress,
            )
        )
        _print_summary(res)
        return 0
    if args.command == "make-2afc":
        from .data import make_two_afc
        from .data.synthetic_two_afc import make_two_afc_splits

        metric = None
        if args.label_metric:
            from .reference import get_reference_metric

            metric = get_reference_metric(args.label_metric)
        opts = dict(
            size=args.size,
            cross_family=args.cross_family,
            copies=args.copies,
            reference_metric=metric,
            overwrite=args.overwrite,
            crop_scale=tuple(args.crop_scale),
        )
        if args.split is not None:
            if args.val_share is not None:
                raise ValueError(
                    "--val-share shares --n between the default train and val splits; drop it, or drop --split"
                )
            entries = {
                args.split: make_two_afc(args.images, args.out, n=args.n, seed=args.seed, split=args.split, **opts)
            }
        else:
            share = {} if args.val_share is None else {"val_share": args.val_share}
            entries = make_two_afc_splits(args.images, args.out, n=args.n, seed=args.seed, **share, **opts)
        print(f"{args.out}: " + ", ".join(f"{name} {e['n']} triplets" for name, e in entries.items()))
        return 0
    if args.command == "prepare-data":
        from .data.photo_split import prepare_photo_split

        summary = prepare_photo_split(args.data, args.out, args.val_share, progress=not args.no_progress)
        print(json.dumps(summary["counts"]))
        return 0
    if args.command == "consensus":
        from .data.consensus import consensus_set

        summary = consensus_set(
            args.data, args.split, args.out, args.voters, args.margin, progress=not args.no_progress, limit=args.limit
        )
        print(
            f"{args.out}: kept {summary['kept']} of {summary['total']} cross-family triplets; "
            + ", ".join(f"{k} {v}" for k, v in summary["counts"].items())
        )
        return 0
    if args.command == "layout":
        return _layout(args)
    if args.command in ("calibrate", "knn"):
        from ..model import LipSim
        from .model_dirs import resolve_model_dir

        weights, note = resolve_model_dir(args.weights, "--weights")
        print(note, file=sys.stderr)
        model = LipSim(pretrained=True, weights=weights)
        if args.command == "knn":
            from .knn import folder_knn_top1

            print(json.dumps(folder_knn_top1(model, args.images, args.batch_size)))
            return 0
        from .calibrate import calibrate_threshold, write_threshold

        def at(size: int) -> dict:
            return calibrate_threshold(
                model, args.images, size=size, copies=args.copies, max_false_same=args.max_false_same
            )

        result = at(args.size)
        by_size = {size: (result if size == args.size else at(size)) for size in args.sizes}
        if by_size:
            result = {**result, "by_size": {str(k): v for k, v in by_size.items()}}
        print(json.dumps(result, indent=2))
        if args.write:
            print(write_threshold(weights, result), file=sys.stderr)
        return 0
    raise AssertionError(args.command)  # pragma: no cover


def _layout(args: argparse.Namespace) -> int:
    from pathlib import Path

    from ..model import LipSim
    from .layout_check import layout_check
    from .model_dirs import resolve_model_dir
    from .reference import get_reference_metric

    weights, note = resolve_model_dir(args.weights, "--weights")
    print(note, file=sys.stderr)
    opts = dict(size=args.size, limit=args.limit)
    result = {
        "lipsim": layout_check(LipSim(pretrained=True, weights=weights), args.images, threshold=args.threshold, **opts)
    }
    for name in args.reference:
        result[name] = layout_check(get_reference_metric(name), args.images, **opts)
    text = json.dumps(result, indent=2)
    if args.out:
        Path(args.out).write_text(text + "\n")
    print(text)
    return 0


def _report(model_dir, out: str) -> None:
    if model_dir is None:
        print(f"stopped early; checkpoint in {out}; continue with the same command plus --resume")
    else:
        print(model_dir)


def _print_summary(res: dict) -> None:
    rows = [("LipSim", res["lipsim"]["total"])] + [(k, v["total"]) for k, v in res["references"].items()]
    keys = sorted({k for _, t in rows for k in t if k.startswith("pgd_")})
    eps = ("36/255", "72/255", "108/255")
    print(
        f"{'metric':<12} {'n':>6} {'natural':>8} "
        + " ".join(f"{'cert ' + e:>12}" for e in eps)
        + " "
        + " ".join(f"{k:>14}" for k in keys)
    )
    for name, t in rows:
        cert = t.get("certified", {})
        print(
            f"{name:<12} {t['n']:>6} {t['natural']:>8.4f} "
            + " ".join(f"{cert[e]:>12.4f}" if e in cert else f"{'-':>12}" for e in eps)
            + " "
            + " ".join(f"{t.get(k, float('nan')):>14.4f}" for k in keys)
        )


def main(argv: Sequence[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    return run_cli(PROG, lambda: _run(args))


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
