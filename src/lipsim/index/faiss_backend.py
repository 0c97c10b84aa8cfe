"""Candidates from faiss (IVF-Flat) with a certified lower bound on the distance of everything else.

faiss is optional (``pip install lipsim[index]``). The index only proposes candidates; distances and
certificates are recomputed exactly from the stored embeddings. For the nearest-neighbour radius, the items
faiss did not return still count, through a lower bound L on their distance to the query:

- items in a probed inverted list that were not returned are, by the IVF-Flat scan, no nearer than the last
  returned candidate (its float32 squared distance, shrunk by the float32 summation error bound);
- items in an unprobed list c (centroid mu_c, every member within r_c of it, r_c measured exactly here) are
  at least ||q - mu_c|| - r_c away (triangle inequality);
- they are also on mu_c's side of the bisector of mu_c and mu_0, the centroid nearest to q: faiss assigned
  each item to its nearest centroid, so ||a - mu_c||^2 <= ||a - mu_0||^2 + delta (delta: the largest violation,
  measured exactly over all items at build time, 0 up to float32 ties). The linear function
  h(v) = ||v - mu_0||^2 - ||v - mu_c||^2 has gradient norm 2 ||mu_c - mu_0||, h(a) >= -delta and h(q) <= 0, so
  ||a - q|| >= (||q - mu_c||^2 - ||q - mu_0||^2 - delta) / (2 ||mu_c - mu_0||).

When the best exact candidate is not nearer than L, faiss may have missed the true nearest neighbour and the
answer is marked not exact (radius 0).
"""

from __future__ import annotations

import math

import numpy as np
import torch

__all__ = ["FaissCandidates", "faiss_available", "require_faiss"]


def faiss_available() -> bool:
    try:
        import faiss  # noqa: F401
    except ImportError:
        return False
    return True


def require_faiss():
    from ..errors import MissingDependencyError

    try:
        import faiss
    except ImportError:
        raise MissingDependencyError(
            "the faiss backend needs faiss: pip install 'lipsim[index]' (or pip install faiss-cpu)"
        ) from None
    return faiss


class FaissCandidates:
    """An IVF-Flat (L2) faiss index over stored embeddings, with the member radius of every inverted list.

    Args:
        phi: (N, D) embeddings (float32 copies are indexed).
        nlist: number of inverted lists; default about sqrt(N) (at least 1, at most N / 39).
        nprobe: lists scanned per query; default nlist / 8 (at least 1).
        seed: k-means seed (the index is rebuilt identically from the same embeddings).
    """

    def __init__(self, phi: torch.Tensor, nlist: int | None = None, nprobe: int | None = None, seed: int = 1) -> None:
        faiss = require_faiss()
        n, d = phi.shape
        if n == 0:
            raise ValueError("cannot build a faiss index over an empty collection")
        x = np.ascontiguousarray(phi.detach().cpu().numpy().astype(np.float32))
        if nlist is None:
            nlist = max(1, min(int(math.sqrt(n)), n // 39))
        if not 1 <= nlist <= n:
            raise ValueError(f"nlist must be in [1, {n}] (the number of embeddings), got {nlist}")
        self.nlist = nlist
        self.nprobe = max(1, nlist // 8) if nprobe is None else nprobe
        if not 1 <= self.nprobe <= nlist:
            raise ValueError(f"nprobe must be in [1, nlist={nlist}], got {self.nprobe}")
        quantizer = faiss.IndexFlatL2(d)
        self._quantizer = quantizer
        if nlist == 1:  # one list is a flat (exact) scan: no clustering
            quantizer.add(np.zeros((1, d), dtype=np.float32))
            self.index = faiss.IndexIVFFlat(quantizer, d, 1, faiss.METRIC_L2)
            self.index.is_trained = True
        else:
            self.index = faiss.IndexIVFFlat(quantizer, d, nlist, faiss.METRIC_L2)
            self.index.cp.seed = seed
            # k-means on at most 64 points per list (faiss asks for >= 39): the lists' radii are measured
            # afterwards on every item, so the sample only affects speed and recall, never the bounds
            rng = np.random.default_rng(seed)
            sample = x if n <= 64 * nlist else x[np.sort(rng.choice(n, 64 * nlist, replace=False))]
            self.index.train(sample)
        self.index.add(x)
        self.index.nprobe = self.nprobe
        self.centroids = torch.from_numpy(quantizer.reconstruct_n(0, nlist)).double()
        # exact radius of each list around its centroid, from the lists faiss actually built
        self.list_radius = torch.zeros(nlist, dtype=torch.float64)
        inv = self.index.invlists
        phi = phi.detach().cpu()
        assigned = torch.full((n,), -1, dtype=torch.long)
        for c in range(nlist):
            size = inv.list_size(c)
            if size == 0:
                continue
            ids = torch.from_numpy(faiss.rev_swig_ptr(inv.get_ids(c), size).copy()).long()
            assigned[ids] = c
        # per block of rows, in float64: each list's radius around its centroid, and delta, how much farther
        # than its nearest centroid any item sits from its own
        self.delta = 0.0
        for i0 in range(0, n, 4096):
            rows = phi[i0 : i0 + 4096].double()
            own_list = assigned[i0 : i0 + 4096]
            d2 = torch.cdist(rows, self.centroids).pow(2)
            own = d2.gather(1, own_list[:, None])[:, 0]
            self.delta = max(self.delta, float((own - d2.min(dim=1).values).max()))
            exact_own = (rows - self.centroids[own_list]).norm(dim=1)  # no cdist shortcut for the radius
            self.list_radius.scatter_reduce_(0, own_list, exact_own, reduce="amax")
        self._centroid_gap = torch.cdist(self.centroids, self.centroids)

    def search(self, q: torch.Tensor, n_candidates: int) -> tuple[torch.Tensor, torch.Tensor]:
        """(Q, C) candidate rows (-1 padded) and (Q,) lower bound L on ||q - a|| over every other row."""
        x = np.ascontiguousarray(q.detach().cpu().numpy().astype(np.float32))
        c_dist, c_ids = self._quantizer.search(x, self.nprobe)  # the lists to probe, chosen here
        dist, ids = self.index.search_preassigned(x, n_candidates, c_ids, c_dist)
        ids_t = torch.from_numpy(ids).long()
        q64 = q.detach().cpu().double()
        to_centroid = torch.cdist(q64, self.centroids)  # (Q, nlist)
        ball = to_centroid - self.list_radius[None]
        d2 = to_centroid.pow(2)
        nearest = d2.argmin(dim=1)
        gap = self._centroid_gap[nearest]  # (Q, nlist): ||mu_c - mu_0||
        plane = (d2 - d2.gather(1, nearest[:, None]) - self.delta) / (2 * gap)
        plane = torch.where(gap > 0, plane, torch.full_like(plane, -math.inf))
        bound_lists = torch.maximum(ball, plane)
        probed = torch.zeros_like(bound_lists, dtype=torch.bool)
        probed.scatter_(1, torch.from_numpy(c_ids).long().clamp_min(0), True)
        bound_lists = torch.where(probed, torch.full_like(bound_lists, math.inf), bound_lists)
        lower = bound_lists.min(dim=1).values
        full = (ids_t >= 0).all(dim=1)  # C candidates returned: unreturned probed items are >= the last
        # float32 sum of D squared differences: relative error below (D + 8) 2^-24
        rel = (q.shape[1] + 8) * 2.0**-24
        last = torch.from_numpy(dist[:, -1]).double().clamp_min(0) * (1 - rel)
        probed_bound = torch.where(full, last.sqrt(), torch.full_like(last, math.inf))
        return ids_t, torch.minimum(lower, probed_bound)
