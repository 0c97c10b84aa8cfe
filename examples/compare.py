"""Distance between two images with its certificate.

    python examples/compare.py [IMG0 IMG1]

Prints d = 1 - cos (lower = more similar), the interval d stays in when either image moves by at most
36/255 in l2 (pixels in [0, 1]), and the radius of the decision "same image" (d <= 0.05).
"""

import sys
from pathlib import Path

import lipsim

here = Path(__file__).parent / "images"
a, b = sys.argv[1:3] if len(sys.argv) >= 3 else [here / "chelsea.png", here / "chelsea_jpeg.png"]
model = lipsim.LipSim(pretrained=True)
img0, img1 = lipsim.load_image(a), lipsim.load_image(b)
cert = model.certify(img0, img1, eps=36 / 255, threshold=0.05)
print(f"{a} vs {b}")
print(f"distance          {cert.distance.item():.4e}")
print(f"certified interval [{cert.lower.item():.4e}, {cert.upper.item():.4e}] for any l2 change <= {cert.eps:.4f}")
verdict = "same" if cert.same.item() else "different"
print(f"decision d <= 0.05: {verdict}, certified for any l2 change < {cert.radius.item():.4f}")
