"""Models on a data-defined graph: ``sampling: positions`` reads the vertices (weather
stations) from a positions file that a workflow rule writes."""

import numpy as np
import pytest

from deepsphere.geometry.graphs import build_graph, graph_id
from deepsphere.geometry.positions import write_positions
from deepsphere.models.config import level_definitions, validate_model_config
from deepsphere.models.spherical import build_model


def _config(path, **over):
    cfg = {"sampling": "positions", "positions": str(path), "in_channels": 2,
           "graph": {"graph": "knn", "k": 4, "t": "mean-distance"},
           "F": [3, 1], "K": 3, "pool": [0, 0], "head": "dense", "n_classes": 1}
    cfg.update(over)
    return cfg


def test_positions_model_uses_the_file_graph(tmp_path):
    rng = np.random.default_rng(0)
    lon, lat = rng.uniform(-180, 180, 30), rng.uniform(-60, 60, 30)
    path = write_positions(tmp_path / "stations.csv", lon, lat)
    cfg = _config(path)
    (definition,) = level_definitions(validate_model_config(cfg))
    assert definition == {"sampling": "positions", "positions": str(path), "graph": "knn",
                          "k": 4, "t": "mean-distance"}
    graph = build_graph(definition)
    assert graph.weights.shape == (30, 30)
    model = build_model(cfg, laplacians={graph_id(definition): graph})
    x = rng.normal(size=(2, 30, 2)).astype(np.float32)
    assert model(x).shape == (2, 30, 1)


@pytest.mark.parametrize("over, key", [
    ({"positions": 3}, "model.positions"),
    ({"pool": [1, 0]}, "model.pool"),
    ({"head": "unet"}, "model.head"),
    ({"lon_deg": [0, 1]}, "unknown key"),
])
def test_bad_positions_configs_name_the_key(tmp_path, over, key):
    with pytest.raises(ValueError, match=key):
        validate_model_config(_config(tmp_path / "p.csv", **over))
