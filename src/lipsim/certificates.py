"""Certified bounds computed from embeddings (docs/certificates.md has each statement and its proof).

phi is the unit-norm embedding, s = ||phi(x) - phi(y)|| and d = s^2 / 2. All bounds follow from a
Lipschitz bound on the map from the caller's image to phi:

- with the constant coordinate appended, phi = g / ||g|| with ||g|| >= 1 is 1-Lipschitz in the network
  input, so an image moved by eps (caller pixels) moves phi by at most ||P|| * eps, P the resize operator;
- without it (``constant_coordinate="none"``, paper checkpoints), z -> z / ||z|| is only 1/r-Lipschitz on
  {||z|| >= r}. Within a ball of radius rho around x, ||f|| >= ||f(x)|| - rho, so phi moves by at most
  rho / (||f(x)|| - rho), and nothing is certified once rho >= ||f(x)||.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

import torch

from ._deprecated import warn_renamed

__all__ = [
    "CERTIFIED_EPS",
    "DEFAULT_EPS",
    "DistanceCertificate",
    "TwoAFCResult",
    "EmbeddingBatch",
    "certify_pair",
    "certify_two_afc",
    "phi_shift_bound",
    "radius_for_margin",
]

Perturb = Literal["either", "both"]

#: The default l2 budget eps in the caller's pixels (pixels in [0, 1]): 36/255, the LipSim paper's smallest.
DEFAULT_EPS = 36 / 255
#: The budgets certified 2AFC scores are reported at: 36/255, 72/255 and 108/255.
CERTIFIED_EPS = (DEFAULT_EPS, 2 * DEFAULT_EPS, 3 * DEFAULT_EPS)


@dataclass(frozen=True)
class EmbeddingBatch:
    """Unit-norm embeddings with what the certificates need about how they were computed.

    Attributes:
        phi: (N, D) unit-norm embeddings.
        feature_norm: (N,) norms ||f(x)|| of the backbone output (used only without the constant coordinate).
        resize_norm: (N,) the factor c by which a perturbation of each caller image can move the network's
            output: the resize operator norm times the network's Lipschitz bound at that size (1 when neither).
        constant_appended: whether phi = [f; 1] / ||[f; 1]|| (True, ``constant_coordinate="append"``) or
            f / ||f|| (False).

    ``fnorm``, ``pnorm`` and ``constant_coordinate`` are the deprecated names of the last three.
    """

    phi: torch.Tensor
    feature_norm: torch.Tensor
    resize_norm: torch.Tensor
    constant_appended: bool = True

    @property
    def fnorm(self) -> torch.Tensor:
        """Deprecated name of :attr:`feature_norm`."""
        warn_renamed("EmbeddingBatch.fnorm", "EmbeddingBatch.feature_norm")
        return self.feature_norm

    @property
    def pnorm(self) -> torch.Tensor:
        """Deprecated name of :attr:`resize_norm`."""
        warn_renamed("EmbeddingBatch.pnorm", "EmbeddingBatch.resize_norm")
        return self.resize_norm

    @property
    def constant_coordinate(self) -> bool:
        """Deprecated name of :attr:`constant_appended` (a bool here; ``LipSim.constant_coordinate`` is a string)."""
        warn_renamed("EmbeddingBatch.constant_coordinate", "EmbeddingBatch.constant_appended")
        return self.constant_appended


@dataclass(frozen=True)
class DistanceCertificate:
    """Distance of each pair with its certified interval (and optionally a thresholded decision).

    Attributes:
        distance: (N,) d = 1 - cos in [0, 2].
        lower: (N,) certified lower bound of d under the perturbation model.
        upper: (N,) certified upper bound of d.
        eps: l2 budget per image, in the caller's pixel space ([0, 1] scale).
        perturb: "either" (one image, any of the two, moves by <= eps) or "both" (each moves by <= eps).
        threshold: the decision threshold tau, or None.
        same: (N,) bool, d <= tau, or None.
        radius: (N,) certified l2 radius of the decision in caller pixels (same perturbation model), or None.
    """

    distance: torch.Tensor
    lower: torch.Tensor
    upper: torch.Tensor
    eps: float
    perturb: str
    threshold: float | None = None
    same: torch.Tensor | None = None
    radius: torch.Tensor | None = None


@dataclass(frozen=True)
class TwoAFCResult:
    """A two-alternative forced choice: which candidate is closer to the reference.

    Attributes:
        d0: (N,) d(ref, x0).
        d1: (N,) d(ref, x1).
        choice: (N,) int64, 0 if x0 is strictly closer, else 1.
        radius: (N,) certified l2 radius (caller pixels) of perturbations of ``ref`` that cannot change
            the choice; 0 on ties.
    """

    d0: torch.Tensor
    d1: torch.Tensor
    choice: torch.Tensor
    radius: torch.Tensor


def phi_shift_bound(e: EmbeddingBatch, eps: float) -> torch.Tensor:
    """(N,) upper bound on ||phi(x + delta) - phi(x)|| over ||delta|| <= eps (caller pixels)."""
    rho = e.resize_norm * eps  # radius in network-input space
    if e.constant_appended:
        return rho
    room = e.feature_norm - rho
    bound = rho / room.clamp_min(torch.finfo(room.dtype).tiny)
    return torch.where(room > 0, bound, torch.full_like(bound, float("inf")))


def radius_for_margin(e: EmbeddingBatch, margin: torch.Tensor) -> torch.Tensor:
    """(N,) largest R (caller pixels) such that phi moves by less than ``margin`` within l2 radius R."""
    margin = margin.clamp_min(0)
    if e.constant_appended:
        rho = margin
    else:
        # rho / (n - rho) < m  <=>  rho < m n / (1 + m)
        rho = margin * e.feature_norm / (1 + margin)
    return rho / e.resize_norm


def _sq_dist(a: torch.Tensor, b: torch.Tensor) -> torch.Tensor:
    return (a - b).pow(2).sum(dim=-1)


def certify_pair(
    e0: EmbeddingBatch,
    e1: EmbeddingBatch,
    eps: float,
    threshold: float | None = None,
    perturb: Perturb = "either",
) -> DistanceCertificate:
    """Certified interval of d(x0, x1) and, with ``threshold``, the radius of the decision d <= threshold.

    Args:
        e0: embeddings of the first images.
        e1: embeddings of the second images.
        eps: l2 budget per image in caller pixels.
        threshold: tau of the decision "same" = d <= tau, in [0, 2].
        perturb: "either": one of the two images moves by <= eps (docs/certificates.md, 'Pair interval');
            "both": each image moves by <= eps (the interval widens accordingly).
    """
    if perturb not in ("either", "both"):
        raise ValueError(f"perturb must be 'either' or 'both', got {perturb!r}")
    if not eps >= 0:
        raise ValueError(f"eps must be a non-negative number, got {eps}")
    s = _sq_dist(e0.phi, e1.phi).sqrt()
    d = 0.5 * s * s
    b0, b1 = phi_shift_bound(e0, eps), phi_shift_bound(e1, eps)
    shift = torch.maximum(b0, b1) if perturb == "either" else b0 + b1
    lower = 0.5 * (s - shift).clamp_min(0).pow(2)
    upper = (0.5 * (s + shift).pow(2)).clamp_max(2.0)
    same = radius = None
    if threshold is not None:
        if not 0.0 <= threshold <= 2.0:
            raise ValueError(f"threshold must be in [0, 2] (the range of d), got {threshold}")
        margin = (s - (2.0 * threshold) ** 0.5).abs()
        same = d <= threshold
        if perturb == "either":
            radius = torch.minimum(radius_for_margin(e0, margin), radius_for_margin(e1, margin))
        else:
            # both move by <= r: the two shifts add up, so each may use half of the margin
            radius = torch.minimum(radius_for_margin(e0, margin / 2), radius_for_margin(e1, margin / 2))
    return DistanceCertificate(d, lower, upper, float(eps), perturb, threshold, same, radius)


def certify_two_afc(ref: EmbeddingBatch, e0: EmbeddingBatch, e1: EmbeddingBatch) -> TwoAFCResult:
    """2AFC choice with the certified radius for perturbations of the reference.

    d(x, x1) - d(x, x0) = <phi(x), phi(x0) - phi(x1)>, so moving phi(x) by v changes the margin by at most
    ||v|| ||phi(x0) - phi(x1)||; the choice holds while ||v|| < |margin| / ||phi(x0) - phi(x1)||.
    """
    d0 = 0.5 * _sq_dist(ref.phi, e0.phi)
    d1 = 0.5 * _sq_dist(ref.phi, e1.phi)
    choice = (d0 >= d1).long()
    gap = (e0.phi - e1.phi).norm(dim=-1)
    margin = (d1 - d0).abs() / gap.clamp_min(torch.finfo(gap.dtype).tiny)
    radius = torch.where((d0 == d1) | (gap == 0), torch.zeros_like(d0), radius_for_margin(ref, margin))
    return TwoAFCResult(d0, d1, choice, radius)
