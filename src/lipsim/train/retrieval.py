"""Retrieval check: augmented views of held-out crops as queries against the originals."""

from __future__ import annotations

import torch

from ..certificates import CERTIFIED_EPS
from ..model import LipSim
from .data.crops import FixedCropPool
from .data.views import jitter_view
from .rng import seeded_generator

__all__ = ["retrieval_scores"]


def _augment(crop: torch.Tensor, gen: torch.Generator) -> torch.Tensor:
    """A random 70-100% sub-crop resized back, a flip, then LipSim's colour jitter."""
    _, h, w = crop.shape
    s = 0.7 + 0.3 * float(torch.rand(1, generator=gen))
    ch, cw = max(8, int(h * s)), max(8, int(w * s))
    y = int(torch.randint(h - ch + 1, (1,), generator=gen))
    x = int(torch.randint(w - cw + 1, (1,), generator=gen))
    v = torch.nn.functional.interpolate(
        crop[None, :, y : y + ch, x : x + cw], size=(h, w), mode="bilinear", antialias=True, align_corners=False
    )[0].clamp(0, 1)
    if float(torch.rand(1, generator=gen)) < 0.5:
        v = v.flip(-1)
    return jitter_view(v, gen)


@torch.no_grad()
def retrieval_scores(model: LipSim, images: str, n: int = 200, seed: int = 1, eps_values=CERTIFIED_EPS):
    """Top-1 accuracy (natural) and certified top-1 at each eps (the query may move by eps).

    For a query q with nearest original i*, the answer is certified at eps when for every other j
    (d(q, j) - d(q, i*)) / ||phi_i* - phi_j|| > eps (the 2AFC radius of every competing pair).
    """
    pool = FixedCropPool(images, n=n, size=model.image_size, seed=seed, scale=(0.2, 0.6))
    originals = pool.images.float() / 255
    queries = torch.stack([_augment(originals[i], seeded_generator("query", seed, i)) for i in range(n)])
    db = torch.cat([model.embed_batch(originals[i : i + 64], "db").phi for i in range(0, n, 64)])
    eq = [model.embed_batch(queries[i : i + 64], "q") for i in range(0, n, 64)]
    phi_q = torch.cat([e.phi for e in eq])
    pn = eq[0].resize_norm[0]
    d = 1 - phi_q @ db.T  # (n, n)
    best = d.argmin(dim=1)
    correct = best == torch.arange(n)
    gaps = d - d.gather(1, best[:, None])
    sep = (db[best][:, None, :] - db[None, :, :]).norm(dim=-1)
    ratio = torch.where(sep > 0, gaps / sep.clamp_min(1e-12), torch.full_like(gaps, float("inf")))
    ratio[torch.arange(n), best] = float("inf")
    radius = ratio.min(dim=1).values / pn
    return {
        "n": n,
        "top1": float(correct.float().mean()),
        "certified_top1": {f"{e:.4f}": float((correct & (radius > e)).float().mean()) for e in eps_values},
        "median_radius": float(radius[correct].median()) if bool(correct.any()) else 0.0,
    }
