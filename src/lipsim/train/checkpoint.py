"""Atomic training checkpoints (written to a temporary file, then renamed) and resumption."""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

import torch

__all__ = ["save_checkpoint", "load_checkpoint", "resume_training", "training_state", "CHECKPOINT_NAME"]

CHECKPOINT_NAME = "checkpoint.pt"


def save_checkpoint(path: str | os.PathLike[str], state: dict[str, Any]) -> Path:
    """Write ``state`` so that ``path`` always holds either the previous or the new complete checkpoint."""
    p = Path(path)
    p.parent.mkdir(parents=True, exist_ok=True)
    tmp = p.with_name(p.name + ".tmp")
    with open(tmp, "wb") as f:
        torch.save(state, f)
        f.flush()
        os.fsync(f.fileno())
    os.replace(tmp, p)
    return p


def load_checkpoint(path: str | os.PathLike[str]) -> dict[str, Any]:
    """Load a checkpoint written by :func:`save_checkpoint` (``torch.load(weights_only=True)``)."""
    p = Path(path)
    if not p.is_file():
        raise FileNotFoundError(f"no checkpoint to resume from at {str(p)!r}")
    try:
        return torch.load(p, map_location="cpu", weights_only=True)
    except Exception as e:
        raise ValueError(f"checkpoint {str(p)!r} is unreadable or not a lipsim training checkpoint: {e}") from None


def training_state(kind: str, step: int, model: Any, optimizer: Any, scheduler: Any, config: Any) -> dict[str, Any]:
    """The dict a training loop checkpoints: everything needed to continue bit for bit (data is seeded by step)."""
    return {
        "kind": kind,
        "step": step,
        "model": model.state_dict(),
        "optimizer": optimizer.state_dict(),
        "scheduler": scheduler.state_dict(),
        "config": config,
    }


def resume_training(path: str | os.PathLike[str], kind: str, model: Any, optimizer: Any, scheduler: Any) -> int:
    """Restore model, optimizer and scheduler from a ``kind`` checkpoint; returns the step to continue from."""
    state = load_checkpoint(path)
    if state.get("kind") != kind:
        raise ValueError(f"{path} is a {state.get('kind')!r} checkpoint, not a {kind!r} one")
    model.load_state_dict(state["model"])
    optimizer.load_state_dict(state["optimizer"])
    scheduler.load_state_dict(state["scheduler"])
    return int(state["step"])
