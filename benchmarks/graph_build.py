"""Graph + Laplacian build time and peak memory, full HEALPix sphere (NEST).

One command: ``python benchmarks/graph_build.py [--nsides 256 1024] [--graphs v1 knn8 knn20]
[--lmax bound|eigsh]``. Each case runs in a fresh subprocess, which reports its wall time and
its own peak RSS (``resource.getrusage(RUSAGE_SELF).ru_maxrss``). Prints a Markdown table and
writes it to ``benchmarks/results/graph_build.md``.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import resource
import subprocess
import sys
import time

HERE = os.path.dirname(os.path.abspath(__file__))


def run_case(graph: str, nside: int, lmax: str) -> dict:
    """Build in this process (the child) and return timings."""
    from deepsphere import graphs, laplacian

    t0 = time.perf_counter()
    if graph == "v1":
        g = graphs.healpix_v1_graph(nside, nest=True)
    else:
        g = graphs.healpix_knn_graph(nside, int(graph[3:]), nest=True, t="paper")
    t1 = time.perf_counter()
    L = laplacian.chebyshev_laplacian(g.weights, "normalized", (-1.0, 1.0), lmax)
    t2 = time.perf_counter()
    rss = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024  # Linux: KiB
    return {"graph": graph, "nside": nside, "npix": g.n_vertices, "nnz_w": int(g.weights.nnz),
            "nnz_l": int(L.nnz), "graph_s": t1 - t0, "laplacian_s": t2 - t1,
            "total_s": t2 - t0, "peak_gb": rss / 1e9}


def main(argv=None) -> None:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--nsides", type=int, nargs="+", default=[256, 1024])
    p.add_argument("--graphs", nargs="+", default=["v1", "knn8", "knn20"])
    p.add_argument("--lmax", choices=["bound", "eigsh"], default="bound")
    p.add_argument("--child", action="store_true", help=argparse.SUPPRESS)
    args = p.parse_args(argv)
    if args.child:
        print(json.dumps(run_case(args.graphs[0], args.nsides[0], args.lmax)))
        return
    rows = []
    for nside in args.nsides:
        for graph in args.graphs:
            cmd = [sys.executable, __file__, "--child", "--nsides", str(nside), "--graphs", graph,
                   "--lmax", args.lmax]
            out = subprocess.run(cmd, capture_output=True, text=True, check=False)
            if out.returncode:
                rows.append({"graph": graph, "nside": nside, "error": out.stderr.strip()[-200:]})
            else:
                rows.append(json.loads(out.stdout.strip().splitlines()[-1]))
            print(rows[-1], file=sys.stderr, flush=True)
    lines = [
        f"Graph build, full sphere NEST, normalized Laplacian rescaled to [-1, 1] (lmax: "
        f"{args.lmax}); {platform.machine()}, {os.cpu_count()} CPU; one subprocess per case.",
        "",
        "| graph | nside | npix | nnz(W) | nnz(L~) | graph s | Laplacian s | total s | peak RSS GB |",
        "|---|---|---|---|---|---|---|---|---|",
    ]
    for r in rows:
        if "error" in r:
            lines.append(f"| {r['graph']} | {r['nside']} | failed: {r['error']} |||||||")
            continue
        lines.append(f"| {r['graph']} | {r['nside']} | {r['npix']} | {r['nnz_w']} | {r['nnz_l']} | "
                     f"{r['graph_s']:.1f} | {r['laplacian_s']:.1f} | {r['total_s']:.1f} | "
                     f"{r['peak_gb']:.2f} |")
    table = "\n".join(lines) + "\n"
    print(table)
    os.makedirs(os.path.join(HERE, "results"), exist_ok=True)
    with open(os.path.join(HERE, "results", "graph_build.md"), "w", encoding="utf-8") as f:
        f.write(table)


if __name__ == "__main__":
    main()
