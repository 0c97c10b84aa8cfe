"""Single-process / torchrun (DistributedDataParallel) setup: the same command on CPU, one GPU or N GPUs."""

from __future__ import annotations

import os
from dataclasses import dataclass

import torch
import torch.distributed as dist
from torch.nn.parallel import DistributedDataParallel

__all__ = ["DistContext", "setup_distributed", "pick_device", "wrap_ddp"]


@dataclass
class DistContext:
    rank: int
    world_size: int
    local_rank: int
    device: torch.device

    @property
    def is_main(self) -> bool:
        return self.rank == 0

    def barrier(self) -> None:
        if self.world_size > 1:
            dist.barrier()

    def require_divisible(self, what: str, size: int) -> None:
        """Refuse a global batch ``size`` (named ``what``, e.g. ``--batch-size``) the processes cannot share evenly."""
        if size % self.world_size:
            raise ValueError(f"{what} {size} must be divisible by the {self.world_size} processes")

    def all_reduce_mean(self, x: torch.Tensor) -> torch.Tensor:
        if self.world_size > 1:
            x = x.clone()
            dist.all_reduce(x)
            x /= self.world_size
        return x


def pick_device(device: str | None, local_rank: int = 0) -> torch.device:
    """``None``/"auto" -> cuda:local_rank when available, else cpu; otherwise the given device."""
    if device in (None, "auto"):
        return torch.device(f"cuda:{local_rank}") if torch.cuda.is_available() else torch.device("cpu")
    d = torch.device(device)
    if d.type == "cuda" and not torch.cuda.is_available():
        raise ValueError(f"device {device!r} requested but CUDA is not available")
    return d


def setup_distributed(device: str | None = None) -> DistContext:
    """Initialise the process group when launched by torchrun (WORLD_SIZE > 1); a no-op otherwise."""
    world = int(os.environ.get("WORLD_SIZE", "1"))
    rank = int(os.environ.get("RANK", "0"))
    local = int(os.environ.get("LOCAL_RANK", "0"))
    dev = pick_device(device, local)
    if world > 1 and not dist.is_initialized():
        if dev.type == "cuda":
            torch.cuda.set_device(dev)
        dist.init_process_group(backend="nccl" if dev.type == "cuda" else "gloo")
    return DistContext(rank, world, local, dev)


def wrap_ddp(module: torch.nn.Module, ctx: DistContext) -> torch.nn.Module:
    """``module`` under DistributedDataParallel when several processes train; ``module`` itself otherwise."""
    if ctx.world_size == 1:
        return module
    return DistributedDataParallel(module, device_ids=[ctx.device.index] if ctx.device.type == "cuda" else None)
