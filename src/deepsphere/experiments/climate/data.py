"""The data of one climate run: batches streamed from the split's shard stores, normalised with
the training split's channel statistics; with the weighted loss the training batches carry the
per-vertex class weights of the training labels (``network_data``)."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np

__all__ = ["network_data"]

#: The mAP averages over TC and AR (the background excluded), as the paper.
MAP_CLASSES = (1, 2)


def network_data(spec, inputs):
    """``NetworkData`` of a run: ``ShardBatches`` streams of ``(batch, 10242, 16)`` inputs and
    ``(batch, 10242)`` labels; the test stream unshuffled."""
    from deepsphere.training.streams import ShardBatches
    from deepsphere.workflow.network_run import NetworkData

    stats = json.loads(Path(inputs["statistics"]).read_text(encoding="utf-8"))
    mean, std = np.asarray(stats["mean"], np.float32), np.asarray(stats["std"], np.float32)
    weighted = spec.data["run"]["loss"] == "weighted"
    batch = int(spec.config["training"]["batch_size"])
    seed = int(spec.config["seed"])

    def stream(split, **kwargs):  # the stream opens (and its close() closes) the store
        return ShardBatches(inputs[split], batch_size=batch, mean=mean, std=std,
                            window=int(spec.data["window"]), **kwargs)

    train = stream("train", seed=seed, shuffle=True,
                   class_weight=np.asarray(stats["class_weights"], np.float32) if weighted
                   else None)
    return NetworkData(train, stream("val", shuffle=False), stream("test", shuffle=False),
                       map_classes=MAP_CLASSES)
