"""Numerical Lipschitz checks, all in float64.

- :func:`jacobian_norm`: power iteration on J^T J (J v by forward-mode AD, J^T u by reverse mode) at each
  sample of a batch; gives a lower bound on the local Lipschitz constant that converges to ||J||_2.
- :func:`adversarial_ratio`: Adam over pairs (x, y = x + s u/||u||), maximising ||h(x) - h(y)|| / ||x - y||
  for several fixed distances s (local and far), in one batch.
- :func:`operator_matrix` / :func:`exact_jacobian_norm`: the full Jacobian of one sample and its exact
  spectral norm (for a linear layer: the exact operator norm of its effective weight).

Every estimate is recorded in ``ESTIMATES`` (largest value per name); run pytest with
``LIPSIM_REPORT_LIPSCHITZ=1`` to print the table at the end.
"""

from __future__ import annotations

from collections.abc import Callable

import torch

Fn = Callable[[torch.Tensor], torch.Tensor]

TOL = 1e-6  # every estimate must stay <= 1 + TOL
ESTIMATES: dict[str, float] = {}


def record(name: str, value: float) -> float:
    ESTIMATES[name] = max(ESTIMATES.get(name, 0.0), float(value))
    return float(value)


def _norms(t: torch.Tensor) -> torch.Tensor:
    return t.flatten(1).norm(dim=1)


def _unit(t: torch.Tensor) -> torch.Tensor:
    return t / _norms(t).clamp_min(1e-300).view(-1, *([1] * (t.dim() - 1)))


def jacobian_norm(fn: Fn, x: torch.Tensor, iters: int = 40, seed: int = 0) -> torch.Tensor:
    """(N,) power-iteration estimates of ||J_fn(x_i)||_2; ``fn`` must treat samples independently."""
    x = x.detach()
    g = torch.Generator().manual_seed(seed)
    v = _unit(torch.randn(x.shape, generator=g, dtype=x.dtype))
    _, vjp_fn = torch.func.vjp(fn, x)
    for _ in range(iters):
        _, jv = torch.func.jvp(fn, (x,), (v,))
        (jtjv,) = vjp_fn(jv)
        v = _unit(jtjv)
    _, jv = torch.func.jvp(fn, (x,), (v,))
    return _norms(jv)


def adversarial_ratio(
    fn: Fn,
    x0: torch.Tensor,
    steps: int = 60,
    scales: tuple[float, ...] = (1e-3, 1e-1, 1.0),
    lr: float = 0.05,
    seed: int = 0,
) -> float:
    """Largest ||fn(x) - fn(y)|| / ||x - y|| found by Adam over (x, direction) from the starts ``x0``.

    Each start is tried at every distance in ``scales`` (so len(x0) * len(scales) restarts, batched).
    """
    g = torch.Generator().manual_seed(seed)
    n = x0.shape[0]
    s = torch.tensor(scales, dtype=x0.dtype).repeat_interleave(n).view(-1, *([1] * (x0.dim() - 1)))
    x = x0.detach().repeat(len(scales), *([1] * (x0.dim() - 1))).clone().requires_grad_(True)
    u = torch.randn(x.shape, generator=g, dtype=x0.dtype).requires_grad_(True)
    opt = torch.optim.Adam([x, u], lr=lr)
    best = 0.0
    for _ in range(steps + 1):
        y = x + s * _unit(u)
        ratio = _norms(fn(x) - fn(y)) / _norms(y - x)
        best = max(best, float(ratio.detach().max()))
        opt.zero_grad()
        (-ratio.sum()).backward()
        opt.step()
    return best


def operator_matrix(fn: Fn, x: torch.Tensor) -> torch.Tensor:
    """(out, in) Jacobian matrix of ``fn`` at the single sample ``x`` (shape (1, ...))."""
    x = x.detach()
    jac = torch.func.jacrev(fn)(x)
    out_numel = jac.numel() // x.numel()
    return jac.reshape(out_numel, x.numel())


def exact_jacobian_norm(fn: Fn, x: torch.Tensor) -> float:
    """Exact ||J_fn(x)||_2 at the single sample ``x`` (shape (1, ...)): the top eigenvalue of the smaller of
    J J^T and J^T J (symmetric eigensolver, float64; about 1e-15 relative error at norm ~1)."""
    j = operator_matrix(fn, x)
    gram = j @ j.T if j.shape[0] <= j.shape[1] else j.T @ j
    return float(torch.linalg.eigvalsh(gram)[-1].clamp_min(0).sqrt())


def check_lipschitz(
    name: str,
    fn: Fn,
    x: torch.Tensor,
    iters: int = 40,
    steps: int = 60,
    scales: tuple[float, ...] = (1e-3, 1e-1, 1.0),
) -> tuple[float, float]:
    """Power iteration at every sample of ``x`` and the adversarial pair search from them; both <= 1 + TOL.

    Returns (largest power-iteration estimate, largest adversarial ratio) for further checks.
    """
    assert x.dtype == torch.float64, "Lipschitz checks run in float64"
    power = record(f"{name} [power]", jacobian_norm(fn, x, iters).max())
    adv = record(f"{name} [adversarial]", adversarial_ratio(fn, x, steps, scales))
    assert power <= 1 + TOL, f"{name}: power iteration found ||J|| = {power!r} > 1"
    assert adv <= 1 + TOL, f"{name}: adversarial pair with ratio {adv!r} > 1"
    return power, adv
