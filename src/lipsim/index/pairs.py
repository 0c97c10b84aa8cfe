"""All pairs within a distance, in blocks (memory bounded by the block size and the pairs found), and groups."""

from __future__ import annotations

import torch

__all__ = ["scan_pairs", "connected_groups", "MAX_PAIRS"]

MAX_PAIRS = 20_000_000  # about 0.5 GB of indices and distances: a threshold this loose is a mistake
_S2_TOL = 1e-3  # float32 Gram entries are off by far less than this; candidates are re-checked in float64


def scan_pairs(
    phi: torch.Tensor, max_s: float, block: int = 2048, max_pairs: int = MAX_PAIRS
) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
    """Every pair i < j with ||phi_i - phi_j|| <= max_s, found block by block.

    The Gram matrix is computed one (block x block) tile at a time in float32; entries that pass with a
    tolerance are re-computed exactly (float64 differences) and filtered, so the answer is exact. Peak extra
    memory is a few tiles plus the pairs found.

    Args:
        phi: (N, D) embeddings.
        max_s: largest ||phi_i - phi_j|| to report.
        block: rows per tile.
        max_pairs: stop with a ValueError past this many pairs (a threshold that matches nearly everything).

    Returns:
        (i, j, s): int64 indices with i < j and float64 distances, sorted by (i, j).

    Example:
        >>> phi = torch.tensor([[1.0, 0.0], [0.6, 0.8], [0.0, 1.0]])
        >>> i, j, s = scan_pairs(phi, 0.95)
        >>> list(zip(i.tolist(), j.tolist()))
        [(0, 1), (1, 2)]
    """
    if block < 1:
        raise ValueError(f"block must be >= 1, got {block}")
    n = phi.shape[0]
    x = phi.to(torch.float32)
    sq = x.pow(2).sum(1)
    lim = (max_s**2) + _S2_TOL
    found_i, found_j, found_s = [], [], []
    total = 0
    for i0 in range(0, n, block):
        a = x[i0 : i0 + block]
        for j0 in range(i0, n, block):
            b = x[j0 : j0 + block]
            s2 = sq[i0 : i0 + block, None] + sq[None, j0 : j0 + block] - 2.0 * (a @ b.T)
            hit = s2 <= lim
            if j0 == i0:
                hit = torch.triu(hit, diagonal=1)
            ii, jj = hit.nonzero(as_tuple=True)
            if ii.numel() == 0:
                continue
            ii, jj = ii + i0, jj + j0
            s = (phi[ii].double() - phi[jj].double()).norm(dim=1)
            keep = s <= max_s
            found_i.append(ii[keep])
            found_j.append(jj[keep])
            found_s.append(s[keep])
            total += int(keep.sum())
            if total > max_pairs:
                raise ValueError(
                    f"more than {max_pairs} pairs are within distance {max_s:.6g} of each other: the "
                    "threshold matches nearly everything; use a smaller one"
                )
    if not found_i:
        e = torch.zeros(0, dtype=torch.long)
        return e, e.clone(), torch.zeros(0, dtype=torch.float64)
    i, j, s = torch.cat(found_i), torch.cat(found_j), torch.cat(found_s)
    order = torch.argsort(i * n + j)
    return i[order], j[order], s[order]


def connected_groups(n: int, i: torch.Tensor, j: torch.Tensor) -> list[list[int]]:
    """Connected components (union-find) of the graph with edges (i, j), those with >= 2 members.

    Groups are sorted by their smallest member; members ascending.

    Example:
        >>> connected_groups(5, torch.tensor([0, 3, 1]), torch.tensor([1, 4, 0]))
        [[0, 1], [3, 4]]
    """
    parent = list(range(n))

    def find(u: int) -> int:
        while parent[u] != u:
            parent[u] = parent[parent[u]]
            u = parent[u]
        return u

    for a, b in zip(i.tolist(), j.tolist()):
        ra, rb = find(a), find(b)
        if ra != rb:
            parent[max(ra, rb)] = min(ra, rb)
    members: dict[int, list[int]] = {}
    for u in range(n):
        members.setdefault(find(u), []).append(u)
    return sorted((m for m in members.values() if len(m) > 1), key=lambda m: m[0])
