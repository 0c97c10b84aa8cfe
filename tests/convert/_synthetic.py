"""Synthetic checkpoints with the exact layout of the LipSim authors' releases.

The layout: docs/weights-format.md, 'The authors' checkpoints'.

Random tensors, the authors' key names and order: the wrapped network's own attributes first
(``convs.{0..19}``, ``linear.{1..7}``), then the same tensor objects again under ``base.1`` / ``base.2``.
"""

from __future__ import annotations

import math
from pathlib import Path
from typing import Any

import torch

# The released network: 45 channels, 20 SLL convs (inner 5), 7 SLL dense layers (inner 1024), 224x224.
FULL = dict(channels=45, conv_inner=5, depth_conv=20, depth_linear=7, linear_inner=1024, embed_dim=1792, image_size=224)
# The same 162-key layout with the real conv shapes, on 32x32 inputs: 45*2*2 = 180 dense features.
REDUCED = dict(FULL, linear_inner=64, embed_dim=100, image_size=32)

PREFIX = "module.model."


def layout(cfg: dict[str, Any]) -> list[tuple[str, tuple[int, ...]]]:
    """(name without prefix, shape) of the distinct tensors, in the authors' order."""
    c, ci, li = cfg["channels"], cfg["conv_inner"], cfg["linear_inner"]
    feats = c * (cfg["image_size"] // 16) ** 2
    out: list[tuple[str, tuple[int, ...]]] = []
    for i in range(cfg["depth_conv"]):
        out += [(f"convs.{i}.kernel", (ci, c, 3, 3)), (f"convs.{i}.bias", (1, ci, 1, 1)), (f"convs.{i}.q", (ci,))]
    for j in range(1, cfg["depth_linear"] + 1):
        out += [(f"linear.{j}.weight", (li, feats)), (f"linear.{j}.bias", (1, li)), (f"linear.{j}.q", (li,))]
    return out


def make_model_state_dict(
    cfg: dict[str, Any] = REDUCED,
    prefix: str = PREFIX,
    seed: int = 0,
    bias_std: float = 0.3,
    dtype: torch.dtype = torch.float32,
) -> dict[str, torch.Tensor]:
    """The ``model_state_dict`` of a checkpoint: 2 x 81 keys sharing 81 random tensors.

    Kernels and weights are scaled so the layers are far from the identity and many ReLUs are active;
    q is N(0, 1), so any mix-up of q's orientation changes the output.
    """
    g = torch.Generator().manual_seed(seed)
    tensors: dict[str, torch.Tensor] = {}
    for name, shape in layout(cfg):
        leaf = name.rsplit(".", 1)[1]
        t = torch.empty(shape, dtype=dtype)
        if leaf in ("kernel", "weight"):
            t.normal_(0.0, 1.0 / math.sqrt(shape[1]), generator=g)
        elif leaf == "bias":
            t.normal_(0.0, bias_std, generator=g)
        else:
            t.normal_(0.0, 1.0, generator=g)
        tensors[name] = t
    sd = {prefix + k: v for k, v in tensors.items()}
    for k, v in tensors.items():
        part, rest = k.split(".", 1)
        sd[prefix + ("base.1." if part == "convs" else "base.2.") + rest] = v
    return sd


def make_checkpoint(
    path: Path, model_state_dict: dict[str, torch.Tensor], optimizer_state: bool = False, **extra: Any
) -> Path:
    """torch.save a training checkpoint dict around ``model_state_dict`` (Adam-like optimizer state optional)."""
    n = len({id(v) for v in model_state_dict.values()})
    state = {}
    if optimizer_state:
        uniq = list({id(v): v for v in model_state_dict.values()}.values())
        state = {
            i: {"step": torch.tensor(10.0), "exp_avg": torch.zeros_like(v), "exp_avg_sq": torch.zeros_like(v)}
            for i, v in enumerate(uniq)
        }
    ckpt = {
        "epoch": 3,
        "global_step": 1234,
        "model_state_dict": model_state_dict,
        "optimizer_state_dict": {
            "state": state,
            "param_groups": [
                dict(lr=0.01, betas=(0.5, 0.9), eps=1e-8, weight_decay=0.0, amsgrad=False, params=list(range(n)))
            ],
        },
        "scheduler": {"last_epoch": 1234, "base_lrs": [0.01], "_step_count": 1235},
        **extra,
    }
    torch.save(ckpt, path)
    return path


def strip(sd: dict[str, torch.Tensor], prefix: str = PREFIX) -> dict[str, torch.Tensor]:
    """The network's own tensors (convs.*, linear.*) without prefix and without the base.* copies."""
    return {k[len(prefix) :]: v for k, v in sd.items() if not k[len(prefix) :].startswith("base.")}
