"""Benchmark: ChebConv and the paper's models on whatever device is visible (JAX backend).

One command, Markdown tables out (also written to ``benchmarks/results/accelerator.md``)::

    .venv/bin/python benchmarks/accelerator.py                 # paper sizes, on the visible device
    .venv/bin/python benchmarks/accelerator.py --small         # CPU-sized, about a minute
    .venv/bin/python benchmarks/accelerator.py --backend tensorflow   # where TF sees a GPU
    .venv/bin/python benchmarks/accelerator.py --only chebconv cosmo

Each case runs in its own subprocess (the Keras backend is fixed at import, and peak memory is
then per case: the device allocator's peak on a GPU, the process's peak RSS on a CPU).

ChebConv: one Chebyshev convolution (``deepsphere.layers.sparse_ops.chebyshev_filter``),
forward + backward, batch 8, 32 -> 32 features, K = 5, float32, on the HEALPix V1 graph at
Nside 256 (full sphere) and Nside 1024 (a 1/12 patch): median step time against the bound of
``benchmarks/chebconv.py``'s traffic model (``step_model``) at the device's memory bandwidth and
GEMM rate, both measured on the device in the same subprocess; and against ``torch.sparse`` CSR
(autograd) on the same device where PyTorch is installed. The JAX step runs under
``jax.transfer_guard("disallow")`` (an implicit host <-> device copy raises) and its compiled
HLO is searched for host callbacks; the TF step runs with soft device placement off (an op
without a kernel on the device raises instead of falling back to the CPU). On a GPU, JAX lowers
the BCSR product to cuSPARSE only with ``JAX_BCOO_CUSPARSE_LOWERING=1`` (off by default: a
generic gather / scatter-add); a GPU run times ChebConv both ways.

Models: each experiment's paper model at its paper size, built from ``config/config.yaml``'s
run plan (cosmology FCN with k = 8, 20, 40 at Nside 1024 order-1 patches; SHREC'17 at Nside 32;
the climate U-Net at level 5; GHCN on 10,000 random station positions, P = 4), with the run's
loss and optimiser: per-sample inference (``predict_on_batch`` / batch, inputs already on the
device) and one training step (``train_on_batch``), medians after a warm-up, beside the
paper's GPU figures (SHREC'17's is one training pass per instance: compared with step / batch).
Graphs use the analytic lmax bound (``lmax: bound``): the same sparsity and cost as the
paper's eigsh, without its minutes at Nside 1024.

``--small``: Nside 16 / 32 for ChebConv, the models shrunk (cosmo Nside 256 patches, channel
widths / 8, batch 2; the paper column is then for reference only): a CPU check of every code
path, about 1 min 40 s on 2 cores.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import subprocess
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))  # chebconv.py, accelerator_workers.py

from accelerator_workers import (  # noqa: E402
    CHEBCONV,
    MODELS,
    NOT_MEASURED,
    PAPER_MS,
    ROOT,
    run_chebconv,
    run_model,
    run_torch_chebconv,
)

# ----------------------------------------------------------------------------- driver


def spawn(case: str, variant: str, args) -> dict:
    """One case in its own subprocess; its JSON result, or ``{"error": last stderr line}``."""
    path = os.pathsep.join(p for p in (str(ROOT / "src"), os.environ.get("PYTHONPATH")) if p)
    env = dict(os.environ, PYTHONPATH=path, KERAS_BACKEND=args.backend, TF_CPP_MIN_LOG_LEVEL="3")
    if variant == CUSPARSE:  # JAX lowers BCSR products to cuSPARSE only with this flag on
        env["JAX_BCOO_CUSPARSE_LOWERING"] = "1"
    cmd = [sys.executable, __file__, "--worker", case, "--variant", variant,
           "--repeats", str(args.repeats), "--backend", args.backend]
    proc = subprocess.run(cmd + (["--small"] if args.small else []), env=env,
                          capture_output=True, text=True)
    lines = [ln for ln in proc.stdout.splitlines() if ln.startswith("{")]
    if proc.returncode != 0 or not lines:
        reason = (proc.stderr.strip().splitlines() or ["no output"])[-1]
        return {"case": case, "error": reason[:160]}
    return json.loads(lines[-1])


CUSPARSE = "deepsphere-cusparse"


def _torch_installed() -> bool:
    import importlib.util

    return importlib.util.find_spec("torch") is not None


def chebconv_rows(args) -> list[str]:
    from chebconv import step_model

    rows = []
    for case in (c for c in CHEBCONV if _selected(c, args)):
        ours = spawn(case, "deepsphere", args)
        torch = spawn(case, "torch", args) if _torch_installed() else {"error": "torch not installed"}
        variants = [(f"deepsphere {args.backend}", ours), ("torch.sparse CSR", torch)]
        gpu_jax = ours.get("kind") == "gpu" and args.backend == "jax"
        cusparse_name = "deepsphere jax, BCSR lowered to cuSPARSE (JAX_BCOO_CUSPARSE_LOWERING=1)"
        if gpu_jax and os.environ.get("JAX_BCOO_CUSPARSE_LOWERING") != "1":
            variants.append((cusparse_name, spawn(case, CUSPARSE, args)))
        for name, res in variants:
            if "error" in res:
                status = "skipped" if "not installed" in res["error"] else "failed"
                rows.append(f"| {case} | | {name} | {status}: {res['error']} ||||||||||")
                continue
            traffic, flops = step_model(res["n"], res["nnz"])
            cells = [case, res["device"], name, f"{res['n']:,}", f"{res['nnz']:,}",
                     f"{1000 * res['step']:.4g}"]
            if "bandwidth" in res:  # ours: against the bound and torch
                bound = traffic / (res["bandwidth"] * 1e9) + flops / (res["gflops"] * 1e9)
                vs_torch = (f"{torch['step'] / res['step']:.3g}x faster" if "step" in torch
                            else "n/a")
                cells += [f"{res['bandwidth']:.4g}", f"{res['gflops']:.4g}",
                          f"{1000 * bound:.4g}", f"{res['step'] / bound:.3g}", vs_torch,
                          res["host"], res["kernels"]]
            else:
                cells += ["", "", "", "", "", "", ""]
            rows.append("| " + " | ".join(cells + [f"{res['peak_gb']:.2f}"]) + " |")
        if ours.get("kind") != "gpu":
            rows.append(f"| {case} | GPU | deepsphere {args.backend} | {NOT_MEASURED} ||||||||||")
            if args.backend == "jax":
                rows.append(f"| {case} | GPU | {cusparse_name} | {NOT_MEASURED} ||||||||||")
        print(*rows[-4:], sep="\n", flush=True)
    return rows


def model_rows(args) -> list[str]:
    rows = []
    for case in (c for c in MODELS if _selected(c, args)):
        res = spawn(case, "deepsphere", args)
        paper, measure = PAPER_MS[case]
        if "error" in res:
            rows.append(f"| {case} | | failed: {res['error']} |||||||||")
        else:  # the paper's figure against ours of the same measure
            ours = res["infer_ms"] if measure == "inference" else res["step_ms"] / res["batch"]
            ratio = f"{paper / ours:.3g}x" if paper else "n/a"
            cell = "none" if not paper else (
                f"{paper:g}" if measure == "inference" else f"{paper:g} (one training pass)")
            rows.append("| " + " | ".join([
                f"{case} ({res['run_id']})", res["device"], args.backend,
                f"{res['vertices']:,}", str(res["batch"]), f"{res['params']:,}",
                f"{res['infer_ms']:.4g}", cell, ratio,
                f"{res['step_ms']:.4g}", f"{res['peak_gb']:.2f}", f"{res['build_s']:.1f}",
            ]) + " |")
        if res.get("kind") != "gpu":
            rows.append(f"| {case} | GPU | {args.backend} | {NOT_MEASURED} |||||||||")
        print(*rows[-2:], sep="\n", flush=True)
    return rows


def _selected(case: str, args) -> bool:
    return not args.only or any(s in case for s in args.only)


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--small", action="store_true", help="CPU-sized cases (about a minute)")
    parser.add_argument("--backend", default="jax", choices=("jax", "tensorflow"))
    parser.add_argument("--repeats", type=int, default=5)
    parser.add_argument("--only", nargs="*", help="substrings of case names to run")
    parser.add_argument("--out", help="the Markdown file (default: benchmarks/results/"
                        "accelerator.md; accelerator-small.md with --small)")
    parser.add_argument("--worker", help=argparse.SUPPRESS)
    parser.add_argument("--variant", default="deepsphere", help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.repeats < 1:
        parser.error(f"--repeats must be >= 1, got {args.repeats}")
    if args.worker:
        if args.variant == "torch":
            res = run_torch_chebconv(args.worker, args.small, args.repeats)
        elif args.worker in CHEBCONV:
            res = run_chebconv(args.worker, args.small, args.repeats, args.backend)
        else:
            res = run_model(args.worker, args.small, args.repeats, args.backend)
        print(json.dumps(res))
        return 0
    size = "small sizes (--small)" if args.small else "paper sizes"
    lines = [
        f"Host: {platform.node() or 'unknown'}, {os.cpu_count()} cores; {size}; backend "
        f"{args.backend} (JAX_BCOO_CUSPARSE_LOWERING="
        f"{os.environ.get('JAX_BCOO_CUSPARSE_LOWERING', 'unset')}); median of {args.repeats} "
        "after 1 warm-up; one subprocess per row. "
        "Model built: its graphs, Laplacians and layers.",
        "",
        "## ChebConv, forward + backward (batch 8, 32 -> 32 features, K = 5, float32)",
        "",
        "| case | device | variant | N | nnz | fwd+bwd ms | BW GB/s | GEMM GFLOP/s | bound ms "
        "| x bound | vs torch | host round trip | sparse kernels | peak memory GB |",
        "|---|---|---|---|---|---|---|---|---|---|---|---|---|---|",
        *chebconv_rows(args),
        "",
        "## The paper's models (inference per sample; one training step)",
        "",
        "| model (run) | device | backend | vertices | batch | parameters | inference ms/sample "
        "| paper GPU ms/sample | paper / ours (same measure) | train step ms | peak memory GB | model built s |",
        "|---|---|---|---|---|---|---|---|---|---|---|---|",
        *model_rows(args),
    ]
    text = "\n".join(lines) + "\n"
    default = "accelerator-small.md" if args.small else "accelerator.md"
    out = Path(args.out) if args.out else ROOT / "benchmarks" / "results" / default
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(text)
    print(text)
    failed = [ln for ln in lines if "| failed" in ln]
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
