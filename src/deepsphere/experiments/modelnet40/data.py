"""The data of one ModelNet40 run: standardised projections, held-out validation meshes, the
main test set and one more test set per other test rotation (``network_data``)."""

from __future__ import annotations

from deepsphere.experiments.shapes.network_inputs import (
    held_out_meshes,
    load_standardised,
    rows_of_meshes,
    test_arrays,
)
from deepsphere.training.seeds import derive_seed

__all__ = ["network_data"]


def network_data(spec, inputs):
    """``NetworkData`` of a run: ``(n, n_pixels, 6)`` inputs; the test sets grouped by mesh."""
    from deepsphere.workflow.network_run import NetworkData

    train = load_standardised(inputs["train"], inputs["statistics"])
    tr, va = held_out_meshes(train, spec.data["val_fraction"], derive_seed(spec.data["seed"], 40))
    rows_tr, rows_va = rows_of_meshes(train, tr), rows_of_meshes(train, va)
    x, y, groups, ids = test_arrays(load_standardised(inputs["test"], inputs["statistics"]))
    extra = {}
    for rotation in spec.data["run"]["test_rotations"][1:]:
        xe, ye, ge, _ = test_arrays(load_standardised(inputs[f"test_{rotation}"],
                                                      inputs["statistics"]))
        extra[rotation] = (xe, ye, ge)
    fit = (train.x[rows_tr], train.y[rows_tr])
    val = (train.x[rows_va], train.y[rows_va])
    del train  # the subsets are copies: free the whole file's array
    return NetworkData(fit, val, (x, y), test_groups=groups, test_ids=ids, extra_tests=extra)
