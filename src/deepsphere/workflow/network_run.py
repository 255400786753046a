"""The one network run of every experiment: train, evaluate, time, record (rule train_network).

The experiment supplies its data through ``deepsphere.experiments.<name>.data.network_data(spec,
inputs) -> NetworkData`` (arrays already in the model's input shape); everything else is
shared: the model is built from ``spec.config["model"]`` (``spec.model_kind``), trained by
``deepsphere.training.fit`` with checkpoints beside the model, scored on the test split for
``spec.task``, and timed per sample on the device it ran on. The metrics file holds the
metrics, the config, the provenance, the timing, the selected epoch, the sample counts,
``spec.record`` and, when the data has more test sets, ``extra_tests`` (their metrics by name).
Every run also writes its predictions file: the test probabilities (averaged over the
augmented copies of an object when the data gives ``test_groups``) or outputs, labels and ids.
"""

from __future__ import annotations

import importlib
import json
import logging
import time
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from deepsphere.io.atomic import atomic_write_json
from deepsphere.workflow.runs import RunSpec

log = logging.getLogger(__name__)

__all__ = ["NetworkData", "run_network"]


@dataclass(frozen=True)
class NetworkData:
    """Train, validation and test ``(x, y)`` arrays in the model's input shape, or streams.

    A stream is a ``keras.utils.PyDataset`` with ``n_samples``, ``first_batch()`` (the inputs
    of its first batch, for timing) and, for the test set, ``labels()`` and no shuffling (e.g.
    :class:`deepsphere.training.streams.ShardBatches`): data too large for memory.
    ``map_classes``: segmentation: the classes the mAP averages over (all if None).
    ``target_transform``: regression on standardised targets: ``(offset, scale)`` back to the
    data's units, in which the test set is scored and the predictions written.
    ``target_names``: regression with several targets: their names (the metrics then hold
    each target's scores under ``per_target``).
    ``test_groups``: ``(n_test,)`` the object of each test row (its augmented copies share
    it): the softmax is averaged per object (classification). ``test_ids``: one id per test
    object (per group), written with the predictions. ``extra_tests``: more test sets, ``{name:
    (x, y, groups or None)}``, scored the same way (e.g. another rotation of the same objects).
    """

    train: tuple[np.ndarray, np.ndarray]
    val: tuple[np.ndarray, np.ndarray] | None
    test: tuple[np.ndarray, np.ndarray]
    test_groups: np.ndarray | None = None
    test_ids: list | None = None
    extra_tests: dict = field(default_factory=dict)
    map_classes: tuple | None = None
    target_transform: tuple | None = None
    target_names: tuple | None = None

    def counts(self) -> dict:
        return {"train": _n_samples(self.train),
                "val": 0 if self.val is None else _n_samples(self.val),
                "test": _n_samples(self.test),
                **{f"test.{k}": len(v[1]) for k, v in self.extra_tests.items()}}


def _n_samples(data) -> int:
    """Samples of ``(x, y)`` arrays or of a stream (its ``n_samples``)."""
    return int(data.n_samples) if hasattr(data, "n_samples") else len(data[1])


def _timing_inputs(test):
    """Inputs to time the model on: the test arrays, or a stream's first batch."""
    return test.first_batch() if hasattr(test, "first_batch") else test[0]


def _model_factory(spec: RunSpec):
    if spec.model_kind == "planar":
        from deepsphere.models.planar import build_planar_model

        return lambda: build_planar_model(spec.config["model"])
    return None  # fit builds config["model"] with the prebuilt Laplacians


def run_network(spec: RunSpec | dict, inputs: dict, *, metrics_path, model_path,
                predictions_path=None, graph_paths=(), threads: int | None = None) -> dict:
    """Train and evaluate one run; writes ``model_path`` (its folder holds the checkpoints),
    ``metrics_path`` and ``predictions_path`` (if given); returns the metrics dict."""
    from deepsphere.geometry.graphs import graph_id, load_graph
    from deepsphere.runtime.timing import time_per_sample
    from deepsphere.training.evaluation import evaluate
    from deepsphere.training.loop import fit

    spec = spec if isinstance(spec, RunSpec) else RunSpec.from_dict(spec)
    loader = importlib.import_module(f"deepsphere.experiments.{spec.experiment}.data")
    data: NetworkData = loader.network_data(spec, inputs)
    graphs = {graph_id(g.definition): g for g in map(load_graph, graph_paths)}
    out_dir = Path(model_path).parent
    started = time.perf_counter()
    result = fit(spec.config, data.train, data.val, out_dir=out_dir, model=_model_factory(spec),
                 laplacians=graphs or None, threads=threads, verbose=2)
    training_s = time.perf_counter() - started
    if Path(model_path).name != "model.keras":
        raise ValueError(f"{model_path}: the model file of a run must be named model.keras")
    bs = spec.config["training"]["batch_size"]
    metrics = evaluate(result.model, data.test, task=spec.task, out_path=metrics_path,
                       config=spec.config, batch_size=bs, groups=data.test_groups,
                       predictions_path=predictions_path, ids=data.test_ids,
                       map_classes=data.map_classes, target_transform=data.target_transform,
                       target_names=data.target_names)
    extra = {}
    for name, (x, y, groups) in data.extra_tests.items():
        extra[name] = evaluate(result.model, (x, y), task=spec.task, out_path=None,
                               batch_size=bs, groups=groups)
    timing = time_per_sample(result.model.predict_on_batch, _timing_inputs(data.test), bs,
                             spec.timing_repeats)
    record = json.loads(Path(metrics_path).read_text())
    trainable = int(sum(np.prod(v.shape) for v in result.model.trainable_weights))
    record.update({**spec.record, "timing": timing, "selected_epoch": result.selected_epoch,
                   "n_samples": data.counts(), "trainable_parameters": trainable,
                   "training_s": training_s})
    if extra:
        record["extra_tests"] = extra
    atomic_write_json(metrics_path, record)
    for part in (data.train, data.val, data.test):
        if hasattr(part, "close"):  # a stream: its files, buffers and threads
            part.close()
    log.info("%s/%s: %s, %.3f ms/sample", spec.experiment, spec.run_id,
             {k: v for k, v in metrics.items() if isinstance(v, float)}, timing["per_sample_ms"])
    return metrics
