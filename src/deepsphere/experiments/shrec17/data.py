"""The data of one SHREC'17 run: the standardised train, val and test projections, the test
rows grouped by model (``network_data``)."""

from __future__ import annotations

from deepsphere.experiments.shapes.network_inputs import load_standardised, test_arrays

__all__ = ["network_data"]


def network_data(spec, inputs):
    """``NetworkData``: ``(n, n_pixels, 6)`` inputs; test groups = models, ids = CSV ids."""
    from deepsphere.workflow.network_run import NetworkData

    train = load_standardised(inputs["train"], inputs["statistics"])
    val = load_standardised(inputs["val"], inputs["statistics"])
    x, y, groups, ids = test_arrays(load_standardised(inputs["test"], inputs["statistics"]))
    return NetworkData((train.x, train.y), (val.x, val.y), (x, y), test_groups=groups,
                       test_ids=ids)
