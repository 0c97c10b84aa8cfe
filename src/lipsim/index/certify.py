"""Certified answers of an index: pair labels at a threshold, and the radius of a query's nearest neighbour.

Notation as in :mod:`lipsim.certificates`: phi unit embeddings, s = ||phi(x) - phi(y)||, d = s^2 / 2, tau the
threshold of "same" (d <= tau, i.e. s <= sqrt(2 tau)). A perturbation of an image by delta (l2, caller
pixels) moves its phi by at most ``phi_shift_bound`` (resize_norm * ||delta|| with the constant coordinate).

Pairs (dedup; one of the two images moves): the decision d <= tau cannot change while phi moves by less than
|s - sqrt(2 tau)| (triangle inequality), which ``radius_for_margin`` turns into caller pixels.

Nearest neighbour (search; the query moves, the indexed images do not): let a_1 be the nearest stored
embedding to q = phi(query), s_j = ||q - a_j||. If q moves to q + v,

    ||q + v - a_1|| <= s_1 + ||v||   and   ||q + v - a_j|| >= s_j - ||v||,

so a_1 stays strictly nearest while ||v|| < (s_2 - s_1) / 2. A tighter exact form: a_1 stays nearer than a_j
while q + v stays on a_1's side of their bisecting hyperplane; f_j(v) = ||q+v-a_j||^2 - ||q+v-a_1||^2 =
f_j(0) + 2 <v, a_1 - a_j> is positive while ||v|| < f_j(0) / (2 ||a_1 - a_j||). Since ||a_1 - a_j|| <= s_1 + s_j,
this is >= (s_j - s_1) / 2 for every j, so the minimum over j (used for exact search) is never below the
triangle bound (used for items an approximate search did not score). Stored embeddings whose vectors are
identical to a_1's are the same answer and are skipped.

Embeddings are stored in float32: each stored vector is within 2^-24 ||phi|| of the computed one, so
distances are trusted to ``S_SLACK`` and squared-distance differences to ``F_SLACK``, which are taken off
every margin before it becomes a radius.
"""

from __future__ import annotations

from dataclasses import dataclass

import torch

from ..certificates import EmbeddingBatch, phi_shift_bound, radius_for_margin

__all__ = [
    "CERTIFIED_SAME",
    "SAME",
    "DIFFERENT",
    "CERTIFIED_DIFFERENT",
    "LABELS",
    "PairCertificates",
    "certify_pairs",
    "certify_distances",
    "query_intervals",
    "bisector_radius",
    "label_of",
    "S_SLACK",
    "F_SLACK",
]

CERTIFIED_SAME = "certified-same"
SAME = "same"
DIFFERENT = "different"
CERTIFIED_DIFFERENT = "certified-different"
LABELS = (CERTIFIED_SAME, SAME, DIFFERENT, CERTIFIED_DIFFERENT)

S_SLACK = 4.0 * 2.0**-24  # |s computed from float32 copies - s| <= 2 * 2^-24 (each vector has norm ~1)
F_SLACK = 1e-6  # the same for s_j^2 - s_1^2 (|s_j + s_1| <= 4, plus float64 round-off)


def label_of(same: bool, certified: bool) -> str:
    """The label of a decision: certified-same, same, different or certified-different."""
    if same:
        return CERTIFIED_SAME if certified else SAME
    return CERTIFIED_DIFFERENT if certified else DIFFERENT


@dataclass(frozen=True)
class PairCertificates:
    """Certified facts about pairs (a_i, b_i) when one of the two images moves by at most eps.

    Attributes:
        distance: (N,) d in [0, 2].
        lower: (N,) certified lower bound of d at eps.
        upper: (N,) certified upper bound of d at eps.
        same: (N,) d <= threshold.
        radius: (N,) caller-pixel l2 radius within which the decision cannot change.
        certified: (N,) radius > eps.
        labels: one label per pair.
    """

    distance: torch.Tensor
    lower: torch.Tensor
    upper: torch.Tensor
    same: torch.Tensor
    radius: torch.Tensor
    certified: torch.Tensor
    labels: list[str]


def _dist(a: torch.Tensor, b: torch.Tensor) -> torch.Tensor:
    return (a.double() - b.double()).norm(dim=-1)


def certify_pairs(ea: EmbeddingBatch, eb: EmbeddingBatch, eps: float, threshold: float) -> PairCertificates:
    """Labels of pairs: either image may move by eps (an attacker edits one copy).

    Example:
        >>> e = lambda v: EmbeddingBatch(torch.tensor([v]), torch.ones(1), torch.ones(1))
        >>> c = certify_pairs(e([1.0, 0.0]), e([0.8, 0.6]), eps=0.05, threshold=0.5)
        >>> c.labels, round(float(c.radius), 4)   # s = 0.6325 < sqrt(2 tau) = 1: margin 0.3675
        (['certified-same'], 0.3675)
    """
    return certify_distances(_dist(ea.phi, eb.phi), ea, eb, eps, threshold)


def certify_distances(
    s: torch.Tensor, ea: EmbeddingBatch, eb: EmbeddingBatch, eps: float, threshold: float
) -> PairCertificates:
    """:func:`certify_pairs` from precomputed distances s = ||phi_a - phi_b||.

    Only ``resize_norm`` and ``feature_norm`` of ``ea`` and ``eb`` are used.
    """
    _check(eps, threshold)
    s = s.double()
    shift = torch.maximum(phi_shift_bound(_f64(ea), eps), phi_shift_bound(_f64(eb), eps)) + S_SLACK
    lower = 0.5 * (s - shift).clamp_min(0).pow(2)
    upper = (0.5 * (s + shift).pow(2)).clamp_max(2.0)
    cut = (2.0 * threshold) ** 0.5
    same = s <= cut
    margin = (s - cut).abs() - S_SLACK
    radius = torch.minimum(radius_for_margin(_f64(ea), margin), radius_for_margin(_f64(eb), margin))
    certified = radius > eps
    labels = [label_of(bool(a), bool(c)) for a, c in zip(same, certified)]
    return PairCertificates(0.5 * s * s, lower, upper, same, radius, certified, labels)


def query_intervals(eq: EmbeddingBatch, s: torch.Tensor, eps: float, threshold: float | None):
    """Certified interval of d and the "same" radius for query i vs its neighbours (s: (Q, K) distances).

    Only the query moves. Returns (lower, upper, radius or None), each (Q, K).
    """
    _check(eps, threshold)
    q = _f64(eq)
    shift = phi_shift_bound(q, eps)[:, None] + S_SLACK
    lower = 0.5 * (s - shift).clamp_min(0).pow(2)
    upper = (0.5 * (s + shift).pow(2)).clamp_max(2.0)
    if threshold is None:
        return lower, upper, None
    margin = (s - (2.0 * threshold) ** 0.5).abs() - S_SLACK
    k = s.shape[1]
    rep = EmbeddingBatch(
        q.phi.repeat_interleave(k, 0),
        q.feature_norm.repeat_interleave(k),
        q.resize_norm.repeat_interleave(k),
        q.constant_appended,
    )
    return lower, upper, radius_for_margin(rep, margin.reshape(-1)).reshape(s.shape)


def bisector_radius(q: torch.Tensor, a1: torch.Tensor, others: torch.Tensor) -> torch.Tensor:
    """phi-space radius within which ``a1`` stays nearer to q than every row of ``others`` (float64).

    min_j (f_j - F_SLACK) / (2 ||a1 - a_j||), f_j = ||q - a_j||^2 - ||q - a1||^2; rows equal to a1 are skipped;
    +inf when nothing is left.

    Example:
        >>> q = torch.tensor([1.0, 0.0]); a1 = torch.tensor([1.0, 0.0]); a2 = torch.tensor([[0.0, 1.0]])
        >>> round(float(bisector_radius(q, a1, a2)), 4)   # distance from q to the line x = y
        0.7071
    """
    q, a1, others = q.double(), a1.double(), others.double()
    if others.shape[0] == 0:
        return torch.tensor(float("inf"), dtype=torch.float64)
    diff = others - a1  # (M, D)
    gap = diff.norm(dim=1)
    f = (q - others).pow(2).sum(1) - (q - a1).pow(2).sum()
    r = (f - F_SLACK).clamp_min(0) / (2 * gap)
    r = torch.where(gap == 0, torch.full_like(r, float("inf")), r)
    return r.min()


def _f64(e: EmbeddingBatch) -> EmbeddingBatch:
    return EmbeddingBatch(e.phi.double(), e.feature_norm.double(), e.resize_norm.double(), e.constant_appended)


def _check(eps: float, threshold: float | None) -> None:
    if not (isinstance(eps, (int, float)) and eps >= 0 and eps != float("inf")):
        raise ValueError(f"eps must be a finite number >= 0 (l2 budget in caller pixels), got {eps!r}")
    if threshold is not None and not (isinstance(threshold, (int, float)) and 0.0 <= threshold <= 2.0):
        raise ValueError(f"threshold must be in [0, 2] (the range of d), got {threshold!r}")
