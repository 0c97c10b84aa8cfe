"""Resizing to the model resolution, and the operator norm of that resize, in memory linear in the sides.

The argument, with the size-normalised pool: docs/certificates.md, 'Resizing and the size-normalised pool'.

Bilinear resizing with antialiasing is linear and separable: on an (H, W) image it is P = P_h (x) P_w,
so ||P||_2 = sigma_max(P_h) * sigma_max(P_w). A perturbation delta of the caller's image moves the network input
by at most ||P|| * ||delta||, so radii in the caller's pixel space are R / ||P||.

Each 1-D matrix is banded: output i reads a window of about ``2 * max(1, n_in / n_out) + 1`` inputs. Its
non-zero entries are read from torch's own kernel (:func:`resize_band`: a few comb-shaped inputs, never the
identity), in float32 and in float64 (torch computes the weights in the input's precision; the two differ by up
to a few 1e-6 in sigma_max). sigma_max^2 is the largest eigenvalue of the Gram matrix of the smaller side
(P P^T or P^T P, banded too), found by bisection with a banded Cholesky test of ``s I - G`` (positive definite
exactly when s exceeds every eigenvalue), so the value returned is an upper bound, tight to 1e-9. Memory is linear
in the sides and nothing of side x side size is built.

:func:`resize_operator_norm` refuses, with a one-line :class:`~lipsim.errors.ImageError` (:func:`check_resize`),
what no model needs: outputs with a side over :data:`MAX_RESIZE_SIDE` or under 1 px, inputs with a side over
:data:`MAX_RESIZE_INPUT_SIDE`, and shrinking a side more than :data:`MAX_RESIZE_FACTOR` times. Every resize to a
network size computes that norm before resizing, so such a request fails before the image is resized.

Example:
    >>> round(resize_operator_norm((448, 448), (224, 224)), 3)   # 2x downsampling averages pixels
    0.501
    >>> resize_operator_norm((1, 60000), (64, 3840000))
    Traceback (most recent call last):
    ...
    lipsim.errors.ImageError: resizing (H, W) = (1, 60000) to (64, 3840000) is refused: a side over 8192 px \
(lipsim.resize.MAX_RESIZE_SIDE); the image is too elongated, or the size asked for too large
"""

from __future__ import annotations

import math
import operator
from functools import lru_cache
from typing import Any, NamedTuple

import numpy as np
import torch
import torch.nn.functional as F

from .errors import ImageError

__all__ = [
    "MAX_RESIZE_FACTOR",
    "MAX_RESIZE_INPUT_SIDE",
    "MAX_RESIZE_SIDE",
    "ResizeBand",
    "check_resize",
    "resize",
    "resize_band",
    "resize_matrix_1d",
    "resize_operator_norm",
    "resize_singular_value",
]

#: Longest side a resize produces (8192 px: twice the largest ``image_size`` a config allows).
MAX_RESIZE_SIDE = 8192
#: Longest side of an image that is resized (65536 px, above JPEG's limit of 65535).
MAX_RESIZE_INPUT_SIDE = 65536
#: Most a resize shrinks one side (n_in / n_out); reading the weights costs about n_in times this factor.
MAX_RESIZE_FACTOR = 1024
#: Relative headroom on ||P||: covers the rounding of the resize arithmetic (the weights themselves are exact).
_HEADROOM = 1e-6
#: Elements of the comb inputs read per call of the kernel (bounds the memory of :func:`resize_band`).
_PROBE_ELEMENTS = 1 << 22
#: Largest dense matrix :func:`resize_matrix_1d` builds (n_in * n_out entries).
_MAX_DENSE = 1 << 24


def _size(value: Any, what: str) -> tuple[int, int]:
    """``value`` as an (H, W) pair of Python ints (anything with ``__index__`` but bool), or a TypeError."""
    try:
        if isinstance(value, (str, bytes)) or len(value) != 2 or any(isinstance(v, bool) for v in value):
            raise TypeError
        return operator.index(value[0]), operator.index(value[1])
    except TypeError:
        raise TypeError(f"{what} must be a pair of ints (H, W), got {value!r}") from None


def check_resize(in_size: tuple[int, int], out_size: tuple[int, int], name: str | None = None) -> None:
    """Refuse (ImageError, one line) a resize outside the limits of the module docstring; None when it is fine.

    Args:
        in_size: (H, W) of the image.
        out_size: (H, W) it would be resized to.
        name: how the message names the image (e.g. its file), or None.

    Example:
        >>> check_resize((3000, 4000), (384, 512))   # a photo to the network size: fine
        >>> check_resize((500, 500), (100000, 100000))
        Traceback (most recent call last):
        ...
        lipsim.errors.ImageError: resizing (H, W) = (500, 500) to (100000, 100000) is refused: a side over 8192 px \
(lipsim.resize.MAX_RESIZE_SIDE); the image is too elongated, or the size asked for too large
    """
    (h, w), (oh, ow) = _size(in_size, "in_size"), _size(out_size, "out_size")
    what = f"resizing (H, W) = ({h}, {w}) to ({oh}, {ow})"
    prefix = f"{name}: " if name else ""
    if min(h, w, oh, ow) < 1:
        raise ImageError(f"{prefix}{what} is refused: every side must be at least 1 px")
    if max(oh, ow) > MAX_RESIZE_SIDE:
        raise ImageError(
            f"{prefix}{what} is refused: a side over {MAX_RESIZE_SIDE} px (lipsim.resize.MAX_RESIZE_SIDE); "
            "the image is too elongated, or the size asked for too large"
        )
    if max(h, w) > MAX_RESIZE_INPUT_SIDE:
        raise ImageError(
            f"{prefix}{what} is refused: the image has a side over {MAX_RESIZE_INPUT_SIDE} px "
            "(lipsim.resize.MAX_RESIZE_INPUT_SIDE)"
        )
    if max(h / oh, w / ow) > MAX_RESIZE_FACTOR:
        raise ImageError(
            f"{prefix}{what} is refused: it shrinks a side more than {MAX_RESIZE_FACTOR} times "
            "(lipsim.resize.MAX_RESIZE_FACTOR); the image is too elongated for this size"
        )


def resize(x: torch.Tensor, size: tuple[int, int]) -> torch.Tensor:
    """Bilinear resize with antialiasing of a (N, C, H, W) batch; identity when the size already matches.

    The sizes are not limited here (the output is as large as asked); :func:`resize_operator_norm`, which every
    resize to a network size computes first, refuses those outside the limits.

    Example:
        >>> resize(torch.rand(2, 3, 40, 30), (16, 16)).shape
        torch.Size([2, 3, 16, 16])
    """
    in_size = (int(x.shape[-2]), int(x.shape[-1]))
    out = (int(size[0]), int(size[1]))
    if in_size == out:
        return x
    if in_size[1] == 1 and out[1] == 1:
        # torch's antialiased kernel is wrong when the width stays 1 (measured on torch 2.14: the output rows mix
        # the batch); a width of 2 holding the same column resizes exactly as P_h does
        wide = x.expand(*x.shape[:-1], 2).contiguous()
        return F.interpolate(wide, size=(out[0], 2), mode="bilinear", antialias=True, align_corners=False)[..., :1]
    return F.interpolate(x, size=out, mode="bilinear", antialias=True, align_corners=False)


class ResizeBand(NamedTuple):
    """The (n_out, n_in) matrix of a 1-D resize, stored by rows: row i is ``weights[i]`` from column ``start[i]``.

    Attributes:
        start: (n_out,) int64, the first column of each row's window (non-decreasing).
        weights: (n_out, K) float64; columns ``start[i] + t`` at or beyond n_in hold 0.
    """

    start: torch.Tensor
    weights: torch.Tensor


def _windows(n_in: int, n_out: int) -> tuple[torch.Tensor, int]:
    """First column of a window holding every input output i reads, and the common window length K.

    Output i reads the inputs whose centres lie within ``max(1, n_in / n_out)`` of its own centre, mapped to
    input coordinates; one extra column on each side covers any rounding of those centres in float32.
    """
    scale = n_in / n_out
    support = max(scale, 1.0)
    centre = (torch.arange(n_out, dtype=torch.float64) + 0.5) * scale
    start = (torch.floor(centre - support) - 1).clamp(min=0).long()
    stop = (torch.ceil(centre + support) + 1).clamp(max=n_in).long()
    return start, int((stop - start).max())


def resize_band(n_in: int, n_out: int, dtype: torch.dtype = torch.float32) -> ResizeBand:
    """The 1-D resize matrix n_in -> n_out as torch's antialiased bilinear kernel applies it in ``dtype``.

    The entries are read from :func:`torch.nn.functional.interpolate` itself: input r of K comb inputs holds a 1
    at every column congruent to r modulo K (K >= every window), so each output sees at most one 1 and returns
    that column's weight exactly. Memory is about K * n_out entries plus ``2**22`` per kernel call.

    Example:
        >>> b = resize_band(4, 2, torch.float64)   # halving: each output averages a window around its centre
        >>> b.start.tolist(), [round(w, 4) for w in b.weights[0].tolist()]
        ([0, 0], [0.4286, 0.4286, 0.1429, 0.0])
    """
    check_resize((1, n_in), (1, n_out))
    start, k = _windows(n_in, n_out)
    combs = torch.arange(n_in) % k
    seen = torch.empty(k, n_out, dtype=torch.float64)
    per_call = max(1, min(k, _PROBE_ELEMENTS // (n_in + n_out)))
    for r0 in range(0, k, per_call):
        r = torch.arange(r0, min(k, r0 + per_call))
        x = (combs[None, :] == r[:, None]).to(dtype).view(len(r), 1, 1, n_in)
        # along W with H = 1: the path that torch computes correctly for any width (see resize)
        y = F.interpolate(x, size=(1, n_out), mode="bilinear", antialias=True, align_corners=False)
        seen[r0 : r0 + len(r)] = y.view(len(r), n_out).to(torch.float64)
    cols = start[:, None] + torch.arange(k)[None, :]
    weights = seen[cols % k, torch.arange(n_out)[:, None]]
    weights[cols >= n_in] = 0.0
    return ResizeBand(start, weights)


def resize_matrix_1d(n_in: int, n_out: int) -> torch.Tensor:
    """The dense (n_out, n_in) float64 matrix of resizing one axis (float32 kernel), for small sizes and tests.

    At most ``2**24`` entries (a ValueError beyond); :func:`resize_band` holds the same entries by rows.

    Example:
        >>> [round(s, 6) for s in resize_matrix_1d(4, 2).sum(dim=1).tolist()]   # every output is a weighted mean
        [1.0, 1.0]
    """
    if n_in == n_out:
        return torch.eye(n_in, dtype=torch.float64)
    if n_in * n_out > _MAX_DENSE:
        raise ValueError(
            f"resize_matrix_1d({n_in}, {n_out}) would hold {n_in * n_out:,} entries, more than {_MAX_DENSE:,}; "
            "use resize_band for large sizes"
        )
    band = resize_band(n_in, n_out)
    k = band.weights.shape[1]
    dense = torch.zeros(n_out, n_in + k, dtype=torch.float64)
    dense.scatter_(1, band.start[:, None] + torch.arange(k)[None, :], band.weights)
    return dense[:, :n_in]


def _gram_bands(band: ResizeBand, n_in: int) -> list[np.ndarray]:
    """Diagonals 0..b of the Gram matrix of the smaller side: P P^T (n_out <= n_in) or P^T P (n_out > n_in)."""
    start, w = band
    n_out, k = w.shape
    bands: list[torch.Tensor] = []
    if n_out <= n_in:  # G[i, i + d] = sum_t w[i, t] w[i + d, t - (start[i + d] - start[i])]
        t = torch.arange(k)
        d = 0
        while d < n_out and (d == 0 or bool((start[d:] - start[:-d] < k).any())):
            shift = start[d:] - start[: n_out - d]
            idx = t[None, :] - shift[:, None]
            valid = (idx >= 0) & (idx < k)
            other = w[d:].gather(1, idx.clamp(0, k - 1)) * valid
            bands.append((w[: n_out - d] * other).sum(dim=1))
            d += 1
    else:  # G[j, j + d] = sum over the rows i reading both columns of w[i, j - start[i]] w[i, j + d - start[i]]
        cols = start[:, None] + torch.arange(k)[None, :]
        for d in range(min(k, n_in)):
            diag = torch.zeros(n_in - d, dtype=torch.float64)
            keep = cols[:, : k - d] < n_in - d
            diag.index_add_(0, cols[:, : k - d][keep], (w[:, : k - d] * w[:, d:])[keep])
            bands.append(diag)
    while len(bands) > 1 and not bool(bands[-1].any()):
        bands.pop()
    return [b.numpy() for b in bands]


def _band_matvec(bands: list[np.ndarray], v: np.ndarray) -> np.ndarray:
    out = bands[0] * v
    for d in range(1, len(bands)):
        out[:-d] += bands[d] * v[d:]
        out[d:] += bands[d] * v[:-d]
    return out


def _positive_definite(bands: list[np.ndarray], shifts: np.ndarray) -> np.ndarray:
    """For each s in ``shifts``: whether s I - G is positive definite (banded Cholesky, all shifts at once)."""
    b, m = len(bands) - 1, len(bands[0])
    ok = np.ones(len(shifts), dtype=bool)
    one = np.ones(len(shifts))
    rows: list[np.ndarray] = []  # the last b rows of L, each (b + 1, S): entries L[r, r - b .. r]
    for i in range(m):
        row = np.zeros((b + 1, len(shifts)))
        for k in range(min(b, i), 0, -1):  # column c = i - k, from the band's edge to the diagonal
            c, prev = i - k, rows[-k]
            acc = -bands[k][c] * one
            for j in range(max(i - b, 0), c):  # columns both rows hold left of c
                acc -= row[j - i + b] * prev[j - c + b]
            row[b - k] = acc / prev[b]
        pivot = shifts - bands[0][i] - (row[:b] ** 2).sum(axis=0)
        ok &= pivot > 0
        row[b] = np.sqrt(np.where(pivot > 0, pivot, 1.0))
        rows.append(row)
        if len(rows) > b:
            rows.pop(0)
    return ok


def _largest_eigenvalue(bands: list[np.ndarray], rel_tol: float = 1e-10) -> float:
    """An upper bound on the largest eigenvalue of a symmetric banded matrix with non-negative entries.

    A power iteration brackets it (its Rayleigh quotient below, the Collatz-Wielandt bound max (Gv)_i / v_i of
    its positive iterate above); bisection with :func:`_positive_definite` on 255 shifts per pass narrows the
    bracket to ``rel_tol``. The upper end returned always passed that test (or is the Collatz-Wielandt bound).
    """
    m = len(bands[0])
    v = np.ones(m)
    for _ in range(30):
        gv = _band_matvec(bands, v)
        top = gv.max()
        if top <= 0:
            return 0.0  # G = 0
        v = gv / top
    gv = _band_matvec(bands, v)
    lo = float(v @ gv / (v @ v)) * (1 - 1e-12)
    floor = v.max() * 1e-150
    hi = float(np.max(gv / np.maximum(v, floor))) if floor > 0 else math.inf
    rows = bands[0].copy()
    for d in range(1, len(bands)):
        rows[:-d] += bands[d]
        rows[d:] += bands[d]
    hi = min(hi, float(rows.max())) * (1 + 1e-12)  # Gershgorin: the largest row sum (entries >= 0)
    for _ in range(12):
        if hi - lo <= rel_tol * hi:
            break
        shifts = lo + (hi - lo) * np.arange(1, 256) / 256
        ok = _positive_definite(bands, shifts)
        if ok.any():
            hi = float(shifts[np.argmax(ok)])
        below = shifts[~ok & (shifts < hi)]
        if below.size:
            lo = float(below.max())
    # a Cholesky that succeeds in float64 proves s I - G + E positive definite with |E| ~ (b + 2) * 1e-16 * s
    return hi * (1 + 1e-12)


@lru_cache(maxsize=1024)
def resize_singular_value(n_in: int, n_out: int) -> float:
    """An upper bound, tight to 1e-9, on sigma_max of the 1-D resize n_in -> n_out (float32 and float64 kernels).

    Example:
        >>> round(resize_singular_value(448, 224) ** 2, 4)   # halving: about 1/2, a little more at the borders
        0.5006
        >>> round(resize_singular_value(1, 16), 9)   # one pixel copied 16 times: sqrt(16)
        4.0
    """
    if n_in == n_out:
        return 1.0
    top = 0.0
    for dtype in (torch.float32, torch.float64):
        band = resize_band(n_in, n_out, dtype)
        top = max(top, _largest_eigenvalue(_gram_bands(band, n_in)))
    return math.sqrt(top)


@lru_cache(maxsize=256)
def resize_operator_norm(in_size: tuple[int, int], out_size: tuple[int, int]) -> float:
    """Upper bound on the spectral norm ||P|| of resizing (H, W) -> out_size; 1.0 when no resize happens.

    Sizes outside the limits raise an ImageError (:func:`check_resize`).

    Example:
        >>> round(resize_operator_norm((448, 448), (224, 224)), 3)   # 2x downsampling averages pixels
        0.501
    """
    (h, w), (oh, ow) = _size(in_size, "in_size"), _size(out_size, "out_size")
    if (h, w) == (oh, ow):
        return 1.0
    check_resize((h, w), (oh, ow))
    # the relative headroom covers the rounding of the resize arithmetic: radii stay sound
    return resize_singular_value(h, oh) * resize_singular_value(w, ow) * (1.0 + _HEADROOM)
