"""Near-duplicates of a collection: pairs under the threshold, their groups, and a certified label per pair."""

from __future__ import annotations

from dataclasses import dataclass, field

import torch

from ..certificates import EmbeddingBatch
from .certify import PairCertificates, certify_distances
from .pairs import connected_groups, scan_pairs
from .store import StoredEmbeddings

__all__ = ["Duplicates", "find_duplicates", "MAX_GROUP_FOR_ALL_PAIRS"]

MAX_GROUP_FOR_ALL_PAIRS = 2000  # larger groups report their matching pairs only


@dataclass
class Duplicates:
    """Reported pairs of a collection and their groups.

    Attributes:
        groups: row indices of each group (connected through pairs with d <= threshold), >= 2 members.
        i, j: (P,) rows of each reported pair, i < j, ordered by group then (i, j).
        group: (P,) the group of each pair.
        cert: the certificates of the pairs (labels, distances, radii).
        threshold, eps: what the labels were decided at.
        large_groups: groups whose non-matching pairs were not listed (more than MAX_GROUP_FOR_ALL_PAIRS members).
    """

    groups: list[list[int]]
    i: torch.Tensor
    j: torch.Tensor
    group: torch.Tensor
    cert: PairCertificates
    threshold: float
    eps: float
    large_groups: list[int] = field(default_factory=list)


def find_duplicates(
    emb: StoredEmbeddings, threshold: float, eps: float, group_pairs: bool = True, block: int = 2048
) -> Duplicates:
    """All pairs with d <= threshold, grouped (union-find), each labelled at budget eps.

    Reported pairs are the matches (d <= threshold: ``certified-same`` or ``same``) and, with ``group_pairs``,
    every other pair inside a group (members joined only through others: ``certified-different`` or
    ``different``). A label is certified when its decision holds for every change of one of the two images
    of l2 norm <= eps (caller pixels).

    Args:
        emb: the collection's embeddings.
        threshold: tau of "same" (d <= tau), in [0, 2].
        eps: l2 budget per image, caller pixels.
        group_pairs: also report the non-matching pairs inside each group.
        block: tile size of the all-pairs scan.

    Example:
        >>> phi = torch.tensor([[1.0, 0.0], [0.995, 0.0999], [0.98, 0.199], [0.0, 1.0]])
        >>> phi = phi / phi.norm(dim=1, keepdim=True)
        >>> e = StoredEmbeddings(phi, torch.ones(4), torch.ones(4), True)
        >>> dup = find_duplicates(e, threshold=0.008, eps=0.01)
        >>> dup.groups, dup.cert.labels
        ([[0, 1, 2]], ['certified-same', 'certified-different', 'certified-same'])
    """
    if not 0.0 <= threshold <= 2.0:
        raise ValueError(f"threshold must be in [0, 2] (the range of d), got {threshold}")
    n = len(emb)
    i, j, _ = scan_pairs(emb.phi, (2.0 * threshold) ** 0.5, block=block)
    groups = connected_groups(n, i, j)
    gid = torch.full((n,), -1, dtype=torch.long)
    for g, members in enumerate(groups):
        gid[members] = g
    large: list[int] = []
    if group_pairs:
        pi, pj = [], []
        for g, m in enumerate(groups):
            if len(m) > MAX_GROUP_FOR_ALL_PAIRS:
                large.append(g)
                sel = gid[i] == g
                pi.append(i[sel])
                pj.append(j[sel])
                continue
            t = torch.tensor(m, dtype=torch.long)
            a, b = torch.triu_indices(len(m), len(m), offset=1)
            pi.append(t[a])
            pj.append(t[b])
        if pi:
            i, j = torch.cat(pi), torch.cat(pj)
    group = gid[i]
    idx = torch.argsort((group * n + i) * n + j)
    i, j, group = i[idx], j[idx], group[idx]
    cert = certify_distances(_distances(emb.phi, i, j), _meta(emb, i), _meta(emb, j), eps, threshold)
    return Duplicates(groups, i, j, group, cert, float(threshold), float(eps), large)


def _distances(phi: torch.Tensor, i: torch.Tensor, j: torch.Tensor, chunk: int = 4096) -> torch.Tensor:
    """||phi_i - phi_j|| in float64, a chunk of pairs at a time (memory bounded)."""
    out = torch.empty(len(i), dtype=torch.float64)
    for k in range(0, len(i), chunk):
        out[k : k + chunk] = (phi[i[k : k + chunk]].double() - phi[j[k : k + chunk]].double()).norm(dim=1)
    return out


def _meta(emb: StoredEmbeddings, rows: torch.Tensor) -> EmbeddingBatch:
    """What the certificates need about some rows (norms only: phi is not used there)."""
    return EmbeddingBatch(
        torch.zeros(len(rows), 0, dtype=torch.float64),
        emb.feature_norm[rows].double(),
        emb.resize_norm[rows].double(),
        emb.constant_appended,
    )
