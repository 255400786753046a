"""Cosmo experiment orchestration: the data of a cell, one run (train, evaluate, time).

A run is one (method, order, noise[, graph]) cell (:class:`CosmoRun`); the workflow trains and
evaluates each one with :func:`run_network` (DeepSphere FCN/CNN on the patch graphs, or the 2-D
CNN/FCN on quad-tree images) or :func:`run_svm` (PSD or histogram features + linear SVM).
Every run writes ``results/cosmo/metrics/<run_id>.json``: the test metrics, the run config,
the per-sample inference time with the hardware it ran on, and the provenance (package
versions, git commit). The config section is ``config["cosmo"]`` (see config/config.yaml).

Seeds: the train/validation split and the fixed validation/test noise are functions of
``(seed, order, noise)`` only, so every method of a cell sees the same noisy samples; each run's
weights, data order and training noise derive from ``(seed, run_id)``.
"""

from __future__ import annotations

import json
import logging
import os
import platform
import sys
import time
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from deepsphere.experiments.cosmo import baselines as bl
from deepsphere.experiments.cosmo.noise import add_fixed_noise, stratified_split
from deepsphere.experiments.cosmo.plan import (
    PLANAR_METHODS,
    SVM_METHODS,
    CosmoRun,
    batch_size,
    run_config,
    run_seed,
)
from deepsphere.experiments.cosmo.preprocess import load_normalisation, load_patch_cache, normalise
from deepsphere.training.seeds import derive_seed

log = logging.getLogger(__name__)

__all__ = ["CosmoData", "load_cosmo_data", "load_run", "hardware_label", "time_per_sample", "run_network",
           "psd_settings", "run_svm"]

# --------------------------------------------------------------------------- data
@dataclass(frozen=True)
class CosmoData:
    """Normalised patches ``(n, npix_patch)`` float32: training clean (noise is drawn per batch),
    validation and test with one fixed seeded noise draw; ``*_patch`` are NEST patch numbers."""

    x_train: np.ndarray
    y_train: np.ndarray
    train_patch: np.ndarray
    x_val: np.ndarray
    y_val: np.ndarray
    val_patch: np.ndarray
    x_test: np.ndarray
    y_test: np.ndarray
    test_patch: np.ndarray
    nside: int
    order: int


def load_cosmo_data(train_cache, test_cache, normalisation, *, noise: float,
                    val_fraction: float, seed: int) -> CosmoData:
    """Read both caches, normalise by the TRAINING std, split, add the fixed noise."""
    stats = load_normalisation(normalisation)
    train, test = load_patch_cache(train_cache), load_patch_cache(test_cache)
    for key in ("nside", "order"):
        if int(train.attrs[key]) != int(test.attrs[key]) or int(train.attrs[key]) != stats[key]:
            raise ValueError(f"{train_cache}, {test_cache} and {normalisation} disagree on {key}: "
                             "rebuild them from the same config")
    nside, order = int(train.attrs["nside"]), int(train.attrs["order"])
    tr, va = stratified_split(train.y, val_fraction, derive_seed(seed, 1, order))
    cell = derive_seed(seed, 3, order, int(round(noise * 1000)))
    x = normalise(train.x, stats)
    return CosmoData(
        x[tr], train.y[tr], train.patch_index[tr],
        add_fixed_noise(x[va], noise, derive_seed(cell, 0)), train.y[va], train.patch_index[va],
        add_fixed_noise(normalise(test.x, stats), noise, derive_seed(cell, 1)), test.y,
        test.patch_index, nside, order,
    )


def load_run(spec: dict, train_cache, test_cache, normalisation):
    """The run and its data, from the ``spec`` a workflow step passes (keys ``run``, ``cosmo``,
    ``seed``): what every cosmo training or SVM step starts with."""
    run = CosmoRun(**{k: spec["run"][k] for k in ("method", "order", "noise", "graph")})
    data = load_cosmo_data(train_cache, test_cache, normalisation, noise=run.noise,
                           val_fraction=spec["cosmo"]["val_fraction"], seed=spec["seed"])
    return run, data


# --------------------------------------------------------------------------- timing
def hardware_label() -> str:
    """The device inference ran on: GPU name(s) if TensorFlow sees one, else the CPU model.

    TensorFlow is asked only if this process already imported it (a network run): an SVM run
    never uses it, and importing it just for the label costs seconds per job.
    """
    tf = sys.modules.get("tensorflow")
    try:
        if tf is None:
            raise ImportError("TensorFlow not in use")

        gpus = tf.config.list_physical_devices("GPU")
        names = [tf.config.experimental.get_device_details(g).get("device_name", g.name)
                 for g in gpus]
        if names:
            return "GPU: " + ", ".join(names)
    except Exception:  # noqa: BLE001 - no TF or no GPU details: fall back to the CPU
        pass
    model = ""
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                model = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    return f"CPU: {model or platform.processor() or platform.machine()} ({os.cpu_count()} cores)"


def time_per_sample(predict, x: np.ndarray, batch: int, repeats: int) -> dict:
    """Median over ``repeats`` of (wall time of ``predict`` on one batch) / batch, in ms.

    ``predict`` is called once first (warm-up, not timed). The paper reports t_batch / batch.
    """
    xb = x[:batch]
    predict(xb)
    times = []
    for _ in range(repeats):
        t0 = time.perf_counter()
        predict(xb)
        times.append(time.perf_counter() - t0)
    return {"per_sample_ms": 1000 * float(np.median(times)) / len(xb), "batch_size": len(xb),
            "repeats": repeats, "hardware": hardware_label()}


def _update_json(path: Path, extra: dict) -> None:
    record = json.loads(path.read_text())
    record.update(extra)
    tmp = path.with_name(path.name + ".tmp")
    tmp.write_text(json.dumps(record, indent=2, sort_keys=True, default=str) + "\n")
    os.replace(tmp, path)


# --------------------------------------------------------------------------- runs
def run_network(cosmo: dict, run: CosmoRun, data: CosmoData, *, seed: int, out_dir,
                metrics_path, graphs: dict | None = None, threads: int | None = None) -> dict:
    """Train (``deepsphere.training.loop.fit``, checkpoints in ``out_dir``) and evaluate one network.

    ``graphs``: ``{graph_id: SphereGraph}`` prebuilt by the graph rule (DeepSphere runs).
    Returns the metrics dict; writes ``out_dir/model.keras`` and ``metrics_path``.
    """
    from deepsphere.training.loop import evaluate, fit

    config = run_config(cosmo, run, seed)
    if run.method in PLANAR_METHODS:
        from deepsphere.models.planar import build_planar_model

        def shape(x):
            return bl.nest_patch_to_image(x)[..., None]

        def factory():
            return build_planar_model(config["model"])
    else:
        def shape(x):
            return x[..., None]

        factory = None
    result = fit(config, (shape(data.x_train), data.y_train), (shape(data.x_val), data.y_val),
                 out_dir=out_dir, model=factory, laplacians=graphs, threads=threads, verbose=2)
    x_test = shape(data.x_test)
    bs = config["training"]["batch_size"]
    metrics = evaluate(result.model, (x_test, data.y_test), task="classification",
                       out_path=metrics_path, config=config, batch_size=bs)
    timing = time_per_sample(result.model.predict_on_batch, x_test, bs,
                             int(cosmo["timing"]["repeats"]))
    _update_json(Path(metrics_path), {
        "run": run.to_dict(), "timing": timing, "selected_epoch": result.selected_epoch,
        "n_samples": {"train": len(data.y_train), "val": len(data.y_val),
                      "test": len(data.y_test)},
    })
    log.info("%s: test accuracy %.4f, %.3f ms/sample", run.run_id, metrics["accuracy"],
             timing["per_sample_ms"])
    return metrics


def psd_settings(cosmo: dict, nside: int, order: int) -> dict:
    """``lmax`` and ``iter`` of the PSD features from ``cosmo.baselines.psd`` (optional).

    ``lmax``: ``map`` (default; ``3 nside - 1``, the original's) or ``patch`` (``3 nside / order
    - 1``: a patch of side ``nside / order`` pixels resolves no finer ``l`` once the noise
    dominates the smoothed small scales; ~4x cheaper at order 2). ``iter``: healpy's map2alm
    iterations (default 3, the original's; 0 is ~6x cheaper).
    """
    p = cosmo["baselines"].get("psd") or {}
    mode = p.get("lmax", "map")
    if mode not in ("map", "patch"):
        raise ValueError(f"cosmo.baselines.psd.lmax={mode!r} must be 'map' or 'patch'")
    lmax = 3 * nside - 1 if mode == "map" else 3 * (nside // order) - 1
    return {"lmax": lmax, "iter": int(p.get("iter", 3))}


def _features(method, x, patch, edges, data: CosmoData, psd: dict | None = None):
    if method == "psd":
        return bl.psd_features(x, patch, nside=data.nside, order=data.order, progress=False,
                               **(psd or {}))
    return bl.histogram_features(x, edges, progress=False)


def run_svm(cosmo: dict, run: CosmoRun, data: CosmoData, *, seed: int, model_path,
            metrics_path) -> dict:
    """PSD or histogram features + linear SVM (C chosen on validation, never on test).

    Training features: ``augmentation`` fresh noise draws of the training patches (as the
    original). Writes the SVM (coefficients, standardiser, C, validation accuracies) as JSON to
    ``model_path`` and the metrics JSON; returns the metrics.
    """
    from deepsphere.metrics import classification_report
    from deepsphere.training.runtime import provenance

    if run.method not in SVM_METHODS:
        raise ValueError(f"run_svm: method {run.method!r} is not psd or hist")
    b = cosmo["baselines"]
    n_aug = int(b["augmentation"][run.method])
    rs = run_seed(seed, run)
    psd = psd_settings(cosmo, data.nside, data.order) if run.method == "psd" else None
    draws = [add_fixed_noise(data.x_train, run.noise, derive_seed(rs, a)) for a in range(n_aug)]
    edges = bl.histogram_edges(draws[0], int(b["histogram_bins"])) if run.method == "hist" else None
    f_train = np.concatenate([_features(run.method, d, data.train_patch, edges, data, psd)
                              for d in draws])
    y_train = np.tile(data.y_train, n_aug)
    scaler = bl.Standardiser().fit(f_train)
    sel = bl.select_linear_svm(
        scaler.transform(f_train), y_train,
        scaler.transform(_features(run.method, data.x_val, data.val_patch, edges, data, psd)),
        data.y_val, Cs=[float(c) for c in b["Cs"]], seed=rs)

    def predict(x, patch=None):
        patch = data.test_patch[: len(x)] if patch is None else patch
        return sel.model.predict(scaler.transform(_features(run.method, x, patch, edges, data,
                                                                     psd)))

    pred = predict(data.x_test, data.test_patch)
    metrics = classification_report(data.y_test, np.eye(2)[pred])
    timing = time_per_sample(predict, data.x_test, batch_size(cosmo, run.order),
                             int(cosmo["timing"]["repeats"]))
    model_path, metrics_path = Path(model_path), Path(metrics_path)
    for path, obj in (
        (model_path, {"C": sel.C, "val_accuracy": {str(k): v for k, v in sel.val_accuracy.items()},
                      "coef": sel.model.coef_.tolist(), "intercept": sel.model.intercept_.tolist(),
                      "mean": scaler.mean_.tolist(), "std": scaler.std_.tolist(),
                      "edges": None if edges is None else edges.tolist(), "psd": psd}),
        (metrics_path, {"task": "classification", "metrics": metrics,
                        "config": {"seed": rs, "baselines": b, "run": run.to_dict()},
                        "provenance": provenance(), "run": run.to_dict(), "timing": timing,
                        "n_samples": {"train": len(data.y_train), "val": len(data.y_val),
                                      "test": len(data.y_test)}}),
    ):
        path.parent.mkdir(parents=True, exist_ok=True)
        tmp = path.with_name(path.name + ".tmp")
        tmp.write_text(json.dumps(obj, indent=2, sort_keys=True, default=str) + "\n")
        os.replace(tmp, path)
    log.info("%s: C=%g, test accuracy %.4f", run.run_id, sel.C, metrics["accuracy"])
    return metrics
