"""Cosmo SVM runs: PSD or histogram features + a linear SVM (rule cosmo_svm).

The network runs (DeepSphere FCN/CNN, the 2-D CNN/FCN) go through the shared network run
(``deepsphere.workflow.network_run``) with this experiment's data loader (``data.py``). Every
run writes ``results/cosmo/metrics/<run_id>.json``: the test metrics, the run config, the
per-sample inference time with the hardware it ran on, and the provenance.
"""

from __future__ import annotations

import logging
from pathlib import Path

import numpy as np

from deepsphere.experiments.cosmo import baselines as bl
from deepsphere.experiments.cosmo.data import CosmoData, load_run
from deepsphere.experiments.cosmo.noise import add_fixed_noise
from deepsphere.experiments.cosmo.plan import SVM_METHODS, CosmoRun, batch_size, run_seed
from deepsphere.io.atomic import atomic_write_json
from deepsphere.runtime.timing import time_per_sample
from deepsphere.training.seeds import derive_seed

log = logging.getLogger(__name__)

__all__ = ["psd_settings", "run_svm", "run_svm_spec"]


# --------------------------------------------------------------------------- SVM runs
def psd_settings(cosmo: dict, nside: int, order: int) -> dict:
    """``lmax`` and ``iter`` of the PSD features from ``cosmo.baselines.psd`` (optional).

    ``lmax``: ``map`` (default; ``3 nside - 1``, the original's) or ``patch`` (``3 nside / order
    - 1``: a patch of side ``nside / order`` pixels resolves no finer ``l`` once the noise
    dominates the smoothed small scales; cheaper at order 2). ``iter``: healpy's map2alm
    iterations (default 3, the original's; 0 is one pass, cheaper).
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
        atomic_write_json(path, obj)
    log.info("%s: C=%g, test accuracy %.4f", run.run_id, sel.C, metrics["accuracy"])
    return metrics


def run_svm_spec(spec, inputs, *, model_path, metrics_path) -> dict:
    """An SVM run from its :class:`~deepsphere.workflow.runs.RunSpec` (rule cosmo_svm)."""
    from deepsphere.workflow.runs import RunSpec

    spec = spec if isinstance(spec, RunSpec) else RunSpec.from_dict(spec)
    run, data = load_run(spec.data, inputs)
    return run_svm(spec.data["cosmo"], run, data, seed=spec.data["seed"], model_path=model_path,
                   metrics_path=metrics_path)
