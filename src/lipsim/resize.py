"""Resizing to the model resolution, and the operator norm of that resize.

The argument, with the size-normalised pool: docs/certificates.md, 'Resizing and the size-normalised pool'.

Bilinear resizing with antialiasing is linear and separable: on an (H, W) image it is P = P_h (x) P_w,
so ||P||_2 = sigma_max(P_h) * sigma_max(P_w). Both 1-D matrices are built exactly by resizing the identity,
and their largest singular values computed in float64. A perturbation delta of the caller's image moves
the network input by at most ||P|| * ||delta||, so radii in the caller's pixel space are R / ||P||.
"""

from __future__ import annotations

from functools import lru_cache

import torch
import torch.nn.functional as F

__all__ = ["resize", "resize_matrix_1d", "resize_operator_norm"]


def resize(x: torch.Tensor, size: tuple[int, int]) -> torch.Tensor:
    """Bilinear resize with antialiasing of a (N, C, H, W) batch; identity when the size already matches."""
    if tuple(x.shape[-2:]) == tuple(size):
        return x
    return F.interpolate(x, size=size, mode="bilinear", antialias=True, align_corners=False)


@lru_cache(maxsize=256)
def resize_matrix_1d(n_in: int, n_out: int) -> torch.Tensor:
    """The (n_out, n_in) float64 matrix of resizing one axis from n_in to n_out samples."""
    if n_in == n_out:
        return torch.eye(n_in, dtype=torch.float64)
    # A batch of basis vectors along H. The width is 2, not 1: torch's antialiased bilinear kernel returns
    # wrong values for width-1 inputs (measured on torch 2.14: every output row equals the first).
    eye = torch.eye(n_in, dtype=torch.float32).view(n_in, 1, n_in, 1).expand(n_in, 1, n_in, 2).contiguous()
    out = F.interpolate(eye, size=(n_out, 2), mode="bilinear", antialias=True, align_corners=False)
    return out[:, 0, :, 0].T.to(torch.float64)


@lru_cache(maxsize=256)
def resize_operator_norm(in_size: tuple[int, int], out_size: tuple[int, int]) -> float:
    """Upper bound on the spectral norm ||P|| of resizing (H, W) -> out_size; 1.0 when no resize happens.

    Example:
        >>> round(resize_operator_norm((448, 448), (224, 224)), 3)   # 2x downsampling averages pixels
        0.501
    """
    if tuple(in_size) == tuple(out_size):
        return 1.0
    sh = torch.linalg.matrix_norm(resize_matrix_1d(in_size[0], out_size[0]), ord=2)
    sw = torch.linalg.matrix_norm(resize_matrix_1d(in_size[1], out_size[1]), ord=2)
    # 1e-6 relative headroom covers the float32 rounding of the resize matrices: radii stay sound.
    return float(sh * sw) * (1.0 + 1e-6)
