"""Conversion of the LipSim authors' released ``paper-small`` training checkpoints.

The layout and the checks are also described in docs/weights-format.md, 'The authors' checkpoints'.

The authors distribute torch training checkpoints (``torch.save`` of a dict with ``epoch``, ``global_step``,
``model_state_dict``, ``optimizer_state_dict`` and ``scheduler``). ``model_state_dict`` holds their
paper-small network inside a normalisation wrapper (mean 0, std 1: the identity, no tensors) and
``DataParallel``, and lists every tensor twice, once under the network's own attributes and once under the
``base`` sequence that chains them::

    module.model.convs.{0..19}.{kernel (5,45,3,3), bias (1,5,1,1), q (5,)}
    module.model.linear.{1..7}.{weight (1024,8820), bias (1,1024), q (1024,)}   (linear.0 is the flatten)
    module.model.base.1.{0..19}.*   module.model.base.2.{1..7}.*                  (the same tensors again)

Fine-tuned checkpoints may use the prefix ``module.backbone.`` instead of ``module.`` and may carry extra
keys containing ``alpha`` (ignored, as the authors' own loader does). The two pools, the zero channel
padding, the flatten and the final truncation to 1792 coordinates have no tensors.

:func:`convert_original` checks all of that (key set, shapes, finite values, equality of the duplicated
tensors), maps the tensors onto ``paper-small`` (``convs.i`` -> ``convs.i``, ``linear.j`` -> ``linear.{j-1}``)
and writes a :meth:`lipsim.LipSim.save_pretrained` directory whose config records the source file's sha256
and the chosen constant-coordinate variant. The checkpoint is read with ``torch.load(weights_only=True)``
only: no code from the file is executed.
"""

from __future__ import annotations

import math
import os
import pickle
import re
import zipfile
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import torch

from ..archs.meta import build_arch_shapes
from ..errors import WeightsError
from ..image_io import describe_path
from ..pretrained.safetensors_io import sha256_file
from ..pretrained.weights_format import CONFIG_NAME, WEIGHTS_NAME

__all__ = ["OriginalCheckpoint", "convert_original", "load_original", "map_original_state_dict", "SOURCE_FORMAT"]

SOURCE_FORMAT = "lipsim-authors-training-checkpoint"
ARCH = "paper-small"

# Key prefixes of the network inside model_state_dict: DataParallel(NormalizedModel(net)) -> "module.model.";
# fine-tuned checkpoints wrap it once more ("module.backbone.model."); "model." is the same state dict
# saved without DataParallel.
PREFIXES = ("module.backbone.model.", "module.model.", "model.")

_CONV = re.compile(r"^(convs|base\.1)\.(\d+)\.(kernel|bias|q)$")
_LINEAR = re.compile(r"^(linear|base\.2)\.(\d+)\.(weight|bias|q)$")

_MAX_LISTED = 6


def _few(items: list[str]) -> str:
    more = f" and {len(items) - _MAX_LISTED} more" if len(items) > _MAX_LISTED else ""
    return ", ".join(items[:_MAX_LISTED]) + more


@dataclass
class OriginalCheckpoint:
    """A checked and mapped original checkpoint.

    Attributes:
        state_dict: float32 tensors under ``paper-small``'s own key names.
        arch_config: the ``paper-small`` configuration they fit.
        prefix: the key prefix found in the file (e.g. ``"module.model."``).
        ignored: keys that were dropped on purpose (those containing ``alpha``).
        meta: JSON-friendly training metadata found next to the weights (epoch, global_step).
    """

    state_dict: dict[str, torch.Tensor]
    arch_config: dict[str, Any]
    prefix: str
    ignored: list[str] = field(default_factory=list)
    meta: dict[str, Any] = field(default_factory=dict)


def _expected_shapes(arch_config: Mapping[str, Any]) -> dict[str, tuple[int, ...]]:
    """Key -> shape of ``paper-small``'s state dict for ``arch_config``, read from the network built on meta."""
    net = build_arch_shapes(ARCH, **arch_config)
    return {k: tuple(v.shape) for k, v in net.state_dict().items()}


def _strip_prefix(keys: list[str], source: str) -> str:
    for prefix in PREFIXES:
        if keys and all(k.startswith(prefix) for k in keys):
            return prefix
    found = sorted({k.split(".", 1)[0] + "." for k in keys} | {".".join(k.split(".")[:2]) + "." for k in keys})
    raise WeightsError(
        f"{source}: the tensor names do not share one of the expected prefixes {list(PREFIXES)} "
        f"(found names starting with {_few(found)}); this is not a LipSim paper-small checkpoint"
    )


def map_original_state_dict(
    model_state_dict: Mapping[str, Any],
    arch_config: Mapping[str, Any] | None = None,
    source: str = "checkpoint",
) -> OriginalCheckpoint:
    """Check the authors' ``model_state_dict`` and map it onto ``paper-small``'s key names.

    Args:
        model_state_dict: the ``model_state_dict`` entry of an original checkpoint.
        arch_config: ``paper-small`` options the tensors must fit; ``None`` means the paper's network
            (20 convs, 7 dense layers, 45 channels, inner widths 5 and 1024, 224x224 inputs). Other values
            only serve tests with reduced sizes.
        source: name used in error messages.

    Raises:
        WeightsError: missing, extra or non-tensor entries, wrong shapes, non-finite values, or duplicated
            tensors that differ.
    """
    if not isinstance(model_state_dict, Mapping):
        raise WeightsError(f"{source}: model_state_dict is a {type(model_state_dict).__name__}, not a dict of tensors")
    cfg = dict(arch_config or {})
    expected = _expected_shapes(cfg)
    depth_conv = sum(1 for k in expected if k.startswith("convs.") and k.endswith(".kernel"))
    depth_linear = sum(1 for k in expected if k.startswith("linear.") and k.endswith(".weight"))

    ignored = sorted(k for k in model_state_dict if "alpha" in str(k))
    keys = [k for k in model_state_dict if "alpha" not in str(k)]
    bad = [str(k) for k in keys if not isinstance(k, str) or not isinstance(model_state_dict[k], torch.Tensor)]
    if bad:
        raise WeightsError(f"{source}: model_state_dict entries that are not tensors: {_few(bad)}")
    prefix = _strip_prefix(keys, source)

    # (our key, index of the copy: 0 = convs/linear, 1 = base.1/base.2) -> tensor
    found: dict[tuple[str, int], torch.Tensor] = {}
    unexpected: list[str] = []
    for key in keys:
        name = key[len(prefix) :]
        m = _CONV.match(name)
        if m and int(m.group(2)) < depth_conv:
            found[(f"convs.{int(m.group(2))}.{m.group(3)}", int(m.group(1) != "convs"))] = model_state_dict[key]
            continue
        m = _LINEAR.match(name)
        if m and 1 <= int(m.group(2)) <= depth_linear:
            found[(f"linear.{int(m.group(2)) - 1}.{m.group(3)}", int(m.group(1) != "linear"))] = model_state_dict[key]
            continue
        unexpected.append(key)

    def theirs(our_key: str, copy: int) -> str:
        part, idx, leaf = our_key.split(".")
        if part == "convs":
            return f"{prefix}{'convs' if copy == 0 else 'base.1'}.{idx}.{leaf}"
        return f"{prefix}{'linear' if copy == 0 else 'base.2'}.{int(idx) + 1}.{leaf}"

    missing = [theirs(k, c) for k in expected for c in (0, 1) if (k, c) not in found]
    if missing or unexpected:
        parts = []
        if missing:
            parts.append(f"{len(missing)} missing tensors ({_few(missing)})")
        if unexpected:
            parts.append(f"{len(unexpected)} unexpected tensors ({_few(unexpected)})")
        names = {k[len(prefix) :].split(".")[0] for k in unexpected}
        hint = (
            " It looks like the authors' other network (a learned first conv 'conv1' and a dense 'last' layer),"
            " which is not paper-small."
            if names & {"conv1", "last"}
            else ""
        )
        raise WeightsError(
            f"{source}: not the paper-small layout ({depth_conv} SLL convs, {depth_linear} SLL dense layers, each "
            f"tensor listed twice): " + "; ".join(parts) + "." + hint
        )

    state: dict[str, torch.Tensor] = {}
    problems: list[str] = []
    for our_key, shape in expected.items():
        a, b = found[(our_key, 0)], found[(our_key, 1)]
        for copy, t in ((0, a), (1, b)):
            if tuple(t.shape) != shape:
                problems.append(f"{theirs(our_key, copy)}: expected shape {shape}, found {tuple(t.shape)}")
            elif not t.is_floating_point():
                problems.append(f"{theirs(our_key, copy)}: expected floating-point values, found {t.dtype}")
        if problems:
            continue
        if not bool(torch.isfinite(a).all()):
            problems.append(f"{theirs(our_key, 0)}: contains NaN or infinite values")
            continue
        if a.dtype != b.dtype or not torch.equal(a, b):
            problems.append(f"{theirs(our_key, 0)} and {theirs(our_key, 1)} differ (they must be the same tensor)")
            continue
        state[our_key] = a.detach().to(device="cpu", dtype=torch.float32).contiguous()
    if problems:
        raise WeightsError(f"{source}: {len(problems)} problems: {_few(problems)}")
    return OriginalCheckpoint(state, cfg, prefix, ignored)


_ZIP_MAGIC = b"PK\x03\x04"
_PICKLE_PROTO = 0x80  # first byte of a pickle (protocol >= 2): torch.save's pre-1.6 (legacy) format


def _torch_load(path: Path) -> Any:
    """torch.load(weights_only=True), with every failure turned into a WeightsError that says what the file is not.

    torch's own messages for refused pickles suggest ``weights_only=False``: lipsim never repeats that advice
    (it would run code from the file), so they are replaced.
    """
    size = path.stat().st_size
    with open(path, "rb") as f:
        head = f.read(4)
    where = f"{str(path)!r} ({size} bytes)"
    if size == 0:
        raise WeightsError(f"{str(path)!r} is empty (0 bytes): not a torch checkpoint")
    is_zip = zipfile.is_zipfile(path)
    if head == _ZIP_MAGIC and not is_zip:
        raise WeightsError(f"{where} is a truncated or damaged zip archive, not a complete torch checkpoint")
    if not is_zip and head[:1] != bytes([_PICKLE_PROTO]):
        raise WeightsError(
            f"{where} is not a torch checkpoint: neither a zip archive written by torch.save nor a "
            f"legacy pickle (it starts with {head!r})"
        )
    try:
        # mmap keeps the (large, unused) optimizer state out of memory; the pre-1.6 format cannot be mapped.
        return torch.load(path, map_location="cpu", weights_only=True, mmap=is_zip)
    except pickle.UnpicklingError as e:
        detail = re.search(r"(Unsupported (?:global|operand)[^\n]*?)(?:\.\s|\n|$)", str(e))
        what = f" ({detail.group(1).strip()})" if detail else ""
        raise WeightsError(
            f"{where} holds Python objects other than tensors, numbers and plain containers{what}: it is not a "
            "checkpoint lipsim can read safely, and lipsim never unpickles arbitrary objects (they can run code)"
        ) from None
    except Exception as e:  # RuntimeError (damaged zip members), EOFError / struct errors (truncated legacy files)
        first = next((ln.strip() for ln in str(e).splitlines() if ln.strip() and "weights_only" not in ln), "")
        kind = "zip archive" if is_zip else "legacy (pre-1.6) torch file"
        raise WeightsError(
            f"{where} is a truncated or damaged {kind}, not a readable torch checkpoint ({type(e).__name__}"
            f"{': ' + first if first else ''})"
        ) from None


def _json_scalar(v: Any) -> Any:
    """``v`` if it is a JSON-friendly scalar (a one-element tensor counts), else None."""
    if isinstance(v, torch.Tensor) and v.numel() == 1:
        v = v.item()
    if isinstance(v, float):
        return v if math.isfinite(v) else None
    return v if isinstance(v, (bool, int, str)) else None


def _read_checkpoint(ckpt_path: str | os.PathLike[str]) -> tuple[dict[str, Any], Mapping[str, Any]]:
    """(the file's top-level dict, its model_state_dict): WeightsError if it is not a checkpoint."""
    path = Path(ckpt_path)
    kind = describe_path(path)
    if kind == "missing":
        raise WeightsError(f"checkpoint not found: {str(path)!r}")
    if kind != "regular file":
        raise WeightsError(f"expected a checkpoint file, got a {kind}: {str(path)!r}")
    obj = _torch_load(path)
    if not isinstance(obj, dict):
        raise WeightsError(f"{str(path)!r} holds a {type(obj).__name__}, not a training checkpoint dict")
    if "model_state_dict" in obj:
        return obj, obj["model_state_dict"]
    if obj and all(isinstance(v, torch.Tensor) for v in obj.values()):
        return {}, obj  # a bare state dict
    raise WeightsError(
        f"{str(path)!r} has no 'model_state_dict' entry (top-level keys: {_few(sorted(map(str, obj)))}); "
        "expected a LipSim training checkpoint"
    )


def load_original(
    ckpt_path: str | os.PathLike[str],
    arch_config: Mapping[str, Any] | None = None,
) -> OriginalCheckpoint:
    """Read an original checkpoint file and return its tensors mapped onto ``paper-small``.

    Accepts the training-checkpoint dict (weights under ``model_state_dict``) or a bare state dict.

    Raises:
        WeightsError: unreadable file, not a checkpoint, or tensors that do not fit (see
            :func:`map_original_state_dict`).
    """
    obj, sd = _read_checkpoint(ckpt_path)
    out = map_original_state_dict(sd, arch_config, repr(str(ckpt_path)))
    for k in ("epoch", "global_step"):
        v = _json_scalar(obj.get(k)) if k in obj else None
        if v is not None:
            out.meta[k] = v
    return out


def convert_original(
    ckpt_path: str | os.PathLike[str],
    out_dir: str | os.PathLike[str],
    constant_coordinate: str = "append",
    *,
    overwrite: bool = False,
    arch_config: Mapping[str, Any] | None = None,
) -> Path:
    """Convert one of the LipSim authors' ``paper-small`` checkpoints into a lipsim pretrained directory.

    Args:
        ckpt_path: the original ``.pth`` training checkpoint.
        out_dir: directory to write ``config.json`` and ``model.safetensors`` into (created if needed).
        constant_coordinate: ``"append"`` (phi = [f; 1] / norm, 1-Lipschitz) or ``"none"`` (phi = f / ||f||;
            certificates then use the lower bound ||f(x)|| - eps on ||f|| over the ball). Which variant each
            release was trained and evaluated with is not documented; the choice is recorded in the config
            and can be overridden at load time (``LipSim(weights=..., constant_coordinate=...)``).
        overwrite: replace an existing ``config.json`` / ``model.safetensors`` in ``out_dir``.
        arch_config: ``paper-small`` options the checkpoint fits (``None``: the paper's network; tests pass
            reduced sizes).

    Returns:
        ``out_dir`` as a Path; load it with ``LipSim(weights=out_dir)`` or ``LipSim.from_pretrained(out_dir)``.

    Raises:
        WeightsError: the file is not a readable paper-small checkpoint (see :func:`load_original`).
        ValueError: bad ``constant_coordinate``, or ``out_dir`` is not a usable directory.

    Example:
        >>> convert_original("lipsim_margin0.2.pth", "lipsim-paper-small-margin0.2")  # doctest: +SKIP
        PosixPath('lipsim-paper-small-margin0.2')
    """
    from .. import __version__
    from ..model import LipSim

    if constant_coordinate not in ("append", "none"):
        raise ValueError(f"constant_coordinate must be 'append' or 'none', got {constant_coordinate!r}")
    out = Path(out_dir)
    if out.exists() and not out.is_dir():
        raise ValueError(f"output {str(out)!r} exists and is not a directory")
    existing = [n for n in (CONFIG_NAME, WEIGHTS_NAME) if (out / n).exists()]
    if existing and not overwrite:
        raise ValueError(
            f"output directory {str(out)!r} already holds {' and '.join(existing)}; choose another directory "
            "or pass overwrite=True (--overwrite)"
        )
    cfg = dict(arch_config or {})
    ckpt = load_original(ckpt_path, cfg)  # every check happens before the network is built
    source_sha = sha256_file(ckpt_path)
    model = LipSim(pretrained=False, arch=ARCH, constant_coordinate=constant_coordinate, **cfg)
    model.backbone.load_state_dict(ckpt.state_dict)  # strict: the same key set and shapes
    model.eval().requires_grad_(False)
    extra: dict[str, Any] = {
        "converted_from": SOURCE_FORMAT,
        "source_file": Path(ckpt_path).name,
        "source_sha256": source_sha,
        "source_key_prefix": ckpt.prefix,
        "converted_with": f"lipsim {__version__}",
        "license": "unknown (the LipSim authors published no licence for their code or checkpoints)",
        "constant_coordinate_choice": (
            f"{constant_coordinate!r} chosen at conversion: the authors did not document which variant each "
            "release used"
        ),
    }
    if ckpt.ignored:
        extra["source_ignored_keys"] = ckpt.ignored
    extra.update({f"source_{k}": v for k, v in ckpt.meta.items()})
    return model.save_pretrained(out, extra_config=extra)
