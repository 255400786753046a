"""Benchmark: one Chebyshev graph convolution, forward + backward, per backend.

One command, a Markdown table out (also written to ``benchmarks/results/chebconv.md``)::

    .venv/bin/python benchmarks/chebconv.py                 # Nside 256 full + Nside 1024 patch
    .venv/bin/python benchmarks/chebconv.py --nside 64      # quick run

Each case runs in its own subprocess per backend (the Keras backend is fixed at import and the
peak RSS is then per variant). Setting: HEALPix V1 8-neighbour graph (NEST), normalized
Laplacian rescaled to [-1, 1], batch 8, 32 -> 32 features, K = 5, float32. Reported: median
step time over ``--repeats`` runs after one warm-up, the step's modelled memory traffic and
GEMM FLOPs, and the implied bound at the memory bandwidth measured in the same run (numpy copy
of 1 GiB) and at the GEMM rate measured in the same run.
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import statistics
import subprocess
import sys
from pathlib import Path

import numpy as np
import scipy.sparse as sp

from deepsphere.runtime.timing import time_call

ROOT = Path(__file__).resolve().parents[1]
BATCH, F_IN, F_OUT, K = 8, 32, 32, 5


# ---------------------------------------------------------------------------------- graph


def healpix_v1_laplacian(nside, order=0):
    """Rescaled normalized Laplacian of the HEALPix V1 graph (NEST; patch 0 when order > 0)."""
    try:
        from deepsphere.geometry.graphs import build_graph
        from deepsphere.geometry.laplacian import chebyshev_laplacian

        indexes = {"order": order, "patch": 0} if order else None
        definition = {"sampling": "healpix", "nside": nside, "nest": True, "indexes": indexes}
        graph = build_graph({**definition, "graph": "v1"})
        lap = chebyshev_laplacian(graph.weights, "normalized", (-1.0, 1.0), "bound")
        return lap, "deepsphere.geometry.graphs"
    except ImportError:  # the graph modules are not available: build it here
        pass
    import healpy as hp

    npix = 12 * nside**2 // (order**2 if order else 1)
    pix = np.arange(npix)
    neigh = hp.get_all_neighbours(nside, pix, nest=True).T  # (npix, 8)
    rows = np.repeat(pix, 8)
    cols = neigh.ravel()
    keep = (cols >= 0) & (cols < npix)
    rows, cols = rows[keep], cols[keep]
    vec = np.stack(hp.pix2vec(nside, pix, nest=True), axis=1)
    d2 = np.sum((vec[rows] - vec[cols]) ** 2, axis=1)
    w = np.exp(-d2 / (2 * d2.mean())).astype(np.float32)
    W = sp.csr_matrix((w, (rows, cols)), shape=(npix, npix))
    W = W.maximum(W.T)
    d = np.asarray(W.sum(axis=1)).ravel()
    dinv = sp.diags(1 / np.sqrt(d))
    L = sp.eye(npix, format="csr") - dinv @ W @ dinv
    lmax = 1.02 * min(2.0, 2 * np.max(np.abs(L.diagonal())))  # normalized Laplacian: lmax <= 2
    if npix <= 50_000:
        lmax = 1.02 * sp.linalg.eigsh(L, k=1, which="LM", return_eigenvectors=False)[0]
    Lt = (2.0 / lmax) * L - sp.eye(npix, format="csr")
    return sp.csr_matrix(Lt, dtype=np.float32), "healpy (in-benchmark)"


# ---------------------------------------------------------------------------------- machine


def bandwidth_gbs():
    """numpy copy of 1 GiB: (read + write) bytes / s, best of 3."""
    a = np.ones(2**28, dtype=np.float32)  # 1 GiB read + 1 GiB written
    b = np.empty_like(a)
    best = min(time_call(lambda: np.copyto(b, a), 3, warmup=0))
    return 2 * a.nbytes / best / 1e9


def gemm_gflops(size=2048):
    """numpy square float32 GEMM rate (GFLOP/s), best of 3: the machine's FLOP rate."""
    a = np.random.default_rng(0).standard_normal((size, size), dtype=np.float32)
    best = min(time_call(lambda: a @ a, 3, warmup=0))
    return 2 * size**3 / best / 1e9


def step_model(n, nnz):
    """Minimal bytes and GEMM FLOPs of one forward+backward step (perf-baseline.md's model).

    ``2 (K - 1)`` sparse products (12 B per non-zero + read X + write Y, ``N * C * 4`` B each
    with ``C = batch * 32``) plus 20 dense passes of ``N * C * 4`` B; ``3 K`` GEMMs
    ``(N * batch, 32) @ (32, 32)`` (forward, input gradient, kernel gradient).
    """
    dense = n * BATCH * F_IN * 4
    traffic = 2 * (K - 1) * (12 * nnz + 2 * dense) + 20 * dense
    flops = 3 * K * 2 * n * BATCH * F_IN * F_OUT
    return traffic, flops


def peak_rss_gb():
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1e6


def timed(fn, repeats):
    """Median wall time (s) after one warm-up (deepsphere.runtime.timing.time_call)."""
    return statistics.median(time_call(fn, repeats))


def torch_chebyshev_filter(ts, xt, wt):
    """The Chebyshev filter with ``torch.sparse.mm`` on the CSR ``ts``: ``(B, N, F_IN)`` ->
    ``(B, N, F_OUT)``, autograd through every product."""
    import torch

    n = ts.shape[0]
    x0 = xt.transpose(0, 1).reshape(n, -1)
    t0, t1 = x0, torch.sparse.mm(ts, x0)
    y = t0.reshape(-1, F_IN) @ wt[0] + t1.reshape(-1, F_IN) @ wt[1]
    for k in range(2, K):
        t0, t1 = t1, 2 * torch.sparse.mm(ts, t1) - t0
        y = y + t1.reshape(-1, F_IN) @ wt[k]
    return y.reshape(n, BATCH, F_OUT).transpose(0, 1)


def tf_gradient_step(op, xt, wt, gt):
    """A ``tf.function``: the gradients of ``chebyshev_filter(op, xt, wt)`` w.r.t. the input and
    the kernel for the output gradient ``gt`` (one forward + backward step)."""
    import tensorflow as tf

    from deepsphere.layers import sparse_ops

    @tf.function
    def step():
        with tf.GradientTape() as tape:
            tape.watch([xt, wt])
            y = sparse_ops.chebyshev_filter(op, xt, wt)
        return tape.gradient(y, [xt, wt], output_gradients=gt)

    return step


def run_variant(variant, nside, order, repeats):
    """Runs one variant in this process; returns a dict of results."""
    Lt, source = healpix_v1_laplacian(nside, order)
    n = Lt.shape[0]
    rng = np.random.default_rng(0)
    x = rng.standard_normal((BATCH, n, F_IN), dtype=np.float32)
    w = (rng.standard_normal((K, F_IN, F_OUT)) * 0.1).astype(np.float32)
    g = rng.standard_normal((BATCH, n, F_OUT), dtype=np.float32)
    out = {"variant": variant, "n": n, "nnz": Lt.nnz, "graph": source}
    # The machine is shared: measure it in this process, just before the timings.
    out["bandwidth"], out["gflops"] = bandwidth_gbs(), gemm_gflops()
    if variant == "scipy":
        x0 = np.ascontiguousarray(x.transpose(1, 0, 2).reshape(n, -1))

        def fwd():
            t0, t1 = x0, Lt @ x0
            y = t0.reshape(-1, F_IN) @ w[0] + t1.reshape(-1, F_IN) @ w[1]
            for k in range(2, K):
                t0, t1 = t1, 2 * (Lt @ t1) - t0
                y += t1.reshape(-1, F_IN) @ w[k]
            return y

        out["fwd"] = timed(fwd, repeats)
    elif variant.startswith("torch"):
        import torch

        torch.set_num_threads(os.cpu_count())
        coo = Lt.tocoo()
        idx = torch.from_numpy(np.stack([coo.row, coo.col]).astype(np.int64))
        ts = torch.sparse_coo_tensor(idx, torch.from_numpy(coo.data), (n, n)).coalesce()
        ts = ts.to_sparse_csr()
        xt = torch.from_numpy(x).requires_grad_(True)
        wt = torch.from_numpy(w).requires_grad_(True)
        gt = torch.from_numpy(g)

        def forward():
            return torch_chebyshev_filter(ts, xt, wt)

        def step():
            xt.grad = wt.grad = None
            forward().backward(gt)

        with torch.no_grad():
            out["fwd"] = timed(forward, repeats)
        out["step"] = timed(step, repeats)
    else:
        import keras

        from deepsphere.layers import sparse_ops

        op = sparse_ops.SparseOperand.from_scipy(Lt)
        if keras.backend.backend() == "tensorflow":
            import tensorflow as tf

            xt, wt, gt = (tf.constant(a) for a in (x, w, g))
            del x, g  # peak RSS: keep one copy of the inputs

            @tf.function
            def forward():
                return sparse_ops.chebyshev_filter(op, xt, wt)

            step = tf_gradient_step(op, xt, wt, gt)
            out["fwd"] = timed(lambda: forward().numpy(), repeats)
            out["step"] = timed(lambda: [t.numpy() for t in step()], repeats)
        else:
            import jax

            xt, wt, gt = (jax.device_put(a) for a in (x, w, g))
            del x, g  # peak RSS: keep one copy of the inputs
            forward = jax.jit(lambda x, w: sparse_ops.chebyshev_filter(op, x, w))
            step = jax.jit(
                lambda x, w: jax.vjp(lambda a, b: sparse_ops.chebyshev_filter(op, a, b), x, w)[1](
                    gt
                )
            )
            out["fwd"] = timed(lambda: forward(xt, wt).block_until_ready(), repeats)
            out["step"] = timed(lambda: jax.block_until_ready(step(xt, wt)), repeats)
    out["rss_gb"] = peak_rss_gb()
    return out


VARIANTS = {
    "deepsphere TF (CSRSparseMatrix, fused custom gradient)": ("deepsphere", "tensorflow"),
    "deepsphere JAX (BCSR, fused custom VJP)": ("deepsphere", "jax"),
    "torch.sparse CSR (autograd)": ("torch", None),
    "scipy.sparse CSR (forward only)": ("scipy", None),
}


def spawn(name, nside, order, repeats):
    variant, backend = VARIANTS[name]
    return spawn_worker(variant, backend, nside, order, repeats)


def spawn_worker(variant, backend, nside, order, repeats):
    env = dict(os.environ, PYTHONPATH=str(ROOT / "src"), TF_CPP_MIN_LOG_LEVEL="3")
    if backend:
        env["KERAS_BACKEND"] = backend
    cmd = [sys.executable, __file__, "--worker", variant, "--nside", str(nside)]
    cmd += ["--order", str(order), "--repeats", str(repeats)]
    proc = subprocess.run(cmd, env=env, capture_output=True, text=True)
    lines = [ln for ln in proc.stdout.splitlines() if ln.startswith("{")]
    if proc.returncode != 0 or not lines:
        reason = (proc.stderr.strip().splitlines() or ["no output"])[-1]
        return {"variant": variant, "error": reason[:120]}
    return json.loads(lines[-1])


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--nside", type=int, nargs="*", help="full-sphere cases (default 256)")
    parser.add_argument(
        "--patch-nside", type=int, nargs="*", help="1/12 patch cases (default 1024)"
    )
    parser.add_argument("--order", type=int, default=0, help=argparse.SUPPRESS)
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--worker", help=argparse.SUPPRESS)
    parser.add_argument("--only", nargs="*", help="substrings of variant names to run")
    parser.add_argument("--out", default=str(ROOT / "benchmarks" / "results" / "chebconv.md"))
    args = parser.parse_args()
    if args.worker:
        print(json.dumps(run_variant(args.worker, args.nside[0], args.order, args.repeats)))
        return
    cases = [(ns, 0) for ns in (args.nside or [])] + [(ns, 1) for ns in (args.patch_nside or [])]
    if not cases:
        cases = [(256, 0), (1024, 1)]
    lines = [
        f"Machine: {os.cpu_count()} cores. Batch {BATCH}, {F_IN} -> {F_OUT} features, K = {K}, "
        f"float32; median of {args.repeats} after 1 warm-up. Each row's subprocess measures the "
        "memory bandwidth (numpy copy of 1 GiB, read+write) and the GEMM rate (numpy 2048^3) "
        "just before its timings. Step bound = modelled bytes / bandwidth + GEMM FLOPs / GEMM "
        "rate (perf-baseline.md's model); peak RSS is per subprocess.",
        "",
        "| case | variant | fwd s | fwd+bwd s | BW GB/s | GEMM GFLOP/s | step bound s "
        "| x bound | modelled GB/s | peak RSS GB |",
        "|---|---|---|---|---|---|---|---|---|---|",
    ]
    for nside, order in cases:
        label = f"Nside {nside} " + ("full" if order == 0 else "1/12 patch")
        for name in VARIANTS:
            if args.only and not any(s in name for s in args.only):
                continue
            if name.startswith("torch"):
                try:
                    import torch  # noqa: F401
                except ImportError:
                    lines.append(f"| {label} | {name} | skipped: torch not installed |||||||")
                    continue
            res = spawn(name, nside, order, args.repeats)
            if "error" in res:
                lines.append(f"| {label} | {name} | failed: {res['error']} |||||||")
                continue
            n, nnz = res["n"], res["nnz"]
            traffic, flops = step_model(n, nnz)
            bw, peak = res["bandwidth"], res["gflops"]
            bound = traffic / (bw * 1e9) + flops / (peak * 1e9)
            step = res.get("step")
            cells = [
                label + f" (N={n:,}, nnz={nnz:,})",
                name,
                f"{res['fwd']:.2f}",
                f"{step:.2f}" if step else "n/a",
                f"{bw:.1f}",
                f"{peak:.0f}",
                f"{bound:.2f}",
                f"{step / bound:.1f}" if step else "n/a",
                f"{traffic / step / 1e9:.1f}" if step else "n/a",
                f"{res['rss_gb']:.1f}",
            ]
            lines.append("| " + " | ".join(cells) + " |")
            print(lines[-1], flush=True)
    text = "\n".join(lines) + "\n"
    print(text)
    Path(args.out).parent.mkdir(parents=True, exist_ok=True)
    Path(args.out).write_text(text)


if __name__ == "__main__":
    main()
