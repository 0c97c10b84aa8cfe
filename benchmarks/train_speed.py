"""Throughput of the distillation recipe on this machine: teacher and student images/s, and epoch time.

The teacher runs once per pool crop (its embeddings are cached), so an epoch of distillation costs only the
student: ``epoch = pool crops / student images per s``, with two views per crop. Prints one table.

    python3 benchmarks/train_speed.py                       # the default weights' recipe (v2)
    python3 benchmarks/train_speed.py --threads 2 --rounds 3 --teacher-batch 64 --student-batch 96
"""

from __future__ import annotations

import argparse
import json
import time

import torch

ENSEMBLE = {
    "members": [
        {"name": "efficientnet-lite0", "kwargs": {"embedding": "mean", "layers": [2, 4, 6]}},
        {"name": "efficientnet-lite0", "kwargs": {"embedding": "deep"}},
    ]
}
ARCH = {
    "widths": [32, 64, 128, 256],
    "head_width": 2048,
    "embed_dim": 1752,
    "image_size": 64,
    "native_resolution": True,
    "max_size": 512,
}
POOLS = ((64, 45463), (128, 3000))  # (crop side, crops) of the v2 recipe


def _median_seconds(fn, rounds: int) -> float:
    fn()  # warm-up
    times = []
    for _ in range(rounds):
        t0 = time.perf_counter()
        fn()
        times.append(time.perf_counter() - t0)
    return sorted(times)[len(times) // 2]


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--threads", type=int, default=2)
    p.add_argument("--rounds", type=int, default=3)
    p.add_argument("--teacher-batch", type=int, default=64)
    p.add_argument("--student-batch", type=int, default=96)
    p.add_argument("--teacher-kwargs", type=json.loads, default=ENSEMBLE, help="ensemble spec (JSON)")
    args = p.parse_args()
    torch.set_num_threads(args.threads)

    from lipsim import LipSim
    from lipsim.train.losses import distillation_loss
    from lipsim.train.teachers import get_teacher

    teacher = get_teacher("ensemble", **args.teacher_kwargs)
    model = LipSim(pretrained=False, **ARCH).train()
    opt = torch.optim.Adam(model.parameters(), lr=1e-3)
    rows = []
    for size, crops in POOLS:
        x = torch.rand(args.teacher_batch, 3, size, size).contiguous(memory_format=torch.channels_last)
        with torch.no_grad():
            t_teacher = _median_seconds(lambda x=x: teacher(x), args.rounds) / args.teacher_batch
        a = torch.rand(args.student_batch, 3, size, size)
        target = torch.nn.functional.normalize(torch.randn(args.student_batch, ARCH["embed_dim"]), dim=1)

        def step(a: torch.Tensor = a, target: torch.Tensor = target) -> None:
            f = model.backbone(torch.cat([a, a.flip(-1)]))
            loss = distillation_loss(f[: len(a)], f[len(a) :], target)
            opt.zero_grad()
            loss.backward()
            opt.step()

        t_student = _median_seconds(step, args.rounds) / args.student_batch  # per crop (two views)
        rows.append((size, crops, 1 / t_teacher, 1 / t_student, crops * t_teacher / 60, crops * t_student / 60))
    print(
        f"distillation recipe of the default weights, {args.threads} threads, median of {args.rounds} rounds, "
        f"teacher batch {args.teacher_batch}, student batch {args.student_batch} crops (x2 views)"
    )
    print(
        f"{'pool':>10} {'crops':>7} {'teacher img/s':>14} {'student crops/s':>16} {'teacher pass min':>17} "
        f"{'epoch min':>10}"
    )
    for size, crops, ti, si, tmin, emin in rows:
        print(f"{size:>7} px {crops:>7} {ti:>14.1f} {si:>16.1f} {tmin:>17.1f} {emin:>10.1f}")


if __name__ == "__main__":
    main()
