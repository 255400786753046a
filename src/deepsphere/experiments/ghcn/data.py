"""The data of one GHCN run: the task's samples on its station set (``network_data``).

Inputs ``(n, S, C)`` standardised with the training period's statistics; the dense task's
targets ``(n, S, 1)`` are standardised with the same temperature statistics (the test set is
scored back in °C through ``NetworkData.target_transform``) and its missing targets are NaN:
they get zero weight in the loss (``ArrayBatches(mask_missing=True)``) and are left out of the
metrics. The graph's vertex order is the station set's: the positions file is checked to hold
the same stations in the same order.
"""

from __future__ import annotations

import numpy as np

__all__ = ["network_data"]


def _check_positions(arrays, positions_path) -> None:
    from deepsphere.geometry.positions import read_positions

    lon, lat = read_positions(positions_path)
    if len(lon) != len(arrays.station_ids) or not (
            np.allclose(lon, arrays.coords["lon_deg"]) and np.allclose(lat, arrays.coords["lat_deg"])):
        raise ValueError(f"{positions_path} does not list the stations of the station set in "
                         "their order: both come from the station-set rule; rerun it")


def load_task(spec, inputs):
    """The run's :class:`~deepsphere.experiments.ghcn.tasks.TaskData` and station arrays."""
    from deepsphere.experiments.ghcn.arrays import read_arrays
    from deepsphere.experiments.ghcn.tasks import TASKS, build_task

    task = TASKS[spec.data["run"]["task"]]
    arrays = read_arrays(inputs["stations"], elements=task.elements)
    if "positions" in inputs:
        _check_positions(arrays, inputs["positions"])
    return build_task(task, arrays, spec.data["split"], int(spec.data["window"])), arrays


def network_data(spec, inputs):
    """``NetworkData`` of a run (train and validation as seeded ``ArrayBatches``)."""
    from deepsphere.training.data import ArrayBatches
    from deepsphere.workflow.network_run import NetworkData

    data, _ = load_task(spec, inputs)
    dense = data.target_transform is not None
    batch, seed = int(spec.config["training"]["batch_size"]), int(spec.config["seed"])

    def arrays(split):
        x, y = data.splits[split]
        return x, (y[..., None] if dense else y)  # dense: (n, S, 1), one loss per station

    train = ArrayBatches(*arrays("train"), batch_size=batch, seed=seed, shuffle=True,
                         mask_missing=dense)
    val = ArrayBatches(*arrays("val"), batch_size=batch, seed=seed, shuffle=False,
                       mask_missing=dense)
    return NetworkData(train, val, arrays("test"), test_ids=list(map(int, data.days["test"])),
                       target_transform=data.target_transform)
