"""Step 2 of the LipSim recipe: hinge fine-tuning on 2AFC judgements (docs/training.md, 'Hinge fine-tuning').

logit = d(x, x0) - d(x, x1), y = 2 round(p) - 1, loss = mean(max(0, m - y logit)). Works on NIGHTS, BAPPS
and synthetic sets in the BAPPS layout. Batches are drawn by generators seeded by (seed, step), so resuming
from the atomic checkpoint continues bit for bit on CPU.
"""

from __future__ import annotations

from pathlib import Path

import torch

from ..model import LipSim
from .configs import FinetuneConfig
from .distributed import setup_distributed, wrap_ddp
from .loop import run_training
from .losses import hinge_two_afc_loss, two_afc_accuracy
from .model_dirs import load_init
from .rng import seeded_generator
from .two_afc_sets import concat, open_two_afc, sample_batch

__all__ = ["FinetuneConfig", "finetune"]


#: columns of OUT/log.csv
LOG_COLUMNS = ("step", "loss", "accuracy", "lr", "elapsed_s")


class _Metric(torch.nn.Module):
    """Wraps LipSim so DDP sees one module computing both distances of a triplet."""

    def __init__(self, model: LipSim) -> None:
        super().__init__()
        self.model = model

    def forward(self, ref: torch.Tensor, x0: torch.Tensor, x1: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        n = ref.shape[0]
        e = self.model.embed_batch(torch.cat([ref, x0, x1]), "triplets").phi
        r, a, b = e[:n], e[n : 2 * n], e[2 * n :]
        return 0.5 * (r - a).pow(2).sum(1), 0.5 * (r - b).pow(2).sum(1)


def finetune(cfg: FinetuneConfig) -> Path | None:
    """Run hinge fine-tuning from ``cfg.init``; returns ``cfg.out/model``.

    ``cfg.init`` is a save_pretrained directory, a run directory (meaning its ``model/``), a safetensors
    file or a registered name; which one was used is printed to stderr.
    """
    ctx = setup_distributed(cfg.device)
    dev = ctx.device
    out = Path(cfg.out)
    out.mkdir(parents=True, exist_ok=True)
    ctx.require_divisible("--batch-size", cfg.batch_size)
    model, earlier = load_init(cfg.init, "finetune", ctx.is_main, dev)  # provenance checked before training
    for key in ("threshold", "threshold_rates", "size_thresholds"):  # measured on --init: stale once it changes
        model.provenance.pop(key, None)
    model.requires_grad_(True)
    model.train()
    size = None if cfg.format == "bapps" else model.image_size
    data = concat(open_two_afc(cfg.data, cfg.format, cfg.split, image_size=size))
    net = wrap_ddp(_Metric(model), ctx)

    def train_step(step: int) -> dict[str, torch.Tensor]:
        g = seeded_generator("ft-batch", cfg.seed, step)
        ref, x0, x1, p = sample_batch(data, cfg.batch_size, g, ctx.rank, ctx.world_size)
        d0, d1 = net(ref.to(dev), x0.to(dev), x1.to(dev))
        p = p.to(dev)
        loss = hinge_two_afc_loss(d0, d1, p, cfg.margin)
        loss.backward()
        return {"loss": loss.detach(), "accuracy": two_afc_accuracy(d0, d1, p).detach()}

    if not run_training("finetune", cfg, ctx, out, model.backbone, model.parameters(), train_step, LOG_COLUMNS):
        return None  # stopped early on request (stop_after); continue with resume=True
    model.eval()
    model.requires_grad_(False)
    target = out / "model"
    if ctx.is_main:
        stage = {
            "stage": "finetune",
            "init": model.source,
            "data": cfg.data,
            "format": cfg.format,
            "split": cfg.split,
            "margin": cfg.margin,
            "steps": cfg.steps,
            "batch_size": cfg.batch_size,
            "lr": cfg.lr,
            "seed": cfg.seed,
        }
        model.save_pretrained(target, extra_config={"training": [*earlier, stage]})
    ctx.barrier()
    return target
