"""The optimisation loop shared by distillation and fine-tuning (docs/training.md, "Optimisation, resumption").

Adam, linear warm-up then cosine decay, gradient-norm clipping, a CSV log, an atomic checkpoint every
``checkpoint_every`` steps, ``resume`` from it and ``stop_after`` to split a run over invocations. The loop draws
no random numbers: each stage's step function draws its batch from generators seeded by (seed, step, ...), so a
resumed run continues bit for bit on CPU.
"""

from __future__ import annotations

import json
import time
from collections.abc import Callable, Iterable, Sequence
from dataclasses import asdict
from pathlib import Path
from typing import Any, ClassVar, Protocol

import torch

from .checkpoint import CHECKPOINT_NAME, resume_training, save_checkpoint, training_state
from .csv_log import CSVLog
from .distributed import DistContext
from .schedule import resolve_warmup, warmup_cosine

__all__ = ["LoopConfig", "StepFn", "run_training"]


class LoopConfig(Protocol):
    """The options :func:`run_training` reads (a dataclass: its fields are checkpointed)."""

    __dataclass_fields__: ClassVar[dict[str, Any]]
    steps: int
    lr: float
    betas: tuple[float, float]
    warmup_steps: int
    grad_clip: float
    checkpoint_every: int
    log_every: int
    resume: bool
    stop_after: int | None
    progress: bool


#: one optimisation step's forward and backward pass: step index -> scalar metrics, "loss" among them (the
#: loop zeroes the gradients before, clips and steps after)
StepFn = Callable[[int], dict[str, torch.Tensor]]


def _check(cfg: LoopConfig) -> None:
    for name in ("checkpoint_every", "log_every"):
        if getattr(cfg, name) < 1:
            raise ValueError(f"--{name.replace('_', '-')} must be at least 1, got {getattr(cfg, name)}")


def run_training(
    kind: str,
    cfg: LoopConfig,
    ctx: DistContext,
    out: Path,
    module: torch.nn.Module,
    params: Iterable[torch.nn.Parameter],
    step_fn: StepFn,
    log_columns: Sequence[str],
    *,
    weight_decay: float = 0.0,
    images_per_step: int = 0,
) -> bool:
    """Optimise ``params`` for ``cfg.steps`` steps of ``step_fn``; False when ``cfg.stop_after`` ended it early.

    ``module`` is what the checkpoint holds (kind ``kind``, with optimizer, scheduler, step and ``cfg``);
    ``OUT/{kind}_config.json`` records ``cfg``. ``log_columns`` of ``OUT/log.csv``: ``step``, ``lr``,
    ``elapsed_s``, ``images_per_s`` (``images_per_step`` images a step) and the metrics of ``step_fn`` (loss
    with 6 decimals, others with 4), averaged over the processes.

    Examples:
        >>> import tempfile
        >>> from dataclasses import dataclass
        >>> from lipsim.train.distributed import setup_distributed
        >>> @dataclass
        ... class Toy:
        ...     steps: int = 4
        ...     lr: float = 0.1
        ...     betas: tuple[float, float] = (0.5, 0.9)
        ...     warmup_steps: int = -1
        ...     grad_clip: float = 1.0
        ...     checkpoint_every: int = 2
        ...     log_every: int = 2
        ...     resume: bool = False
        ...     stop_after: int | None = None
        ...     progress: bool = False
        >>> w = torch.nn.Parameter(torch.ones(2))
        >>> def step(i):
        ...     loss = w.pow(2).sum()
        ...     loss.backward()
        ...     return {"loss": loss.detach()}
        >>> out = Path(tempfile.mkdtemp())
        >>> run_training("toy", Toy(), setup_distributed("cpu"), out, torch.nn.Linear(1, 1), [w], step,
        ...              ["step", "loss", "lr", "elapsed_s"])
        True
        >>> (out / "log.csv").read_text().splitlines()[0], sorted(p.name for p in out.iterdir())
        ('step,loss,lr,elapsed_s', ['checkpoint.pt', 'log.csv', 'toy_config.json'])
    """
    from tqdm.auto import tqdm  # the train extra

    _check(cfg)
    params = list(params)
    opt = torch.optim.Adam(params, lr=cfg.lr, betas=(cfg.betas[0], cfg.betas[1]), weight_decay=weight_decay)
    sched = warmup_cosine(opt, cfg.steps, resolve_warmup(cfg.warmup_steps, cfg.steps))
    start = 0
    ckpt_path = out / CHECKPOINT_NAME
    log = CSVLog(out / "log.csv", log_columns) if ctx.is_main else None
    if cfg.resume:
        start = resume_training(ckpt_path, kind, module, opt, sched)
        if log is not None:
            log.truncate_after(start)
    if ctx.is_main:
        (out / f"{kind}_config.json").write_text(json.dumps(asdict(cfg), indent=2) + "\n")

    t0 = time.perf_counter()
    bar = tqdm(
        range(start, cfg.steps), desc=kind, disable=not (cfg.progress and ctx.is_main), initial=start, total=cfg.steps
    )
    for step in bar:
        opt.zero_grad(set_to_none=True)
        metrics = step_fn(step)
        if cfg.grad_clip > 0:
            torch.nn.utils.clip_grad_norm_(params, cfg.grad_clip)
        opt.step()
        sched.step()
        done = step + 1
        if done % cfg.log_every == 0 or done == cfg.steps:
            # every process joins the mean; only the main one writes
            names = list(metrics)
            means = ctx.all_reduce_mean(torch.stack([metrics[k].detach().to(ctx.device, torch.float64) for k in names]))
            values = dict(zip(names, means.tolist()))
            if log is not None:
                elapsed = time.perf_counter() - t0
                row = {k: f"{v:.6f}" if k == "loss" else f"{v:.4f}" for k, v in values.items()}
                row.update(
                    step=done,
                    lr=f"{sched.get_last_lr()[0]:.6g}",
                    elapsed_s=f"{elapsed:.1f}",
                    images_per_s=f"{(done - start) * images_per_step / max(elapsed, 1e-9):.1f}",
                )
                log.log(**row)
                bar.set_postfix(loss=f"{values['loss']:.4f}")
        stop_now = cfg.stop_after is not None and done - start >= cfg.stop_after and done < cfg.steps
        if ctx.is_main and (done % cfg.checkpoint_every == 0 or done == cfg.steps or stop_now):
            save_checkpoint(
                ckpt_path, training_state(kind, done, module, opt, sched, json.loads(json.dumps(asdict(cfg))))
            )
        if stop_now:
            ctx.barrier()
            return False
    return True
