"""The one network run of every experiment: train, evaluate, time, record (rule train_network).

The experiment supplies its data through ``deepsphere.experiments.<name>.data.network_data(spec,
inputs) -> NetworkData`` (arrays already in the model's input shape); everything else is
shared: the model is built from ``spec.config["model"]`` (``spec.model_kind``), trained by
``deepsphere.training.fit`` with checkpoints beside the model, scored on the test split for
``spec.task``, and timed per sample on the device it ran on. The metrics file holds the
metrics, the config, the provenance, the timing, the selected epoch, the sample counts and
``spec.record``.
"""

from __future__ import annotations

import importlib
import json
import logging
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from deepsphere.io.atomic import atomic_write_json
from deepsphere.workflow.runs import RunSpec

log = logging.getLogger(__name__)

__all__ = ["NetworkData", "run_network"]


@dataclass(frozen=True)
class NetworkData:
    """Train, validation and test ``(x, y)`` arrays in the model's input shape."""

    train: tuple[np.ndarray, np.ndarray]
    val: tuple[np.ndarray, np.ndarray] | None
    test: tuple[np.ndarray, np.ndarray]

    def counts(self) -> dict:
        return {"train": len(self.train[1]), "val": 0 if self.val is None else len(self.val[1]),
                "test": len(self.test[1])}


def _model_factory(spec: RunSpec):
    if spec.model_kind == "planar":
        from deepsphere.models.planar import build_planar_model

        return lambda: build_planar_model(spec.config["model"])
    return None  # fit builds config["model"] with the prebuilt Laplacians


def run_network(spec: RunSpec | dict, inputs: dict, *, metrics_path, model_path,
                graph_paths=(), threads: int | None = None) -> dict:
    """Train and evaluate one run; writes ``model_path`` (its folder holds the checkpoints)
    and ``metrics_path``; returns the metrics dict."""
    from deepsphere.geometry.graphs import graph_id, load_graph
    from deepsphere.runtime.timing import time_per_sample
    from deepsphere.training.evaluation import evaluate
    from deepsphere.training.loop import fit

    spec = spec if isinstance(spec, RunSpec) else RunSpec.from_dict(spec)
    loader = importlib.import_module(f"deepsphere.experiments.{spec.experiment}.data")
    data: NetworkData = loader.network_data(spec, inputs)
    graphs = {graph_id(g.definition): g for g in map(load_graph, graph_paths)}
    out_dir = Path(model_path).parent
    result = fit(spec.config, data.train, data.val, out_dir=out_dir, model=_model_factory(spec),
                 laplacians=graphs or None, threads=threads, verbose=2)
    if Path(model_path).name != "model.keras":
        raise ValueError(f"{model_path}: the model file of a run must be named model.keras")
    bs = spec.config["training"]["batch_size"]
    metrics = evaluate(result.model, data.test, task=spec.task, out_path=metrics_path,
                       config=spec.config, batch_size=bs)
    timing = time_per_sample(result.model.predict_on_batch, data.test[0], bs,
                             spec.timing_repeats)
    record = json.loads(Path(metrics_path).read_text())
    record.update({**spec.record, "timing": timing, "selected_epoch": result.selected_epoch,
                   "n_samples": data.counts()})
    atomic_write_json(metrics_path, record)
    log.info("%s/%s: %s, %.3f ms/sample", spec.experiment, spec.run_id,
             {k: v for k, v in metrics.items() if isinstance(v, float)}, timing["per_sample_ms"])
    return metrics
