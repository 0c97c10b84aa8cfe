"""l2 projected gradient descent on images: the one attack the tests use to check certified answers."""

from __future__ import annotations

from collections.abc import Callable, Sequence

import torch


def _bshape(r: torch.Tensor, like: torch.Tensor) -> torch.Tensor:
    return r.view(-1, *([1] * (like.dim() - 1)))


def _project(delta: torch.Tensor, radius: torch.Tensor) -> torch.Tensor:
    n = delta.flatten(1).norm(dim=1).clamp_min(torch.finfo(delta.dtype).tiny)
    return delta * _bshape(torch.clamp(radius / n, max=1.0), delta)


def pgd_l2(
    objective: Callable[..., torch.Tensor],
    xs: Sequence[torch.Tensor],
    radius: torch.Tensor | float,
    steps: int = 50,
    seed: int = 0,
    restarts: int = 1,
    box: tuple[float, float] | None = (0.0, 1.0),
) -> tuple[torch.Tensor, list[torch.Tensor]]:
    """Minimise ``objective(*points)`` ((N,) values) over ``points[k] = xs[k] + delta_k``, ||delta_k[i]|| <= radius[i].

    Every tensor in ``xs`` (each (N, ...)) moves by its own delta. Each restart starts at a random point of the
    ball (uniform direction, norm a uniform share of the radius) and takes ``steps`` normalised-gradient steps of
    2.5 radius / steps, each followed by the projection onto the ball. Points are clamped to ``box`` before they
    are evaluated (for x inside the box this only shrinks |delta| coordinate-wise, so the point stays in the
    ball); ``box=None`` leaves them unclamped. Every evaluated point is checked to be feasible. To maximise,
    minimise the negated objective.

    Returns:
        ``(best, points)``: the lowest value reached for each sample (N,), and for each tensor of ``xs`` the
        points that reached it.
    """
    n = xs[0].shape[0]
    radius = torch.as_tensor(radius, dtype=xs[0].dtype).reshape(-1).expand(n).detach().clamp_min(0)
    g = torch.Generator().manual_seed(seed)
    alpha = 2.5 * radius / steps
    best = torch.full((n,), float("inf"), dtype=xs[0].dtype)
    best_points = [x.detach().clone() for x in xs]

    def feasible(points: list[torch.Tensor]) -> list[torch.Tensor]:
        if box is not None:
            points = [p.clamp(*box) for p in points]
        for x, p in zip(xs, points):
            assert ((p - x).flatten(1).norm(dim=1) <= radius * (1 + 1e-12) + 1e-15).all()
        return points

    for _ in range(restarts):
        deltas = []
        for x in xs:
            d = torch.randn(x.shape, generator=g, dtype=x.dtype)
            share = torch.rand(n, generator=g, dtype=x.dtype)
            deltas.append(d / _bshape(d.flatten(1).norm(dim=1), d) * _bshape(radius * share, d))
        for _ in range(steps + 1):
            points = feasible([x + d for x, d in zip(xs, deltas)])
            deltas = [(p - x).requires_grad_(True) for x, p in zip(xs, points)]
            value = objective(*[x + d for x, d in zip(xs, deltas)])
            with torch.no_grad():
                better = value.detach() < best
                best = torch.where(better, value.detach(), best)
                for k, p in enumerate(points):
                    best_points[k][better] = p.detach()[better]
            grads = torch.autograd.grad(value.sum(), deltas)
            with torch.no_grad():
                tiny = torch.finfo(xs[0].dtype).tiny
                deltas = [
                    _project(
                        d - _bshape(alpha, d) * gr / _bshape(gr.flatten(1).norm(dim=1).clamp_min(tiny), gr), radius
                    )
                    for d, gr in zip(deltas, grads)
                ]
    return best, best_points


def pgd_l2_image(
    x: torch.Tensor,
    objective: Callable[[torch.Tensor], torch.Tensor],
    budget: float,
    steps: int = 60,
    restarts: int = 2,
    seed: int = 0,
) -> torch.Tensor:
    """Maximise a scalar ``objective(x + delta)`` over ||delta|| <= budget, x + delta in [0, 1], for one image x.

    :func:`pgd_l2` on a batch of one. Returns the best point found, or ``x`` itself when no attacked point beats it.
    """
    best, (points,) = pgd_l2(lambda p: -objective(p[0]).reshape(1), [x[None]], budget, steps, seed, restarts)
    with torch.no_grad():
        if float(objective(x)) >= -float(best[0]):
            return x.detach().clone()
    return points[0]
