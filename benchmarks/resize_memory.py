"""Memory and time of comparing images of extreme shapes: what ``lipsim-compare ref.png IMAGE`` does to IMAGE.

For each shape (width x height, as image files are described) a PNG of that size is written, and a fresh Python
process reads it (``lipsim.load_image``, no pixel limit) and embeds it with the default weights
(``LipSim(pretrained=True).embed_batch``: the resize operator norm, the resize, the network). The table gives the
network size (or the one-line error of a refused image), the CPU and wall seconds of reading and embedding, and the
peak resident set size of that process (``ru_maxrss``) next to the peak of a process that only imports lipsim
and builds the model, so the difference is what the image cost.

The shapes: a 60000 x 1 strip and a 3 x 20000 column (refused: at the native size they would become 64 x 3,840,000
and 426,667 x 64 network inputs), a 16000 x 1000 panorama, an 8192 x 64 strip and an 8000 x 8000 photo. Before the
resize norms were computed from banded matrices they needed 28.8 GB, 68 GB, 4.0 GB (38 s) and 2.8 GB.

Measured (2 threads, 2-core machine, load 1.3; baseline peak 564 MiB): 60000x1 and 3x20000 refused in 0.05 s with
no memory over the baseline; 16000x1000 1.75 s, +360 MiB; 8192x64 0.34 s, +15 MiB; 8000x8000 3.6 s, +1463 MiB, of
which reading the PNG (``load_image``: the decoded bytes and the float32 image) is 1336 MiB and the resize norm,
the resize and the network 126 MiB.

Usage:
    python3 benchmarks/resize_memory.py [--threads N] [--shapes 60000x1 16000x1000 ...]

This machine may be shared with other jobs: the load average is printed; CPU seconds are disturbed less than wall
seconds by a loaded machine.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
from pathlib import Path

SHAPES = ["60000x1", "3x20000", "16000x1000", "8192x64", "8000x8000"]

_CHILD = """
import json, resource, sys, time
import torch
torch.set_num_threads(int(sys.argv[2]))
import lipsim
from lipsim.errors import LipSimError
model = lipsim.LipSim(pretrained=True)
base = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
cpu, wall = time.process_time(), time.perf_counter()
out = {"base_kib": base}
if sys.argv[1] != "-":
    try:
        x = lipsim.load_image(sys.argv[1], max_pixels=None)
        p = model.prepare(x[None])
        model.embed_prepared(p)
        out["result"] = "network input %dx%d (W x H)" % (p.pixels.shape[-1], p.pixels.shape[-2])
    except LipSimError as e:
        out["result"] = "refused: " + str(e)
out["cpu_s"] = time.process_time() - cpu
out["wall_s"] = time.perf_counter() - wall
out["peak_kib"] = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
print(json.dumps(out))
"""


def _shape(text: str) -> tuple[int, int]:
    w, _, h = text.lower().partition("x")
    try:
        return int(w), int(h)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected a shape WxH such as 16000x1000, got {text!r}") from None


def _png(path: Path, w: int, h: int) -> None:
    import numpy as np
    from PIL import Image

    ramp = (np.arange(w, dtype=np.uint32)[None, :] + np.arange(h, dtype=np.uint32)[:, None]) % 256
    Image.fromarray(np.repeat(ramp.astype(np.uint8)[:, :, None], 3, axis=2)).save(path)


def _child(path: str, threads: int) -> dict:
    env = dict(os.environ, HF_HUB_OFFLINE="1", OMP_NUM_THREADS=str(threads))
    out = subprocess.run(
        [sys.executable, "-c", _CHILD, path, str(threads)], capture_output=True, text=True, env=env, check=False
    )
    if out.returncode != 0:
        lines = out.stderr.strip().splitlines()
        return {"result": f"crashed (exit {out.returncode}): {lines[-1] if lines else ''}", "peak_kib": 0}
    return json.loads(out.stdout)


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--threads", type=int, default=2, help="torch threads in each process (default 2)")
    p.add_argument("--shapes", nargs="+", type=_shape, default=[_shape(s) for s in SHAPES], metavar="WxH")
    args = p.parse_args(argv)
    print(f"load average {os.getloadavg()[0]:.2f}, {args.threads} threads; each row is a fresh process")
    base = _child("-", args.threads)
    print(f"baseline (import lipsim, default weights): peak RSS {base['peak_kib'] / 1024:.0f} MiB")
    print("| shape (W x H) | result | CPU s | wall s | peak RSS MiB | over baseline MiB |")
    print("|---|---|---|---|---|---|")
    with tempfile.TemporaryDirectory() as tmp:
        for w, h in args.shapes:
            path = Path(tmp) / f"{w}x{h}.png"
            _png(path, w, h)
            r = _child(str(path), args.threads)
            peak = r["peak_kib"] / 1024
            cpu = f"{r['cpu_s']:.2f}" if "cpu_s" in r else "-"
            wall = f"{r['wall_s']:.2f}" if "wall_s" in r else "-"
            print(f"| {w}x{h} | {r['result']} | {cpu} | {wall} | {peak:.0f} | {peak - base['peak_kib'] / 1024:.0f} |")
            path.unlink()
    return 0


if __name__ == "__main__":
    sys.exit(main())
