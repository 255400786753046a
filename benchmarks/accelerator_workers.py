"""The workers of ``benchmarks/accelerator.py``: one case each, in its own subprocess.

Device facts (name, kind, peak memory, measured bandwidth and GEMM rate), the paper models
built from ``config/config.yaml``'s run plan, and the ChebConv step on the backend and on
``torch.sparse``. See ``accelerator.py`` for what is measured and how.
"""

from __future__ import annotations

import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(Path(__file__).resolve().parent))  # benchmarks/chebconv.py
sys.path.insert(1, str(ROOT / "src"))  # deepsphere, also where it is not installed

#: The paper's GPU figures, ms per sample, and what they time: inference (Table 2, cosmology:
#: t_batch / batch; Table 7, climate) or one training pass of one instance (Table 3, SHREC'17:
#: the paper's source defines its "inference" column so).
PAPER_MS = {"cosmo-knn8": (185.0, "inference"), "cosmo-knn20": (250.0, "inference"),
            "cosmo-knn40": (363.0, "inference"), "shrec17": (0.9, "training"),
            "climate": (33.0, "inference"), "ghcn": (None, None)}
#: case -> (experiment, run id in config/config.yaml's plan)
MODELS = {
    "cosmo-knn8": ("cosmo", "fcn-knn8-o1-n3.5"),
    "cosmo-knn20": ("cosmo", "fcn-knn20-o1-n3.5"),
    "cosmo-knn40": ("cosmo", "fcn-knn40-o1-n3.5"),
    "shrec17": ("shrec17", "healpix"),
    "climate": ("climate", "main-weighted-s0"),
    "ghcn": ("ghcn", "temperature-P4-s0"),
}
PATHS_CLASS = {"cosmo": "CosmoPaths", "shrec17": "ShrecPaths", "climate": "ClimatePaths",
               "ghcn": "GhcnPaths"}
CHEBCONV = {"chebconv-full": (256, 0, 16), "chebconv-patch": (1024, 1, 32)}  # nside, order, small
GHCN_STATIONS = 10_000
NOT_MEASURED = "not measured"


def device_info(backend: str) -> dict:
    """The visible device's name and kind (``gpu`` or ``cpu``) for this backend."""
    if backend == "jax":
        import jax

        dev = jax.devices()[0]
        name = dev.device_kind if dev.platform != "cpu" else _cpu_name()
        return {"device": name, "kind": "cpu" if dev.platform == "cpu" else "gpu"}
    import tensorflow as tf

    gpus = tf.config.list_physical_devices("GPU")
    if gpus:
        details = tf.config.experimental.get_device_details(gpus[0])
        return {"device": details.get("device_name", "GPU"), "kind": "gpu"}
    return {"device": _cpu_name(), "kind": "cpu"}


def _cpu_name() -> str:
    from deepsphere.runtime.hardware import hardware_label

    return hardware_label()


def peak_memory_gb(backend: str, kind: str) -> float:
    """The device allocator's peak (GPU) or this process's peak RSS (CPU), in GB."""
    if kind == "gpu" and backend == "jax":
        import jax

        stats = jax.devices()[0].memory_stats() or {}
        return stats.get("peak_bytes_in_use", float("nan")) / 1e9
    if kind == "gpu":
        import tensorflow as tf

        return tf.config.experimental.get_memory_info("GPU:0")["peak"] / 1e9
    from chebconv import peak_rss_gb

    return peak_rss_gb()


def median_s(fn, repeats: int) -> float:
    import statistics

    from deepsphere.runtime.timing import time_call

    return statistics.median(time_call(fn, repeats))


# ----------------------------------------------------------------------------- models


def model_run(case: str, small: bool):
    """The case's run spec from the paper config, resized for ``--small``; its model config."""
    import importlib

    from deepsphere.workflow.config import load_config_file, path_roots, validate_config

    experiment, run_id = MODELS[case]
    config = load_config_file(ROOT / "config" / "config.yaml")
    validate_config(config, ROOT / "config" / "schema")
    rules = importlib.import_module(f"deepsphere.experiments.{experiment}.rules")
    paths = getattr(rules, PATHS_CLASS[experiment])(path_roots(config), config[experiment])
    spec = next(s for s in rules.run_specs(config, paths) if s.run_id == run_id)
    model = dict(spec.config["model"])
    laplacian = model.get("laplacian")
    if isinstance(laplacian, dict):
        model["laplacian"] = {**laplacian, "lmax": "bound"}
    batch = int(spec.config["training"]["batch_size"])
    if small:
        keep_last = model.get("head") in ("fcn", "dense")  # the last layer gives the outputs
        model["F"] = [f if keep_last and i == len(model["F"]) - 1 else max(2, f // 8)
                      for i, f in enumerate(model["F"])]
        if model.get("sampling") == "healpix":
            model["nside"] = {"cosmo": 256, "shrec17": 32}[experiment]  # >= 5 halvings
        batch = 2
    if model.get("sampling") == "positions":  # GHCN: the stations' file is data; draw them
        model["positions"] = _random_positions(GHCN_STATIONS if not small else 500)
    return spec, model, batch


def _random_positions(n: int) -> str:
    import numpy as np

    rng = np.random.default_rng(0)
    z, lon = rng.uniform(-1, 1, n), rng.uniform(-180, 180, n)
    path = Path(tempfile.mkdtemp()) / "positions.csv"
    rows = "\n".join(f"{a:.6f},{np.degrees(np.arcsin(b)):.6f}" for a, b in zip(lon, z, strict=True))
    path.write_text("lon_deg,lat_deg\n" + rows + "\n")
    return str(path)


def _count_positions(path: str) -> int:
    return sum(1 for _ in open(path)) - 1  # rows under the header


def run_model(case: str, small: bool, repeats: int, backend: str) -> dict:
    import time

    import keras
    import numpy as np

    from deepsphere.models.spherical import build_model, trainable_parameter_count
    from deepsphere.training.config import make_optimizer, validate_training_config
    from deepsphere.training.objectives import compile_for_training

    spec, model_cfg, batch = model_run(case, small)
    info = device_info(backend)
    t0 = time.perf_counter()
    model = build_model(model_cfg)  # builds every level's graph and Laplacian
    build_s = time.perf_counter() - t0
    tcfg = validate_training_config({**spec.config["training"], "batch_size": batch},
                                    has_validation=False)
    trainer = compile_for_training(model, tcfg, make_optimizer(tcfg))
    rng = np.random.default_rng(0)
    n = model.input_shape[1] or _count_positions(model_cfg["positions"])  # None: data-defined
    x = rng.standard_normal((batch, n, model.input_shape[2]), dtype=np.float32)
    out_shape = (batch, *(d or n for d in model.output_shape[1:]))
    if spec.task == "regression":
        y = rng.standard_normal(out_shape).astype(np.float32)
    else:  # classification: (batch,) labels; segmentation: (batch, vertices) labels
        y = rng.integers(0, out_shape[-1], out_shape[:-1]).astype(np.int32)
    x, y = keras.ops.convert_to_tensor(x), keras.ops.convert_to_tensor(y)  # on the device
    targets = y if trainer is model else (y, y)
    infer = median_s(lambda: model.predict_on_batch(x), repeats) / batch
    step = median_s(lambda: trainer.train_on_batch(x, targets), repeats)
    return {**info, "case": case, "run_id": spec.run_id, "vertices": n, "batch": batch,
            "params": trainable_parameter_count(model), "build_s": build_s,
            "infer_ms": 1000 * infer, "step_ms": 1000 * step,
            "peak_gb": peak_memory_gb(backend, info["kind"])}


# ----------------------------------------------------------------------------- ChebConv


def device_rates(backend: str, small: bool) -> tuple[float, float]:
    """The device's memory bandwidth (GB/s: bytes read + written by ``a + 1`` on 1 GiB, best
    of 3) and float32 GEMM rate (GFLOP/s, 4096^3, best of 3), measured on the device."""
    size, m = (2**24, 1024) if small else (2**28, 4096)
    if backend == "jax":
        import jax
        import jax.numpy as jnp

        a = jnp.ones(size, jnp.float32)
        b = jnp.ones((m, m), jnp.float32)
        copy, gemm = jax.jit(lambda v: v + 1), jax.jit(lambda v: v @ v)
        t_copy = min(_times(lambda: copy(a).block_until_ready()))
        t_gemm = min(_times(lambda: gemm(b).block_until_ready()))
    else:
        import tensorflow as tf

        a, b = tf.ones(size), tf.ones((m, m))
        copy, gemm = tf.function(lambda v: v + 1), tf.function(lambda v: v @ v)
        t_copy = min(_times(lambda: copy(a).numpy()[:1]))  # .numpy(): waits for the device
        t_gemm = min(_times(lambda: gemm(b).numpy()[:1]))
    return 2 * 4 * size / t_copy / 1e9, 2 * m**3 / t_gemm / 1e9


def _times(fn):
    from deepsphere.runtime.timing import time_call

    return time_call(fn, 3)


def run_chebconv(case: str, small: bool, repeats: int, backend: str) -> dict:
    import keras
    import numpy as np
    from chebconv import BATCH, F_IN, F_OUT, K, healpix_v1_laplacian, tf_gradient_step

    from deepsphere.layers import sparse_ops

    nside, order, small_nside = CHEBCONV[case]
    lap, _ = healpix_v1_laplacian(small_nside if small else nside, order)
    n = lap.shape[0]
    rng = np.random.default_rng(0)
    x = rng.standard_normal((BATCH, n, F_IN), dtype=np.float32)
    w = (rng.standard_normal((K, F_IN, F_OUT)) * 0.1).astype(np.float32)
    g = rng.standard_normal((BATCH, n, F_OUT), dtype=np.float32)
    info = {**device_info(backend), "case": case, "n": n, "nnz": int(lap.nnz)}
    op = sparse_ops.SparseOperand.from_scipy(lap)
    if keras.backend.backend() == "jax":
        import jax

        xt, wt, gt = (jax.device_put(v) for v in (x, w, g))
        step = jax.jit(lambda a, b, c: jax.vjp(
            lambda u, v: sparse_ops.chebyshev_filter(op, u, v), a, b)[1](c))
        hlo = step.lower(xt, wt, gt).compile().as_text()
        callbacks = sorted({t for t in ("callback", "host_compute", "SendToHost", "RecvFromHost")
                            if t in hlo})
        targets = sorted({t for ln in hlo.splitlines() if 'custom_call_target="' in ln
                          for t in [ln.split('custom_call_target="')[1].split('"')[0]]
                          if "sparse" in t.lower() or "csr" in t.lower()})
        jax.block_until_ready(step(xt, wt, gt))  # compiled and run once outside the guard
        with jax.transfer_guard("disallow"):  # an implicit host <-> device copy raises
            info["step"] = median_s(lambda: jax.block_until_ready(step(xt, wt, gt)), repeats)
        info["host"] = ("host callbacks in the HLO: " + ", ".join(callbacks) if callbacks
                        else "none (transfer guard on; no host callback in the HLO)")
        info["kernels"] = ", ".join(targets) or "XLA ops only (gather / scatter-add)"
        if info["kind"] == "gpu":
            cusparse = jax.config.jax_bcoo_cusparse_lowering  # JAX's default: off
            info["kernels"] += f" [jax_bcoo_cusparse_lowering={cusparse}]"
    else:
        import tensorflow as tf

        tf.config.set_soft_device_placement(False)  # no silent CPU fallback
        xt, wt, gt = (tf.constant(v) for v in (x, w, g))

        step = tf_gradient_step(op, xt, wt, gt)
        ops = {o.type for o in step.get_concrete_function().graph.get_operations()}
        py = sorted(ops & {"PyFunc", "EagerPyFunc", "PyFuncStateless"})
        info["step"] = median_s(lambda: [t.numpy()[:1] for t in step()], repeats)
        info["host"] = ("Python callbacks: " + ", ".join(py) if py
                        else "none (soft placement off; no Python op in the graph)")
        info["kernels"] = ", ".join(sorted(o for o in ops if "Sparse" in o))
    info["peak_gb"] = peak_memory_gb(backend, info["kind"])  # before the probes below
    info["bandwidth"], info["gflops"] = device_rates(backend, small)
    return info


def run_torch_chebconv(case: str, small: bool, repeats: int) -> dict:
    """The same step with ``torch.sparse.mm`` on a CSR tensor (autograd), on the same device."""
    import numpy as np
    import torch
    from chebconv import BATCH, F_IN, F_OUT, K, healpix_v1_laplacian, torch_chebyshev_filter

    nside, order, small_nside = CHEBCONV[case]
    lap, _ = healpix_v1_laplacian(small_nside if small else nside, order)
    n = lap.shape[0]
    dev = torch.device("cuda" if torch.cuda.is_available() else "cpu")
    sync = torch.cuda.synchronize if dev.type == "cuda" else (lambda: None)
    rng = np.random.default_rng(0)
    ts = torch.sparse_csr_tensor(torch.from_numpy(lap.indptr.astype(np.int64)),
                                 torch.from_numpy(lap.indices.astype(np.int64)),
                                 torch.from_numpy(lap.data), (n, n)).to(dev)
    xt = torch.from_numpy(rng.standard_normal((BATCH, n, F_IN), dtype=np.float32)).to(dev)
    wt = torch.from_numpy((rng.standard_normal((K, F_IN, F_OUT)) * 0.1).astype(np.float32))
    wt, gt = wt.to(dev), torch.from_numpy(
        rng.standard_normal((BATCH, n, F_OUT), dtype=np.float32)).to(dev)
    xt.requires_grad_(True)
    wt.requires_grad_(True)

    def step():
        xt.grad = wt.grad = None
        torch_chebyshev_filter(ts, xt, wt).backward(gt)
        sync()

    name = torch.cuda.get_device_name(0) if dev.type == "cuda" else _cpu_name()
    out = {"device": name, "kind": "gpu" if dev.type == "cuda" else "cpu", "case": case,
           "n": n, "nnz": int(lap.nnz), "step": median_s(step, repeats)}
    if dev.type == "cuda":
        out["peak_gb"] = torch.cuda.max_memory_allocated() / 1e9
    else:
        out["peak_gb"] = peak_memory_gb("torch", "cpu")
    return out
