"""Graph + Laplacian build time and peak memory, full HEALPix sphere (NEST).

One command: ``python benchmarks/graph_build.py`` runs the default cases (v1, knn8, knn20 at
nside 256 and 1024; v1 and knn8 at 2048); ``--nsides``/``--graphs`` run their cross product
instead; ``--lmax bound|eigsh``. Each case runs in a fresh subprocess, which reports its wall
and CPU time (``time.process_time``) per stage and its own peak RSS
(``resource.getrusage(RUSAGE_SELF).ru_maxrss``). nside 2048 cases are skipped unless 16 GiB
are available (``MemAvailable``). Prints a Markdown table, with the load average around each
case, and writes it to ``benchmarks/results/graph_build.md``.
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
DEFAULT = [(256, "v1"), (256, "knn8"), (256, "knn20"), (1024, "v1"), (1024, "knn8"),
           (1024, "knn20"), (2048, "v1"), (2048, "knn8")]


def run_case(graph: str, nside: int, lmax: str) -> dict:
    """Build in this process (the child) and return timings."""
    from deepsphere.geometry import graphs, laplacian

    t0, c0 = time.perf_counter(), time.process_time()
    if graph == "v1":
        g = graphs.healpix_v1_graph(nside, nest=True)
    else:
        g = graphs.healpix_knn_graph(nside, int(graph[3:]), nest=True, t="paper")
    t1, c1 = time.perf_counter(), time.process_time()
    L = laplacian.chebyshev_laplacian(g.weights, "normalized", (-1.0, 1.0), lmax)
    t2, c2 = time.perf_counter(), time.process_time()
    rss = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024  # Linux: KiB
    return {"graph": graph, "nside": nside, "npix": g.n_vertices, "nnz_w": int(g.weights.nnz),
            "nnz_l": int(L.nnz), "graph_s": t1 - t0, "laplacian_s": t2 - t1,
            "total_s": t2 - t0, "graph_cpu": c1 - c0, "laplacian_cpu": c2 - c1,
            "total_cpu": c2 - c0, "peak_gb": rss / 1e9}


def mem_available_gib() -> float:
    with open("/proc/meminfo", encoding="ascii") as f:
        for line in f:
            if line.startswith("MemAvailable:"):
                return int(line.split()[1]) / 2**20
    return float("inf")


def main(argv=None) -> None:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--nsides", type=int, nargs="+")
    p.add_argument("--graphs", nargs="+")
    p.add_argument("--lmax", choices=["bound", "eigsh"], default="bound")
    p.add_argument("--child", action="store_true", help=argparse.SUPPRESS)
    args = p.parse_args(argv)
    if args.child:
        print(json.dumps(run_case(args.graphs[0], args.nsides[0], args.lmax)))
        return
    cases = DEFAULT
    if args.nsides or args.graphs:
        cases = [(ns, g) for ns in args.nsides or [256, 1024] for g in args.graphs or ["v1", "knn8"]]
    rows = []
    for nside, graph in cases:
        load = os.getloadavg()[0]
        if nside >= 2048 and mem_available_gib() < 16:
            rows.append({"graph": graph, "nside": nside, "load": f"{load:.1f}",
                         "error": f"skipped: {mem_available_gib():.1f} GiB available, 16 needed"})
            continue
        cmd = [sys.executable, __file__, "--child", "--nsides", str(nside), "--graphs", graph,
               "--lmax", args.lmax]
        out = subprocess.run(cmd, capture_output=True, text=True, check=False)
        if out.returncode:
            rows.append({"graph": graph, "nside": nside, "error": out.stderr.strip()[-200:]})
        else:
            rows.append(json.loads(out.stdout.strip().splitlines()[-1]))
        rows[-1]["load"] = f"{load:.1f}/{os.getloadavg()[0]:.1f}"
        print(rows[-1], file=sys.stderr, flush=True)
    lines = [
        f"Graph build, full sphere NEST, normalized Laplacian rescaled to [-1, 1] (lmax: "
        f"{args.lmax}); {platform.machine()}, {os.cpu_count()} CPU, shared: `load` is the 1-min "
        "load average before/after the case (above the CPU count, wall time is inflated; CPU "
        "time, from `time.process_time`, much less). One subprocess per case.",
        "",
        "| graph | nside | npix | nnz(W) | nnz(L~) | graph s (CPU) | Laplacian s (CPU) | "
        "total s (CPU) | peak RSS GB | load |",
        "|---|---|---|---|---|---|---|---|---|---|",
    ]
    for r in rows:
        if "error" in r:
            lines.append(f"| {r['graph']} | {r['nside']} | failed: {r['error']} ||||||||")
            continue
        lines.append(f"| {r['graph']} | {r['nside']} | {r['npix']} | {r['nnz_w']} | {r['nnz_l']} | "
                     f"{r['graph_s']:.1f} ({r['graph_cpu']:.1f}) | {r['laplacian_s']:.1f} "
                     f"({r['laplacian_cpu']:.1f}) | {r['total_s']:.1f} ({r['total_cpu']:.1f}) | "
                     f"{r['peak_gb']:.2f} | {r['load']} |")
    table = "\n".join(lines) + "\n"
    print(table)
    os.makedirs(os.path.join(HERE, "results"), exist_ok=True)
    with open(os.path.join(HERE, "results", "graph_build.md"), "w", encoding="utf-8") as f:
        f.write(table)


if __name__ == "__main__":
    main()
