"""Teacher embeddings of a fixed crop pool, computed once and cached on disk (keyed by pool and teacher)."""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

import torch
from tqdm.auto import tqdm

__all__ = ["cached_teacher_embeddings"]


@torch.no_grad()
def cached_teacher_embeddings(
    teacher: torch.nn.Module,
    images: torch.Tensor,
    key: str,
    cache_dir: str | os.PathLike[str],
    batch_size: int = 32,
    device: torch.device | str = "cpu",
    progress: bool = True,
) -> torch.Tensor:
    """(N, k) unit-norm teacher embeddings of uint8 ``images`` (N, 3, S, S), loaded from cache when present.

    ``key`` must identify both the pool (e.g. its fingerprint) and the teacher (name + options).
    """
    path = Path(cache_dir) / f"teacher_{key}.pt"
    if path.is_file():
        cached: dict[str, Any] = torch.load(path, map_location="cpu", weights_only=True)
        emb = cached.get("embeddings")
        if isinstance(emb, torch.Tensor) and emb.shape[0] == images.shape[0] and cached.get("key") == key:
            return emb
    teacher = teacher.to(device)
    out = []
    for i in tqdm(range(0, images.shape[0], batch_size), desc="teacher embeddings", disable=not progress):
        x = images[i : i + batch_size].to(device).float().div_(255.0)
        out.append(teacher(x).float().cpu())
    emb = torch.cat(out)
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(path.name + ".tmp")
    torch.save({"key": key, "embeddings": emb}, tmp)
    os.replace(tmp, path)
    return emb
