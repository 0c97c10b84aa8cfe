"""Exact vs faiss search and the blocked all-pairs scan of lipsim.index on synthetic embeddings.

Synthetic unit embeddings of the default weights' size (1473-d): clusters of near-duplicates (a random
centre plus noise, normalised). For each N it measures, each configuration in a fresh process:

- ``exact``: ``Index.search`` (float64 blocked brute force + the bisector NN radius over all items) of Q queries;
- ``faiss``: building the IVF-Flat index (k-means on a sample, list radii) and the same Q queries (candidates
  re-ranked exactly; NN radius certified against unscored items through the list bounds);
- ``dedup``: ``find_duplicates`` (all pairs under a threshold, tiles of 2048 rows).

Memory is the peak resident set of the process (``ru_maxrss``) minus its size after the embeddings were made.
Agreement of faiss with exact search: the share of queries whose k neighbours are the same and the share that
faiss can certify as exact; its NN radius is never larger than the exact one (median ratio printed).

Usage:
    python3 benchmarks/index_scale.py --n 10000 [--n 100000] [--queries 100] [--dim 1473] [--json out.json]
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import subprocess
import sys
import time

# one thread unless told otherwise (OMP_NUM_THREADS=2 for both cores of a quiet machine): on a shared machine
# the BLAS thread pools oversubscribe the cores and run many times slower
os.environ.setdefault("OMP_NUM_THREADS", "1")


def _rss_mib() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def _synthetic(n: int, dim: int, seed: int = 0):
    import torch

    g = torch.Generator().manual_seed(seed)
    n_clusters = max(1, n // 5)
    centres = torch.randn(n_clusters, dim, generator=g)
    own = torch.randint(n_clusters, (n,), generator=g)
    x = centres[own] + 0.2 * torch.randn(n, dim, generator=g)  # cos about 0.96 within a cluster
    return torch.nn.functional.normalize(x, dim=1)


def _worker(mode: str, n: int, dim: int, queries: int, k: int) -> dict:
    import torch

    from lipsim import Index, LipSim
    from lipsim.index import StoredEmbeddings, find_duplicates

    torch.set_num_threads(int(os.environ["OMP_NUM_THREADS"]))
    phi = _synthetic(n, dim)
    e = StoredEmbeddings(phi, torch.ones(n), torch.ones(n), True)
    g = torch.Generator().manual_seed(1)
    rows = torch.randint(n, (queries,), generator=g)
    q = torch.nn.functional.normalize(phi[rows] + 0.1 / dim**0.5 * torch.randn(queries, dim, generator=g), dim=1)
    qb = StoredEmbeddings(q, torch.ones(queries), torch.ones(queries), True).batch(dtype=torch.float32)
    model = LipSim(pretrained=False, embed_dim=8, widths=(8, 16))  # only its sha256 is used
    base = _rss_mib()
    out: dict = {"mode": mode, "n": n, "dim": dim}
    if mode == "dedup":
        t = time.perf_counter()
        dup = find_duplicates(e, threshold=0.05, eps=0.0)
        out.update(seconds=time.perf_counter() - t, pairs=len(dup.cert.labels), groups=len(dup.groups))
    else:
        index = Index(model, backend=mode)
        index.add_embeddings(e, [str(i) for i in range(n)])
        t = time.perf_counter()
        index.search_embeddings(_first(qb), k=k)  # warm-up; builds the IVF index for faiss
        if mode == "faiss":
            out["build_s"] = time.perf_counter() - t
            out["nlist"], out["nprobe"] = index._faiss.nlist, index._faiss.nprobe
        t = time.perf_counter()
        res = index.search_embeddings(qb, k=k)
        out["query_ms"] = 1000 * (time.perf_counter() - t) / queries
        out["neighbours"] = [[nb.row for nb in r.neighbours] for r in res]
        out["nn_radius"] = [r.nn_radius for r in res]
        out["exact"] = [r.exact for r in res]
    out["peak_extra_mib"] = _rss_mib() - base
    return out


def _first(b):
    from lipsim.certificates import EmbeddingBatch

    return EmbeddingBatch(b.phi[:1], b.feature_norm[:1], b.resize_norm[:1], b.constant_appended)


def main() -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--n", type=int, action="append", help="collection sizes (default 10000)")
    p.add_argument("--dim", type=int, default=1473)
    p.add_argument("--queries", type=int, default=100)
    p.add_argument("-k", type=int, default=10)
    p.add_argument("--json", help="write the results here")
    p.add_argument("--worker", nargs=2, help=argparse.SUPPRESS)
    args = p.parse_args()
    if args.worker:
        print(json.dumps(_worker(args.worker[0], int(args.worker[1]), args.dim, args.queries, args.k)))
        return 0
    try:
        import faiss  # noqa: F401

        modes = ["exact", "faiss", "dedup"]
    except ImportError:
        print("faiss is not installed (pip install 'lipsim[index]'): faiss rows skipped", file=sys.stderr)
        modes = ["exact", "dedup"]
    results = []
    for n in args.n or [10000]:
        rec = {}
        for mode in modes:
            cmd = [
                sys.executable,
                __file__,
                "--worker",
                mode,
                str(n),
                "--dim",
                str(args.dim),
                "--queries",
                str(args.queries),
                "-k",
                str(args.k),
            ]
            r = subprocess.run(cmd, capture_output=True, text=True)
            if r.returncode != 0:
                print(r.stderr, file=sys.stderr)
                return 1
            rec[mode] = json.loads(r.stdout.strip().splitlines()[-1])
        results.append(rec)
    load = os.getloadavg()[0]
    print(
        f"N embeddings of dim {args.dim}, {args.queries} queries, k={args.k}, {os.environ['OMP_NUM_THREADS']}"
        f" threads, load average {load:.1f}"
    )
    print(
        "| N | exact ms/query | exact peak MiB | faiss build s | faiss ms/query | faiss peak MiB | same NN "
        "| same top-k "
        "| NN certified | top-k certified exact | NN radius faiss/exact (median) | dedup scan s | dedup peak MiB | "
        "pairs |"
    )
    print("|---|---|---|---|---|---|---|---|---|---|---|---|---|---|")
    for rec in results:
        ex, de = rec["exact"], rec["dedup"]
        row = [f"{ex['n']}", f"{ex['query_ms']:.1f}", f"{ex['peak_extra_mib']:.0f}"]
        if "faiss" in rec:
            fa = rec["faiss"]
            nq = len(ex["neighbours"])
            same = sum(a == b for a, b in zip(ex["neighbours"], fa["neighbours"])) / nq
            same_nn = sum(a[0] == b[0] for a, b in zip(ex["neighbours"], fa["neighbours"])) / nq
            nn_cert = sum(r > 0 for r in fa["nn_radius"]) / nq
            ratios = sorted(f / e for f, e in zip(fa["nn_radius"], ex["nn_radius"]) if e > 0)
            med = ratios[len(ratios) // 2] if ratios else float("nan")
            row += [
                f"{fa['build_s']:.1f} (nlist {fa['nlist']}, nprobe {fa['nprobe']})",
                f"{fa['query_ms']:.1f}",
                f"{fa['peak_extra_mib']:.0f}",
                f"{100 * same_nn:.0f}%",
                f"{100 * same:.0f}%",
                f"{100 * nn_cert:.0f}%",
                f"{100 * sum(fa['exact']) / nq:.0f}%",
                f"{med:.2f}",
            ]
        else:
            row += ["-"] * 8
        row += [f"{de['seconds']:.1f}", f"{de['peak_extra_mib']:.0f}", f"{de['pairs']}"]
        print("| " + " | ".join(row) + " |")
    if args.json:
        with open(args.json, "w") as f:
            json.dump(results, f, indent=1)
    return 0


if __name__ == "__main__":
    sys.exit(main())
