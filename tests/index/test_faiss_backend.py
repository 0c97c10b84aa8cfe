"""The faiss backend: same answers as exact search where it says so, certificates never larger than exact ones."""

from __future__ import annotations

import pytest
import torch

from lipsim import Index
from lipsim.index import StoredEmbeddings
from lipsim.index.search import exact_knn, rerank
from tests._helpers import tiny_model

faiss = pytest.importorskip("faiss", reason="the faiss backend is optional: pip install 'lipsim[index]'")

from lipsim.index.faiss_backend import FaissCandidates  # noqa: E402


def _clustered(n, d, seed=0):
    g = torch.Generator().manual_seed(seed)
    centers = torch.randn(n // 20, d, generator=g)
    x = centers.repeat_interleave(20, 0) + 0.4 * torch.randn(n, d, generator=g)
    return torch.nn.functional.normalize(x, dim=1)


@pytest.mark.parametrize(
    "nlist, nprobe, some_exact", [(None, None, True), (1, 1, True), (40, 4, False), (40, 1, False)]
)
def test_rerank_is_exact_where_it_says_so(nlist, nprobe, some_exact):
    torch.set_num_threads(1)
    x = _clustered(2000, 32)
    q = torch.nn.functional.normalize(x[::97] + 0.1 * torch.randn(21, 32), dim=1)
    fc = FaissCandidates(x, nlist, nprobe)
    cand, lower = fc.search(q, 16)
    got = rerank(q, x, cand, lower, 5)
    ref = exact_knn(q, x, 5)
    # the lower bound really bounds every non-candidate
    for t in range(q.shape[0]):
        rest = torch.ones(2000, dtype=torch.bool)
        rest[cand[t][cand[t] >= 0]] = False
        assert float((x[rest].double() - q[t].double()).norm(dim=1).min()) >= float(lower[t]) - 1e-12
    assert bool(got.exact.any()) or not some_exact  # few probed lists of 40 rarely bound the rest
    ex = got.exact
    assert torch.equal(got.rows[ex], ref.rows[ex]) and torch.allclose(got.s[ex], ref.s[ex])
    assert bool((got.nn_radius_phi <= ref.nn_radius_phi + 1e-12).all())
    if nlist == 1:
        assert bool(ex.all())  # one list: a flat, exact scan


def test_index_faiss_backend_agrees_with_exact():
    model = tiny_model("efficient", dtype=torch.float32)
    x = _clustered(400, model.embed(torch.rand(1, 3, 16, 16)).shape[1], seed=2)
    e = StoredEmbeddings(x, torch.ones(400), torch.ones(400), True)
    ids = [f"i{k}" for k in range(400)]
    exact, approx = Index(model, threshold=0.1), Index(model, threshold=0.1, backend="faiss", nlist=1)
    exact.add_embeddings(e, ids)
    approx.add_embeddings(e, ids)
    q = e.select(list(range(0, 400, 50))).batch(dtype=torch.float32)
    for a, b in zip(exact.search_embeddings(q, k=3), approx.search_embeddings(q, k=3)):
        assert [n.id for n in a.neighbours] == [n.id for n in b.neighbours] and b.exact
        assert b.nn_radius <= a.nn_radius + 1e-9
        assert [n.label for n in a.neighbours] == [n.label for n in b.neighbours]
