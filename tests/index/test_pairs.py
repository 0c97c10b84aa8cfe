"""Blocked all-pairs scan, groups and duplicate labels against brute force."""

from __future__ import annotations

import pytest
import torch

from lipsim.index import StoredEmbeddings, find_duplicates
from lipsim.index.certify import certify_pairs
from lipsim.index.pairs import connected_groups, scan_pairs


def _unit(n, d, seed=0):
    g = torch.Generator().manual_seed(seed)
    centers = torch.randn(n // 4 + 1, d, generator=g)
    x = centers.repeat_interleave(4, 0)[:n] + 0.3 * torch.randn(n, d, generator=g)
    return torch.nn.functional.normalize(x, dim=1)


@pytest.mark.parametrize("block", [1, 7, 64, 4096])
def test_scan_matches_brute_force(block):
    phi = _unit(50, 12)
    s = torch.cdist(phi.double(), phi.double())
    want = {(i, j) for i in range(50) for j in range(i + 1, 50) if s[i, j] <= 0.6}
    i, j, got_s = scan_pairs(phi, 0.6, block=block)
    assert set(zip(i.tolist(), j.tolist())) == want and len(want) > 10
    assert torch.allclose(got_s, s[i, j], atol=1e-12)
    assert bool((i < j).all()) and (i * 50 + j).tolist() == sorted((i * 50 + j).tolist())


def test_scan_refuses_a_threshold_that_matches_everything():
    with pytest.raises(
        ValueError,
        match=r"^more than 10 pairs are within distance 2 of each other: the threshold "
        r"matches nearly everything; use a smaller one$",
    ):
        scan_pairs(_unit(20, 4), 2.0, max_pairs=10)


def test_groups_are_connected_components():
    i, j = torch.tensor([0, 2, 5, 6]), torch.tensor([2, 4, 6, 7])
    assert connected_groups(9, i, j) == [[0, 2, 4], [5, 6, 7]]
    assert connected_groups(3, torch.tensor([], dtype=torch.long), torch.tensor([], dtype=torch.long)) == []


def test_find_duplicates_labels_and_group_pairs():
    phi = _unit(40, 8, seed=1)
    e = StoredEmbeddings(phi, torch.full((40,), 0.5), torch.ones(40), True)
    tau, eps = 0.08, 0.05
    dup = find_duplicates(e, tau, eps)
    d = torch.cdist(phi.double(), phi.double()).pow(2) / 2
    members = {m for g in dup.groups for m in g}
    # every match is reported, and every pair inside a group
    matches = {(a, b) for a in range(40) for b in range(a + 1, 40) if d[a, b] <= tau}
    inside = {(a, b) for g in dup.groups for a in g for b in g if a < b}
    got = set(zip(dup.i.tolist(), dup.j.tolist()))
    assert matches <= got and got == inside and {x for p in matches for x in p} == members
    ref = certify_pairs(e.batch(dup.i), e.batch(dup.j), eps, tau)
    assert ref.labels == dup.cert.labels and len(set(dup.cert.labels)) >= 3
    for p, lab in enumerate(dup.cert.labels):
        same, r = bool(d[dup.i[p], dup.j[p]] <= tau), float(dup.cert.radius[p])
        # radius = |s - sqrt(2 tau)| / resize_norm (0.5), less the float32 slack
        s = float(d[dup.i[p], dup.j[p]] * 2) ** 0.5
        assert r == pytest.approx(abs(s - (2 * tau) ** 0.5) / 0.5, abs=1e-6)
        assert (
            lab
            == {
                (True, True): "certified-same",
                (True, False): "same",
                (False, True): "certified-different",
                (False, False): "different",
            }[(same, r > eps)]
        )
    only = find_duplicates(e, tau, eps, group_pairs=False)
    assert set(zip(only.i.tolist(), only.j.tolist())) == matches


def test_find_duplicates_rejects_bad_threshold_and_eps():
    e = StoredEmbeddings(_unit(4, 3), torch.ones(4), torch.ones(4), True)
    with pytest.raises(ValueError, match=r"^threshold must be in \[0, 2\] \(the range of d\), got 3$"):
        find_duplicates(e, 3, 0.1)
    with pytest.raises(ValueError, match=r"^eps must be a finite number >= 0 \(l2 budget in caller pixels\), got -1$"):
        find_duplicates(e, 2.0, -1)
