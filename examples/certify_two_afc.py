"""A 2AFC triplet, its certified radius, and a PGD attack that fails inside it.

    python examples/certify_two_afc.py

Reference: chelsea.png; candidates: a mild and a strong blur. LipSim picks the mild one and certifies that
no l2 perturbation of the reference smaller than the radius can change that. An l2 PGD attack (50 steps)
with 99% of the radius indeed fails; with 3x the radius it may succeed (the certificate is a guarantee,
not a promise that larger attacks work).
"""

from pathlib import Path

import torch

import lipsim

here = Path(__file__).parent / "images"
model = lipsim.LipSim(pretrained=True)
ref = lipsim.load_image(here / "chelsea.png")[None]
x0 = lipsim.load_image(here / "chelsea_blur1.png")[None]
x1 = lipsim.load_image(here / "chelsea_blur3.png")[None]

r = model.two_afc(ref, x0, x1)
radius = r.radius.item()
print(f"d(ref, mild blur) = {r.d0.item():.4e}   d(ref, strong blur) = {r.d1.item():.4e}")
print(f"choice: x{r.choice.item()} ({'mild' if r.choice.item() == 0 else 'strong'} blur is closer)")
print(f"certified radius: {radius:.4f} (l2, pixels in [0, 1])")


def pgd(eps: float, steps: int = 50) -> torch.Tensor:
    """Maximise d(ref', chosen) - d(ref', other) over ||ref' - ref|| <= eps."""
    chosen, other = (x0, x1) if r.choice.item() == 0 else (x1, x0)
    delta = torch.zeros_like(ref, requires_grad=True)
    for _ in range(steps):
        adv = (ref + delta).clamp(0, 1)
        gap = model(adv, chosen) - model(adv, other)
        (g,) = torch.autograd.grad(gap.sum(), delta)
        with torch.no_grad():
            delta += 2.5 * eps / steps * g / g.norm().clamp_min(1e-12)
            delta *= torch.clamp(eps / delta.norm().clamp_min(1e-12), max=1.0)
            delta.copy_((ref + delta).clamp(0, 1) - ref)
    return (ref + delta).clamp(0, 1).detach()


for factor in (0.99, 3.0):
    adv = pgd(factor * radius)
    after = model.two_afc(adv, x0, x1)
    flipped = after.choice.item() != r.choice.item()
    print(
        f"PGD with budget {factor:.2f} x radius = {factor * radius:.4f}: "
        f"d0={after.d0.item():.4e} d1={after.d1.item():.4e} -> {'FLIPPED' if flipped else 'choice unchanged'}"
    )
    if factor < 1:
        assert not flipped, "a perturbation inside the certified radius flipped the choice"
