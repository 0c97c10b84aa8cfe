"""Evaluation on 2AFC sets: natural, certified and attacked scores for LipSim and reference metrics."""

from __future__ import annotations

import json
import sys
import time
from collections.abc import Callable
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any, Literal

import torch
from tqdm.auto import tqdm

from ..model import LipSim
from .attacks import pgd_two_afc
from .model_dirs import resolve_model_dir
from .plots import plot_certified_curve
from .scores import CERTIFIED_EPS, certified_curve, certified_score, per_triplet_score
from .two_afc_sets import iter_batches, open_two_afc

__all__ = ["EvalConfig", "evaluate", "score_lipsim", "score_metric"]


@dataclass
class EvalConfig:
    """Options of :func:`evaluate` (the CLI flags of ``lipsim-train eval``)."""

    data: str
    format: str
    weights: str
    out: str
    split: str | None = None
    batch_size: int = 32
    references: list[str] = field(default_factory=list)
    l2_eps: float = 2.0
    linf_eps: float = 4 / 255
    attack_steps: int = 20
    attack_max_triplets: int | None = None  # attack only the first N triplets of each subset (cost control)
    curve_max_eps: float = 1.0
    curve_points: int = 101
    retrieval_images: str | None = None
    retrieval_n: int = 200
    max_triplets: int | None = None
    device: str | None = None
    progress: bool = True


def _subset(ds, limit: int | None):
    if limit is None or limit >= len(ds):
        return ds
    return torch.utils.data.Subset(ds, range(limit))


def _attacked_score(
    dist: Callable, ref, x0, x1, p, eps: float, norm: Literal["l2", "linf"], steps: int
) -> torch.Tensor:
    adv = pgd_two_afc(dist, ref, x0, x1, eps, norm=norm, steps=steps)
    with torch.no_grad():
        return per_triplet_score(dist(adv, x0), dist(adv, x1), p)


def score_lipsim(model: LipSim, ds, cfg: EvalConfig) -> dict[str, Any]:
    """Per-subset LipSim results: natural, certified (fixed eps and curve) and PGD-attacked scores."""
    d0s: list[torch.Tensor] = []
    d1s: list[torch.Tensor] = []
    ps: list[torch.Tensor] = []
    rs: list[torch.Tensor] = []
    l2s: list[torch.Tensor] = []
    lis: list[torch.Tensor] = []
    dev = next(model.parameters()).device
    seen = 0
    for ref, x0, x1, p in iter_batches(ds, cfg.batch_size):
        ref, x0, x1 = ref.to(dev), x0.to(dev), x1.to(dev)
        r = model.two_afc(ref, x0, x1)
        d0s.append(r.d0.cpu())
        d1s.append(r.d1.cpu())
        ps.append(p)
        rs.append(r.radius.cpu())
        _attack_batch(model, ref, x0, x1, p.to(dev), cfg, seen, l2s, lis)
        seen += ref.shape[0]
    return _summarise(d0s, d1s, ps, rs, l2s, lis, cfg)


def _attack_batch(dist: Callable, ref, x0, x1, p, cfg: EvalConfig, seen: int, l2s: list, lis: list) -> None:
    """Attacked per-triplet scores of this batch (within ``attack_max_triplets``), appended to l2s / lis."""
    room = len(p) if cfg.attack_max_triplets is None else max(0, min(len(p), cfg.attack_max_triplets - seen))
    if cfg.attack_steps <= 0 or room == 0:
        return
    ref, x0, x1, p = ref[:room], x0[:room], x1[:room], p[:room]
    if cfg.l2_eps > 0:
        l2s.append(_attacked_score(dist, ref, x0, x1, p, cfg.l2_eps, "l2", cfg.attack_steps).cpu())
    if cfg.linf_eps > 0:
        lis.append(_attacked_score(dist, ref, x0, x1, p, cfg.linf_eps, "linf", cfg.attack_steps).cpu())


def score_metric(metric: Callable, ds, cfg: EvalConfig, device: torch.device) -> dict[str, Any]:
    """Per-subset results of a reference metric (no certificate): natural and PGD-attacked scores."""
    d0s: list[torch.Tensor] = []
    d1s: list[torch.Tensor] = []
    ps: list[torch.Tensor] = []
    l2s: list[torch.Tensor] = []
    lis: list[torch.Tensor] = []
    seen = 0
    for ref, x0, x1, p in iter_batches(ds, cfg.batch_size):
        ref, x0, x1 = ref.to(device), x0.to(device), x1.to(device)
        with torch.no_grad():
            d0s.append(metric(ref, x0).cpu())
            d1s.append(metric(ref, x1).cpu())
        ps.append(p)
        _attack_batch(metric, ref, x0, x1, p.to(device), cfg, seen, l2s, lis)
        seen += ref.shape[0]
    return _summarise(d0s, d1s, ps, None, l2s, lis, cfg)


def _summarise(d0s, d1s, ps, rs, l2s, lis, cfg: EvalConfig) -> dict[str, Any]:
    d0, d1, p = torch.cat(d0s), torch.cat(d1s), torch.cat(ps)
    res: dict[str, Any] = {"n": int(p.numel()), "natural": float(per_triplet_score(d0, d1, p).mean())}
    if l2s:
        res[f"pgd_l2_{cfg.l2_eps:g}"] = float(torch.cat(l2s).mean())
        res["n_attacked"] = int(torch.cat(l2s).numel())
    if lis:
        res[f"pgd_linf_{cfg.linf_eps * 255:g}/255"] = float(torch.cat(lis).mean())
        res.setdefault("n_attacked", int(torch.cat(lis).numel()))
    if rs is not None:
        r = torch.cat(rs)
        res["certified"] = {f"{e * 255:.0f}/255": certified_score(d0, d1, p, r, e) for e in CERTIFIED_EPS}
        grid = torch.linspace(0, cfg.curve_max_eps, cfg.curve_points)
        res["certified_curve"] = certified_curve(d0, d1, p, r, grid)
        res["median_radius"] = float(r.median())
    return res


def _weighted_total(subsets: dict[str, dict[str, Any]]) -> dict[str, Any]:
    total_n = sum(s["n"] for s in subsets.values())
    out: dict[str, Any] = {"n": total_n}
    attacked = sum(s.get("n_attacked", 0) for s in subsets.values())
    if attacked:  # attacked scores are weighted by the attacked counts
        out["n_attacked"] = attacked
        for key in [k for k in next(iter(subsets.values())) if k.startswith("pgd_")]:
            out[key] = sum(s[key] * s["n_attacked"] for s in subsets.values()) / attacked
    first = next(iter(subsets.values()))
    for key, val in first.items():
        if key in ("n", "median_radius"):
            continue
        if key.startswith("pgd_") or key == "n_attacked":
            continue
        if isinstance(val, float):
            out[key] = sum(s[key] * s["n"] for s in subsets.values()) / total_n
        elif isinstance(val, dict):
            out[key] = {k: sum(s[key][k] * s["n"] for s in subsets.values()) / total_n for k in val}
        elif isinstance(val, list):
            out[key] = [sum(s[key][i] * s["n"] for s in subsets.values()) / total_n for i in range(len(val))]
    return out


def evaluate(cfg: EvalConfig) -> dict[str, Any]:
    """Score LipSim (and the chosen reference metrics) on every subset; write JSON and the PNG plot.

    ``cfg.weights`` may be a run directory (meaning its ``model/``); which weights were used is printed to
    stderr and stored as ``weights_used``.
    """
    from .distributed import pick_device

    dev = pick_device(cfg.device)
    weights, note = resolve_model_dir(cfg.weights, "--weights")
    print(f"eval: {note}", file=sys.stderr)
    model = LipSim(pretrained=True, weights=weights, device=dev)
    size = None if cfg.format == "bapps" else model.image_size
    subsets = {k: _subset(v, cfg.max_triplets) for k, v in open_two_afc(cfg.data, cfg.format, cfg.split, size).items()}
    t0 = time.perf_counter()
    progress = tqdm(subsets.items(), desc="LipSim", disable=not cfg.progress)
    lip = {name: score_lipsim(model, ds, cfg) for name, ds in progress}
    results: dict[str, Any] = {
        "data": cfg.data,
        "format": cfg.format,
        "split": cfg.split,
        "weights": cfg.weights,
        "weights_used": model.source,
        "config": asdict(cfg),
        "lipsim": {
            "subsets": lip,
            "total": _weighted_total(lip),
            "seconds": round(time.perf_counter() - t0, 1),
            "curve_eps": torch.linspace(0, cfg.curve_max_eps, cfg.curve_points).tolist(),
        },
        "references": {},
    }
    if cfg.references:
        from .reference import get_reference_metric

        for name in cfg.references:
            metric = get_reference_metric(name).to(dev)
            progress = tqdm(subsets.items(), desc=name, disable=not cfg.progress)
            subs = {k: score_metric(metric, ds, cfg, dev) for k, ds in progress}
            results["references"][name] = {"subsets": subs, "total": _weighted_total(subs)}
    if cfg.retrieval_images:
        from .retrieval import retrieval_scores

        results["retrieval"] = retrieval_scores(model, cfg.retrieval_images, n=cfg.retrieval_n)
    out = Path(cfg.out)
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(json.dumps(results, indent=2, default=str) + "\n")
    plot_certified_curve(results, out.with_suffix(".png"))
    return results
