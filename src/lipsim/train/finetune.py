"""Step 2 of the LipSim recipe: hinge fine-tuning on 2AFC judgements (docs/training.md, 'Hinge fine-tuning').

logit = d(x, x0) - d(x, x1), y = 2 round(p) - 1, loss = mean(max(0, m - y logit)). Works on NIGHTS, BAPPS
and synthetic sets in the BAPPS layout. Batches are drawn by generators seeded by (seed, step), so resuming
from the atomic checkpoint continues bit for bit on CPU.
"""

from __future__ import annotations

import json
import sys
import time
from dataclasses import asdict, dataclass
from pathlib import Path

import torch
from torch.nn.parallel import DistributedDataParallel as DDP
from tqdm.auto import tqdm

from ..model import LipSim
from .checkpoint import CHECKPOINT_NAME, resume_training, save_checkpoint, training_state
from .csv_log import CSVLog
from .data.image_folder import seeded_generator
from .distributed import setup_distributed
from .losses import hinge_2afc_loss
from .model_dirs import resolve_model_dir
from .provenance import append_stage, training_stages
from .schedule import warmup_cosine
from .twoafc_sets import concat, open_2afc, stack_items

__all__ = ["FinetuneConfig", "finetune"]


@dataclass
class FinetuneConfig:
    """Options of :func:`finetune` (the CLI flags of ``lipsim-train finetune``)."""

    data: str
    format: str
    init: str
    out: str
    split: str = "train"
    steps: int = 500
    batch_size: int = 32
    margin: float = 0.2
    lr: float = 1e-3
    betas: tuple[float, float] = (0.5, 0.9)
    warmup_steps: int = -1
    grad_clip: float = 1.0
    seed: int = 0
    checkpoint_every: int = 100
    log_every: int = 10
    device: str | None = None
    resume: bool = False
    stop_after: int | None = None  # end this invocation after N steps (checkpoint kept): split long runs
    progress: bool = True


class _Metric(torch.nn.Module):
    """Wraps LipSim so DDP sees one module computing both distances of a triplet."""

    def __init__(self, model: LipSim) -> None:
        super().__init__()
        self.model = model

    def forward(self, ref: torch.Tensor, x0: torch.Tensor, x1: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        n = ref.shape[0]
        e = self.model.embeddings(torch.cat([ref, x0, x1]), "triplets").phi
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
    if cfg.batch_size % ctx.world_size:
        raise ValueError(f"--batch-size {cfg.batch_size} must be divisible by the {ctx.world_size} processes")
    init, note = resolve_model_dir(cfg.init, "--init")
    if ctx.is_main:
        print(f"finetune: {note}", file=sys.stderr)
    model = LipSim.from_pretrained(init, device=dev)
    try:  # checked before training: the stages of --init are what this run's provenance extends
        training_stages(model.provenance.get("training"))
    except ValueError as e:
        raise ValueError(f"--init {cfg.init}: {e}") from None
    model.requires_grad_(True)
    model.train()
    size = None if cfg.format == "bapps" else model.image_size
    data = concat(open_2afc(cfg.data, cfg.format, cfg.split, image_size=size))
    n = len(data)  # type: ignore[arg-type]
    metric = _Metric(model)
    net = DDP(metric, device_ids=[dev.index] if dev.type == "cuda" else None) if ctx.world_size > 1 else metric
    beta1, beta2 = cfg.betas
    opt = torch.optim.Adam(model.parameters(), lr=cfg.lr, betas=(beta1, beta2))
    sched = warmup_cosine(opt, cfg.steps, cfg.warmup_steps if cfg.warmup_steps >= 0 else max(1, cfg.steps // 20))
    start = 0
    ckpt_path = out / CHECKPOINT_NAME
    log = CSVLog(out / "log.csv", ["step", "loss", "accuracy", "lr", "elapsed_s"]) if ctx.is_main else None
    if cfg.resume:
        start = resume_training(ckpt_path, "finetune", model.backbone, opt, sched)
        if log is not None:
            log.truncate_after(start)
    if ctx.is_main:
        (out / "finetune_config.json").write_text(json.dumps(asdict(cfg), indent=2) + "\n")
    t0 = time.perf_counter()
    bar = tqdm(range(start, cfg.steps), desc="finetune", disable=not (cfg.progress and ctx.is_main),
               initial=start, total=cfg.steps)
    for step in bar:
        idx = torch.randint(n, (cfg.batch_size,), generator=seeded_generator("ft-batch", cfg.seed, step))
        ref, x0, x1, p = stack_items([data[int(i)] for i in idx[ctx.rank :: ctx.world_size]])
        d0, d1 = net(ref.to(dev), x0.to(dev), x1.to(dev))
        p = p.to(dev)
        loss = hinge_2afc_loss(d0, d1, p, cfg.margin)
        opt.zero_grad(set_to_none=True)
        loss.backward()
        if cfg.grad_clip > 0:
            torch.nn.utils.clip_grad_norm_(model.parameters(), cfg.grad_clip)
        opt.step()
        sched.step()
        done = step + 1
        if log is not None and (done % cfg.log_every == 0 or done == cfg.steps):
            acc = float(((d0 < d1).float() * (1 - p) + (d1 < d0).float() * p).mean())
            log.log(step=done, loss=f"{float(ctx.all_reduce_mean(loss.detach())):.6f}", accuracy=f"{acc:.4f}",
                    lr=f"{sched.get_last_lr()[0]:.6g}", elapsed_s=f"{time.perf_counter() - t0:.1f}")
            bar.set_postfix(loss=f"{float(loss.detach()):.4f}")
        stop_now = cfg.stop_after is not None and done - start >= cfg.stop_after and done < cfg.steps
        if ctx.is_main and (done % cfg.checkpoint_every == 0 or done == cfg.steps or stop_now):
            save_checkpoint(ckpt_path, training_state("finetune", done, model.backbone, opt, sched,
                                                      json.loads(json.dumps(asdict(cfg)))))
        if stop_now:
            ctx.barrier()
            return None  # stopped early on request; continue with resume=True
    model.eval()
    model.requires_grad_(False)
    target = out / "model"
    if ctx.is_main:
        stage = {"stage": "finetune", "init": model.source, "data": cfg.data, "format": cfg.format,
                 "split": cfg.split, "margin": cfg.margin, "steps": cfg.steps, "batch_size": cfg.batch_size,
                 "lr": cfg.lr, "seed": cfg.seed}
        model.save_pretrained(target, extra_config={"training": append_stage(model.provenance.get("training"), stage)})
    ctx.barrier()
    return target
