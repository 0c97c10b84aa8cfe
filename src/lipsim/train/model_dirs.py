"""Resolve ``--init`` / ``--weights``: a run directory ``RUN`` stands for its finished model ``RUN/model``.

:func:`load_init` loads what ``--init`` names for a training stage that continues it (distill, finetune).
"""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Any

import torch

from ..model import LipSim
from ..pretrained.resolve import CONFIG_NAME
from .provenance import training_stages

__all__ = ["resolve_model_dir", "load_init", "RUN_MODEL_DIR"]

RUN_MODEL_DIR = "model"  # where distill and finetune write the finished model inside --out
_CHECKPOINT = "checkpoint.pt"


def resolve_model_dir(value: str, flag: str) -> tuple[str, str]:
    """The weights ``value`` names, and a one-line note saying which was used.

    A ``save_pretrained`` directory (holding ``config.json``) is used as is; a run directory (the ``--out``
    of ``lipsim-train distill`` or ``finetune``, holding ``model/config.json``) means its ``model``
    folder. Anything that is not a directory (a safetensors file, a registered name, a Hub repo id) is
    passed on unchanged for the weights loader to resolve.

    Args:
        value: What the user gave.
        flag: The option's name, for messages (e.g. ``"--init"``).

    Returns:
        ``(path, note)``: the path or name to load, and e.g. ``"--init RUN: using RUN/model (the run's model)"``.

    Raises:
        ValueError: ``value`` is a directory that is neither a model directory nor a finished run.

    Example:
        >>> import tempfile, lipsim
        >>> run = tempfile.mkdtemp()
        >>> model = lipsim.LipSim(pretrained=False, widths=(8, 16), head_width=16, embed_dim=8)
        >>> _ = model.save_pretrained(run + "/model")
        >>> path, note = resolve_model_dir(run, "--init")
        >>> path == run + "/model"
        True
    """
    p = Path(value)
    if not p.is_dir():
        return value, f"{flag} {value}"
    if (p / CONFIG_NAME).is_file():
        return value, f"{flag} {value}: using model directory {value}"
    model = p / RUN_MODEL_DIR
    if (model / CONFIG_NAME).is_file():
        return str(model), f"{flag} {value}: using {model} (the model of run directory {value})"
    if (p / _CHECKPOINT).is_file():
        raise ValueError(
            f"{flag} {value!r} is a run directory without a finished model ({str(model)!r} is missing, only "
            f"{_CHECKPOINT} is there): finish the run with its command plus --resume, then pass {flag} {value}"
        )
    raise ValueError(
        f"{flag} {value!r} is neither a model directory (config.json + model.safetensors) nor a run directory "
        f"holding {RUN_MODEL_DIR}/config.json (the --out of lipsim-train distill or finetune)"
    )


def load_init(
    value: str, command: str, verbose: bool, device: str | torch.device | None = None
) -> tuple[LipSim, list[dict[str, Any]]]:
    """The model ``--init value`` names and its training stages, which the new stage's provenance extends.

    ``verbose``: print which weights were used (``"{command}: --init ..."``) to stderr.

    Raises:
        ValueError: as :func:`resolve_model_dir`, or the model's training provenance is unreadable.
    """
    path, note = resolve_model_dir(value, "--init")
    if verbose:
        print(f"{command}: {note}", file=sys.stderr)
    model = LipSim.from_pretrained(path, device=device)
    try:
        return model, training_stages(model.provenance.get("training"))
    except ValueError as e:
        raise ValueError(f"--init {value}: {e}") from None
