"""Step 1 of the LipSim recipe: distil a teacher embedding into a 1-Lipschitz student (docs/training.md).

Data: fixed, seeded pools of multi-scale crops (view A, flip included) whose teacher embeddings t(A) are
computed once and cached (memory-mapped float16); each step samples a batch from every pool and makes
view B (colour jitter + grayscale) on the fly. A share ``distort_share`` of each pool's crops carries a
fixed random distortion (noise, blur, JPEG, ...; the severity families of ``data.distortions``) that the
teacher sees too, so the student learns how the teacher responds to artefacts. Extra pools
(``extra_pools``) add crops of other sizes or sources, for example native-scale crops of larger photos
for a student that runs at the caller's resolution. Every random draw comes from generators seeded by
(seed, step, item), so a run resumed from a checkpoint continues bit for bit (on CPU) as if it had never stopped.
Loss: 0.5 * [RMSE(f(A), t(A)) + RMSE(f(B), t(A))]; optimisation, checkpoints and resumption: ``loop``.
With ``two_afc`` a batch of 2AFC triplets adds ``hinge_weight`` times the hinge loss of ``finetune`` each step, so
the student learns the triplets' judgements while it keeps regressing the teacher (docs/training.md).
With ``target_dims`` the student regresses the teacher embedding's coordinates in its top principal subspace
(``target_basis``) instead of the whole embedding.
"""

from __future__ import annotations

import hashlib
import json
import os
from pathlib import Path
from typing import Any

import numpy as np
import torch

from ..model import LipSim
from .configs import DistillConfig
from .data.crops import FixedCropPool, pixels_fingerprint
from .data.distortions import FAMILIES, distort
from .data.views import jitter_views
from .distributed import setup_distributed, wrap_ddp
from .loop import run_training
from .losses import distillation_loss, hinge_two_afc_loss, two_afc_accuracy
from .model_dirs import load_init
from .rng import seeded_generator
from .target_basis import cached_principal_basis, load_basis
from .teacher_cache import cached_teacher_embeddings
from .two_afc_sets import concat, open_two_afc, sample_batch

__all__ = ["DistillConfig", "distill"]


#: columns of OUT/log.csv (with --two-afc also HINGE_COLUMNS: the two terms of the loss and the triplets' accuracy)
LOG_COLUMNS = ("step", "loss", "lr", "images_per_s", "elapsed_s")
HINGE_COLUMNS = ("distill", "hinge", "accuracy")

_POOL_KEYS = {"images", "pool_size", "image_size", "batch_size", "crop_scale", "side_px", "distort_share"}


def _pool_specs(cfg: DistillConfig) -> list[dict[str, Any]]:
    """The main pool and every extra pool as complete specs (missing keys from ``cfg``)."""
    base = {
        "images": cfg.images,
        "pool_size": cfg.pool_size,
        "image_size": cfg.image_size,
        "batch_size": cfg.batch_size,
        "crop_scale": tuple(cfg.crop_scale),
        "side_px": cfg.side_px,
        "distort_share": cfg.distort_share,
    }
    specs = [base]
    for i, extra in enumerate(cfg.extra_pools):
        unknown = set(extra) - _POOL_KEYS
        if unknown or "images" not in extra:
            raise ValueError(f"extra pool {i}: needs 'images' and only keys {sorted(_POOL_KEYS)}, got {sorted(extra)}")
        specs.append({**base, **extra})
    return specs


def distort_pool(images: torch.Tensor, share: float, seed: int) -> None:
    """Give a ``share`` of the uint8 crops a fixed random distortion in place (family and strength seeded)."""
    if share <= 0:
        return
    for i in range(images.shape[0]):
        g = seeded_generator("distort", seed, i)
        u = torch.rand(2, generator=g, dtype=torch.float64).tolist()
        if u[0] >= share:
            continue
        family = FAMILIES[int(torch.randint(len(FAMILIES), (1,), generator=g))]
        x = distort(images[i].float().div(255.0), family, 0.05 + 0.75 * u[1], g)
        images[i] = x.clamp(0, 1).mul(255.0).round().to(torch.uint8)


def _cached_pool(spec: dict[str, Any], seed: int, out: Path) -> torch.Tensor:
    """The pool's uint8 crops (distortions applied), built once and kept in ``out`` as a .npy file.

    The file name hashes the pool options and the list of source files, so a changed folder builds anew.
    """
    from .data.image_files import list_images

    files = [str(f) for f in list_images(spec["images"])]
    desc = json.dumps(
        {**{k: v for k, v in spec.items() if k != "batch_size"}, "seed": seed, "files": files},
        sort_keys=True,
        default=list,
    )
    path = out / f"pool_{hashlib.sha256(desc.encode()).hexdigest()[:16]}.npy"
    if path.is_file():
        return torch.from_numpy(np.load(path, mmap_mode="c"))
    pool = FixedCropPool(
        spec["images"],
        n=spec["pool_size"],
        size=spec["image_size"],
        seed=seed,
        scale=tuple(spec["crop_scale"]),
        side_px=spec["side_px"],
    )
    distort_pool(pool.images, spec["distort_share"], seed)
    out.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(path.name + ".tmp.npy")
    np.save(tmp, pool.images.numpy())
    os.replace(tmp, path)
    return pool.images


def _load_init(model: LipSim, init: str, verbose: bool) -> list[dict[str, Any]]:
    """Copy the weights of ``init`` into ``model``; returns ``init``'s training stages.

    The architectures must match, except that a global-pool ``efficient`` network may start a ``grid`` one: its
    first head layer is widened by :func:`~lipsim.archs.efficient.head_for_grid` (docs/training.md, 'A grid
    stage'), so the new stage starts from the earlier network's function.
    """
    start, stages = load_init(init, "distill", verbose)
    mine, theirs = dict(model.backbone.config), dict(start.backbone.config)
    grid = int(mine.pop("grid", 1))
    widen = start.arch == model.arch == "efficient" and int(theirs.pop("grid", 1)) == 1 and grid > 1
    if start.arch != model.arch or (mine != theirs if widen else start.backbone.config != model.backbone.config):
        raise ValueError(
            f"--init {init}: its architecture {start.arch} {start.backbone.config} differs from this "
            f"run's {model.arch} {model.backbone.config}; pass matching --arch and --arch-config"
        )
    state = start.state_dict()
    if widen:
        from ..archs.efficient import head_for_grid

        first = model.backbone.head[0]  # type: ignore[index]  # an efficient backbone (checked above)
        if getattr(first, "rescale", "in") != "in":
            raise ValueError(
                f"--init {init}: widening to grid={grid} makes the first head layer narrowing (AOL rescales outputs), "
                "so it would not start from the earlier network; use a head_width of at least grid*grid times the "
                "last stage's width"
            )
        key = "backbone.head.0.weight"
        state[key] = head_for_grid(state[key], grid)
    model.load_state_dict(state)
    model.backbone.invalidate_cache()
    return stages


def _student_inputs(
    pool: torch.Tensor, cfg: DistillConfig, step: int, rank: int, world: int, p: int = 0, batch_size: int | None = None
):
    """Indices and the two views of this rank's share of pool ``p``'s global batch at ``step`` (pure function)."""
    tag = () if p == 0 else (p,)  # pool 0 keeps the streams of single-pool runs
    g = seeded_generator("batch", cfg.seed, step, *tag)
    idx = torch.randint(pool.shape[0], (batch_size or cfg.batch_size,), generator=g)
    mine = idx[rank::world]
    a = pool[mine].float().div_(255.0)
    b = jitter_views(a, [seeded_generator("viewB", cfg.seed, step, *tag, int(k)) for k in mine])
    return mine, a, b


def distill(cfg: DistillConfig) -> Path | None:
    """Run distillation; returns the save_pretrained directory ``cfg.out/model``."""
    from .teachers import DEFAULT_TEACHER, DEFAULT_TEACHER_KWARGS, get_teacher

    ctx = setup_distributed(cfg.device)
    dev = ctx.device
    out = Path(cfg.out)
    out.mkdir(parents=True, exist_ok=True)
    teacher_name = cfg.teacher or DEFAULT_TEACHER
    teacher_kwargs = dict(cfg.teacher_kwargs) or (DEFAULT_TEACHER_KWARGS if teacher_name == DEFAULT_TEACHER else {})
    amp = (dev.type == "cuda") if cfg.amp is None else cfg.amp
    channels_last = (dev.type == "cuda") if cfg.channels_last is None else cfg.channels_last
    specs = _pool_specs(cfg)
    for spec in specs:
        ctx.require_divisible("batch size", spec["batch_size"])

    teacher_id = hashlib.sha256(json.dumps([teacher_name, teacher_kwargs], sort_keys=True).encode()).hexdigest()
    pools, targets, keys = [], [], []
    teacher = get_teacher(teacher_name, **teacher_kwargs) if ctx.is_main else None
    for p, spec in enumerate(specs):
        images = _cached_pool(spec, cfg.seed + p, out)
        key = f"{pixels_fingerprint(images)[:16]}-{teacher_name}-{teacher_id[:12]}"
        if ctx.is_main:
            targets.append(
                cached_teacher_embeddings(teacher, images, key, out, cfg.teacher_batch_size, dev, cfg.progress)
            )
        pools.append(images)
        keys.append(key)
    del teacher
    ctx.barrier()
    if not ctx.is_main:
        targets = [
            cached_teacher_embeddings(None, images, key, out, progress=False) for images, key in zip(pools, keys)
        ]
    embed_dim = targets[0].shape[1]
    basis, kept = None, 1.0
    if cfg.target_basis and not cfg.target_dims:
        raise ValueError("--target-basis needs --target-dims (the number of its columns)")
    if cfg.target_dims:
        if cfg.target_basis:
            basis, kept = load_basis(cfg.target_basis, embed_dim, cfg.target_dims)
        else:
            basis, kept = cached_principal_basis(targets[0], cfg.target_dims, out, keys[0])
        basis, embed_dim = basis.to(dev), cfg.target_dims

    arch_config = {"embed_dim": embed_dim, "image_size": cfg.image_size, **cfg.arch_config}
    torch.manual_seed(cfg.seed)
    model = LipSim(pretrained=False, arch=cfg.arch, **arch_config).to(dev)
    earlier: list[dict[str, Any]] = []
    if cfg.init:
        earlier = _load_init(model, cfg.init, ctx.is_main)
    if channels_last:
        model = model.to(memory_format=torch.channels_last)
    model.train()
    student = model.backbone
    net = wrap_ddp(student, ctx)
    total = sum(spec["batch_size"] for spec in specs)
    triplets = None
    if cfg.two_afc:
        ctx.require_divisible("--two-afc-batch-size", cfg.two_afc_batch_size)
        triplets = concat(open_two_afc(cfg.two_afc, "bapps", cfg.two_afc_split))

    def hinge_step(step: int) -> tuple[torch.Tensor, torch.Tensor]:
        """The weighted hinge term of this step's triplets (backward done); returns it and the accuracy."""
        assert triplets is not None
        g = seeded_generator("hinge-batch", cfg.seed, step)
        ref, x0, x1, p = sample_batch(triplets, cfg.two_afc_batch_size, g, ctx.rank, ctx.world_size)
        k = ref.shape[0]
        prepared = model.prepare(torch.cat([ref, x0, x1]), "triplets")
        with torch.autocast(dev.type, dtype=torch.bfloat16, enabled=amp):
            f = net(prepared.pixels)
        phi = model.unit_embedding(f.float())
        r, a, b = phi[:k], phi[k : 2 * k], phi[2 * k :]
        d0, d1 = 1 - (r * a).sum(1), 1 - (r * b).sum(1)
        p = p.to(dev)
        part = cfg.hinge_weight * hinge_two_afc_loss(d0, d1, p, cfg.margin)
        part.backward()
        return part.detach().cpu(), two_afc_accuracy(d0, d1, p).detach().cpu()

    def train_step(step: int) -> dict[str, torch.Tensor]:
        loss = torch.zeros(())
        for p, (spec, images, tgt) in enumerate(zip(specs, pools, targets)):
            idx, a, b = _student_inputs(images, cfg, step, ctx.rank, ctx.world_size, p, spec["batch_size"])
            x = torch.cat([a, b]).to(dev)
            if channels_last:
                x = x.contiguous(memory_format=torch.channels_last)
            t = tgt[idx].float().to(dev)
            if basis is not None:
                t = t @ basis
            with torch.autocast(dev.type, dtype=torch.bfloat16, enabled=amp):
                f = net(x)
            f = f.float()
            part = distillation_loss(f[: a.shape[0]], f[a.shape[0] :], t) * (spec["batch_size"] / total)
            part.backward()  # one graph per pool at a time: memory of the largest pool only
            loss = loss + part.detach().cpu()
        if triplets is None:
            return {"loss": loss}
        hinge, accuracy = hinge_step(step)
        return {"loss": loss + hinge, "distill": loss, "hinge": hinge, "accuracy": accuracy}

    if not run_training(
        "distill",
        cfg,
        ctx,
        out,
        student,
        student.parameters(),
        train_step,
        LOG_COLUMNS + (HINGE_COLUMNS if triplets is not None else ()),
        weight_decay=cfg.weight_decay,
        images_per_step=cfg.batch_size * 2,
    ):
        return None  # stopped early on request (stop_after); continue with resume=True
    model.eval()
    target = out / "model"
    if ctx.is_main:
        stage = {
            "stage": "distill",
            "teacher": teacher_name,
            "teacher_kwargs": teacher_kwargs,
            "steps": cfg.steps,
            "seed": cfg.seed,
            "target_dims": cfg.target_dims,
            "target_energy_kept": round(kept, 6),
            "pools": [{k: (str(v) if k == "images" else v) for k, v in spec.items()} for spec in specs],
        }
        if cfg.init:
            stage.update(init=cfg.init, lr=cfg.lr, batch_size=cfg.batch_size)
        if cfg.two_afc:
            stage.update(
                two_afc=cfg.two_afc,
                two_afc_split=cfg.two_afc_split,
                two_afc_batch_size=cfg.two_afc_batch_size,
                hinge_weight=cfg.hinge_weight,
                margin=cfg.margin,
            )
        model.save_pretrained(target, extra_config={"training": [*earlier, stage] if cfg.init else stage})
    ctx.barrier()
    return target
