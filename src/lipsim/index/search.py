"""Exact k-nearest-neighbour search over stored embeddings, with the certified nearest-neighbour radius."""

from __future__ import annotations

import math
from dataclasses import dataclass

import torch

from .certify import F_SLACK, S_SLACK

__all__ = ["RawHits", "exact_knn", "rerank"]


@dataclass
class RawHits:
    """Neighbours of Q queries before certification.

    Attributes:
        rows: (Q, K) stored rows, nearest first.
        s: (Q, K) exact distances ||q - a|| (float64).
        nn_radius_phi: (Q,) phi-space radius within which the nearest neighbour cannot change.
        exact: (Q,) whether rows are certainly the true K nearest.
    """

    rows: torch.Tensor
    s: torch.Tensor
    nn_radius_phi: torch.Tensor
    exact: torch.Tensor


def _sq(q: torch.Tensor, a: torch.Tensor) -> torch.Tensor:
    return (q.pow(2).sum(1)[:, None] + a.pow(2).sum(1)[None] - 2.0 * q @ a.T).clamp_min(0)


def exact_knn(q: torch.Tensor, db: torch.Tensor, k: int, block: int = 4096) -> RawHits:
    """The k nearest rows of ``db`` for each query, all in float64, one block of ``db`` at a time.

    Pass 1 keeps the k smallest squared distances; pass 2 takes the minimum over all rows j of the bisector
    radius f_j / (2 ||a_1 - a_j||) (lipsim.index.certify), rows identical to a_1 skipped.

    Example:
        >>> db = torch.tensor([[1.0, 0.0], [0.0, 1.0], [-1.0, 0.0]])
        >>> h = exact_knn(torch.tensor([[0.8, 0.6]]), db, k=2)
        >>> h.rows.tolist(), round(float(h.nn_radius_phi), 3)    # distance to the line x = y
        ([[0, 1]], 0.141)
    """
    q = q.double()
    n = db.shape[0]
    k = min(k, n)
    best_s2 = torch.full((q.shape[0], 0), math.inf, dtype=torch.float64)
    best_rows = torch.zeros((q.shape[0], 0), dtype=torch.long)
    for j0 in range(0, n, block):
        a = db[j0 : j0 + block].double()
        s2 = torch.cat([best_s2, _sq(q, a)], dim=1)
        rows = torch.cat([best_rows, torch.arange(j0, j0 + a.shape[0]).expand(q.shape[0], -1)], dim=1)
        best_s2, pos = torch.topk(s2, k, dim=1, largest=False, sorted=True)
        best_rows = rows.gather(1, pos)
    # re-measure the k distances as norms of differences (no cancellation), keep the order stable
    s = (q[:, None, :] - db[best_rows].double()).norm(dim=2)
    order = torch.argsort(s, dim=1, stable=True)
    s, best_rows = s.gather(1, order), best_rows.gather(1, order)
    a1 = db[best_rows[:, 0]].double()
    radius = torch.full((q.shape[0],), math.inf, dtype=torch.float64)
    s1_sq = (q - a1).pow(2).sum(1)
    for j0 in range(0, n, block):
        a = db[j0 : j0 + block].double()
        f = _sq(q, a) - s1_sq[:, None]
        gap2 = (a1.pow(2).sum(1)[:, None] + a.pow(2).sum(1)[None] - 2.0 * a1 @ a.T).clamp_min(0)
        near = gap2 < 1e-6  # re-measure small gaps exactly: tell identical vectors from close ones
        if bool(near.any()):
            qi, ji = near.nonzero(as_tuple=True)
            gap2[qi, ji] = (a1[qi] - a[ji]).pow(2).sum(1)
            f[qi, ji] = (q[qi] - a[ji]).pow(2).sum(1) - s1_sq[qi]
        gap = gap2.sqrt()
        r = (f - F_SLACK).clamp_min(0) / (2 * gap)
        r = torch.where(gap == 0, torch.full_like(r, math.inf), r)
        radius = torch.minimum(radius, r.min(dim=1).values)
    return RawHits(best_rows, s, radius, torch.ones(q.shape[0], dtype=torch.bool))


def rerank(q: torch.Tensor, db: torch.Tensor, cand: torch.Tensor, lower: torch.Tensor, k: int) -> RawHits:
    """Exact re-ranking of approximate candidates, certified against everything else through ``lower``.

    Args:
        q: (Q, D) queries.
        db: (N, D) stored embeddings.
        cand: (Q, C) candidate rows (-1 = none).
        lower: (Q,) lower bound on ||q - a|| over every row not in ``cand``.
        k: neighbours to return.

    The nearest-neighbour radius is the smaller of the bisector radius over the candidates and the triangle
    bound (L - s_1) / 2 for the rest; 0 (and not exact) when L does not exceed s_1.
    """
    q = q.double()
    qn = q.shape[0]
    valid = cand >= 0
    safe = cand.clamp_min(0)
    s = (q[:, None, :] - db[safe].double()).norm(dim=2)
    s = torch.where(valid, s, torch.full_like(s, math.inf))
    order = torch.argsort(s, dim=1, stable=True)
    s, rows = s.gather(1, order), safe.gather(1, order)
    n_valid = valid.sum(1)
    k = min(k, int(n_valid.min()))
    if k < 1:
        raise ValueError("the approximate search returned no candidate for a query")
    ok = valid.gather(1, order)
    a = db[rows].double()  # (Q, C, D), nearest first
    f = (q[:, None, :] - a).pow(2).sum(2) - (q - a[:, 0]).pow(2).sum(1)[:, None]
    gap = (a - a[:, :1]).norm(dim=2)
    r = (f - F_SLACK).clamp_min(0) / (2 * gap)  # bisector radius against each other candidate
    r = torch.where((gap == 0) | ~ok, torch.full_like(r, math.inf), r)
    radius = r[:, 1:].min(dim=1).values if r.shape[1] > 1 else torch.full((qn,), math.inf, dtype=torch.float64)
    s1 = s[:, 0]
    triangle = ((lower - s1) / 2 - S_SLACK).clamp_min(0)
    radius = torch.minimum(radius, triangle)
    exact = lower >= s[:, k - 1] + S_SLACK
    radius = torch.where(lower > s1 + S_SLACK, radius, torch.zeros_like(radius))
    return RawHits(rows[:, :k], s[:, :k], radius, exact)
