"""PGD (l2, many steps) at 0.99x the certified budget never changes a certified answer of lipsim.index.

A random-init float64 model on structured 24 px images (resized to 16 px, so the resize norm is part of the
certificate); the threshold and eps are set from the data so that every label occurs and radii are far from 0.
"""

from __future__ import annotations

import pytest
import torch

from lipsim import Index
from lipsim.index import CERTIFIED_DIFFERENT, CERTIFIED_SAME, DIFFERENT, SAME, find_duplicates
from tests._attacks import pgd_l2_image
from tests._helpers import structured_images, tiny_model


@pytest.fixture(scope="module")
def model():
    return tiny_model("efficient")


@pytest.fixture(scope="module")
def images():
    torch.manual_seed(0)
    base = structured_images(7, 24, seed=5)
    near = (base[:3] + 0.02 * torch.randn(3, 3, 24, 24, dtype=torch.float64)).clamp(0, 1)
    return torch.cat([base, near])


def _d(model, x, y):
    return model(x[None], y[None])[0]


@pytest.fixture(scope="module")
def labelled(model, images):
    torch.set_num_threads(1)
    index = Index(model)
    index.add(images, ids=[str(i) for i in range(len(images))])
    d = torch.cdist(index.embeddings.phi.double(), index.embeddings.phi.double()).pow(2) / 2
    tau = float(d[torch.triu(torch.ones_like(d, dtype=torch.bool), 1)].quantile(0.3))
    dup = find_duplicates(index.embeddings, tau, eps=0.0)
    eps = float(dup.cert.radius[~dup.cert.same].median())  # half of the non-matches certified
    return find_duplicates(index.embeddings, tau, eps=eps), tau, eps


def test_every_label_occurs_with_non_vacuous_radii(labelled):
    dup, tau, eps = labelled
    assert set(dup.cert.labels) == {CERTIFIED_SAME, SAME, DIFFERENT, CERTIFIED_DIFFERENT}
    assert eps > 1e-3 and bool((dup.cert.radius > 0).all())


def test_certified_pair_labels_survive_pgd(model, images, labelled):
    dup, tau, eps = labelled
    certified = [p for p, lab in enumerate(dup.cert.labels) if lab in (CERTIFIED_SAME, CERTIFIED_DIFFERENT)]
    checked = 0
    for n, p in enumerate(certified[:6]):
        i, j = int(dup.i[p]), int(dup.j[p])
        moving, fixed = (i, j) if n % 2 == 0 else (j, i)  # either image may be the attacked one
        same = dup.cert.labels[p] == CERTIFIED_SAME
        sign = 1.0 if same else -1.0  # push d across the threshold
        budget = 0.99 * float(dup.cert.radius[p])
        adv = pgd_l2_image(
            images[moving], lambda x, sign=sign, fixed=fixed: sign * _d(model, x, images[fixed]), budget, steps=50
        )
        d_adv = float(_d(model, adv, images[fixed]))
        assert (d_adv <= tau) == same, (p, dup.cert.labels[p], d_adv, tau)
        checked += 1
    assert checked >= 4


def test_pgd_is_a_real_attack(model, images, labelled):
    """The attack above is not idle: it moves d far more than a random change of the same norm."""
    dup, _, _ = labelled
    p = dup.cert.labels.index(CERTIFIED_SAME)
    i, j = int(dup.i[p]), int(dup.j[p])
    budget = float(dup.cert.radius[p])
    d0 = float(_d(model, images[i], images[j]))
    adv = pgd_l2_image(images[i], lambda x: _d(model, x, images[j]), budget, steps=30, restarts=1)
    noise = torch.randn(images[i].shape, dtype=torch.float64)
    rand = (images[i] + noise * budget / noise.norm()).clamp(0, 1)
    gain_pgd = float(_d(model, adv, images[j])) - d0
    gain_rand = float(_d(model, rand, images[j])) - d0
    assert gain_pgd > 20 * abs(gain_rand) and gain_pgd > 0


def test_certified_nearest_neighbour_survives_pgd(model, images):
    index = Index(model)
    index.add(images[:7], ids=[f"db{i}" for i in range(7)])
    torch.manual_seed(1)
    queries = (images[:3] + 0.05 * torch.randn(3, 3, 24, 24, dtype=torch.float64)).clamp(0, 1)
    results = index.search(queries, k=3, eps=0.0)
    db = images[:7]
    for q, r in zip(queries, results):
        assert r.exact and r.nn_radius > 1e-3
        best = r.neighbours[0].row
        others = [j for j in range(7) if j != best]

        def margin(x, best=best, others=others):  # > 0 once another stored image is nearer than the certified one
            e = model.embed(torch.cat([x[None], db]))
            d = 0.5 * (e[1:] - e[0]).pow(2).sum(1)
            return d[best] - d[others].min()

        adv = pgd_l2_image(q, margin, 0.99 * r.nn_radius, steps=80)
        assert float(margin(adv)) < 0, (r.query, r.nn_radius)


def test_certified_search_labels_survive_pgd(model, images):
    index = Index(model)
    index.add(images[:7], ids=[f"db{i}" for i in range(7)])
    q = images[7]  # a near-duplicate of db0
    e = index.embeddings
    (r,) = index.search(q, k=4, eps=0.0, threshold=None)
    ds = [n.distance for n in r.neighbours]
    tau = 0.5 * (ds[0] + ds[1])
    (r,) = index.search(q, k=4, eps=0.0, threshold=tau)
    assert r.neighbours[0].same and not r.neighbours[1].same
    assert len(e) == 7
    for n in r.neighbours:
        target = images[n.row]
        sign = 1.0 if n.same else -1.0
        adv = pgd_l2_image(
            q, lambda x, sign=sign, target=target: sign * _d(model, x, target), 0.99 * n.radius, steps=60
        )
        assert (float(_d(model, adv, target)) <= tau) == n.same, n
