"""LipSim as a differentiable loss: optimise an image towards a target.

    python examples/as_loss.py [OUT.png]

Starts from a blurred, noisy copy of chelsea.png and runs a few Adam steps on the pixels to minimise
LipSim(image, target). Saves a strip: start | optimised | target.
"""

import sys
from pathlib import Path

import torch
from PIL import Image

import lipsim

here = Path(__file__).parent / "images"
out = Path(sys.argv[1]) if len(sys.argv) > 1 else Path("as_loss_strip.png")
torch.manual_seed(0)
model = lipsim.LipSim(pretrained=True)
target = lipsim.load_image(here / "chelsea.png")[None]
start = (lipsim.load_image(here / "chelsea_blur3.png")[None] + 0.1 * torch.randn_like(target)).clamp(0, 1)

x = start.clone().requires_grad_(True)
opt = torch.optim.Adam([x], lr=0.01)
for step in range(41):
    loss = model(x.clamp(0, 1), target).mean()
    opt.zero_grad()
    loss.backward()
    opt.step()
    if step % 10 == 0:
        print(f"step {step:3d}  LipSim distance {loss.item():.3e}")

final = model(x.detach().clamp(0, 1), target).item()
first = model(start, target).item()
print(f"distance to target: start {first:.6e} -> optimised {final:.6e}")
strip = torch.cat([start, x.detach().clamp(0, 1), target], dim=3)[0]
Image.fromarray((strip.permute(1, 2, 0) * 255).round().byte().numpy()).save(out)
print(f"saved {out}")
