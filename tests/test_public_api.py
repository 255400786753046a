"""`import deepsphere` is cheap and gives the user-facing names (the list is held here)."""

import json
import subprocess
import sys

import pytest

import deepsphere

USER_FACING = {
    # geometry
    "SphereSampling", "healpix_sampling", "equiangular_sampling", "icosahedral_sampling",
    "points_sampling", "SphereGraph", "build_graph", "graph_id", "healpix_v1_graph",
    "healpix_knn_graph", "knn_heat_kernel_graph", "equiangular_khasanova_graph",
    "icosahedral_graph", "points_knn_graph", "save_graph", "load_graph", "laplacian",
    "rescale_laplacian", "chebyshev_laplacian", "largest_eigenvalue", "to_pygsp",
    "paper_kernel_width_t",
    # layers
    "ChebConv", "Bias", "ChebBatchNormalization", "HealpixPooling", "HealpixUnpooling",
    "HealpixSubsetPooling", "HealpixSubsetUnpooling",
    "IcosahedralPooling", "IcosahedralUnpooling", "EquiangularPooling", "EquiangularUnpooling",
    "GlobalVertexPooling",
    # models and training
    "build_model", "validate_model_config", "fit", "evaluate",
}


def test_the_user_facing_names_are_exported():
    assert set(deepsphere.__all__) == USER_FACING
    assert USER_FACING <= set(dir(deepsphere))


def test_every_name_resolves_to_the_object_of_its_module():
    from deepsphere.geometry import graphs, laplacian
    from deepsphere.layers import chebconv, pooling

    for name in sorted(USER_FACING):
        assert getattr(deepsphere, name) is not None, name
    assert deepsphere.ChebConv is chebconv.ChebConv
    assert deepsphere.HealpixPooling is pooling.HealpixPooling
    assert deepsphere.build_graph is graphs.build_graph
    assert deepsphere.chebyshev_laplacian is laplacian.chebyshev_laplacian


def test_an_unknown_name_is_an_attribute_error():
    try:
        deepsphere.NoSuchLayer  # noqa: B018
    except AttributeError as err:
        assert "NoSuchLayer" in str(err)
    else:
        raise AssertionError("deepsphere.NoSuchLayer did not raise")


def test_import_is_cheap_and_the_graph_builders_need_no_keras():
    code = ("import json, sys, deepsphere\n"
            "before = sorted(m for m in ('keras', 'tensorflow', 'jax', 'healpy') if m in sys.modules)\n"
            "g = deepsphere.healpix_v1_graph(2, nest=True)\n"
            "after = 'keras' in sys.modules or 'tensorflow' in sys.modules\n"
            "print(json.dumps([before, after, g.weights.shape[0]]))\n")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120)
    assert out.returncode == 0, out.stderr[-2000:]
    before, keras_after_graph, n = json.loads(out.stdout.splitlines()[-1])
    assert before == [] and not keras_after_graph and n == 48


_SAVE = """
import sys
import numpy as np
from deepsphere.models.spherical import build_model
model = build_model({"sampling": "healpix", "nside": 4, "in_channels": 1, "F": [4, 2], "K": 3,
                     "pool": [1, 0], "head": "fcn", "n_classes": 2,
                     "graph": {"graph": "knn", "k": 8, "t": "paper"}})
model.save(sys.argv[1])
x = np.linspace(-1, 1, 192, dtype="float32").reshape(1, 192, 1)
np.save(sys.argv[2], np.asarray(model(x)))
"""
_LOAD = """
import sys
import numpy as np
{imports}
model = keras.saving.load_model(sys.argv[1])
x = np.linspace(-1, 1, 192, dtype="float32").reshape(1, 192, 1)
np.testing.assert_allclose(np.asarray(model(x)), np.load(sys.argv[2]), rtol=1e-5, atol=1e-6)
print(sorted(m for m in ("deepsphere.layers",) if m in sys.modules))
"""


@pytest.fixture(scope="module")
def saved_model(tmp_path_factory):
    """``(model.keras, its outputs.npy)``, saved once by a separate process."""
    folder = tmp_path_factory.mktemp("saved-model")
    path, outputs = folder / "model.keras", folder / "outputs.npy"
    saved = subprocess.run([sys.executable, "-c", _SAVE, str(path), str(outputs)],
                           capture_output=True, text=True, timeout=300)
    assert saved.returncode == 0, saved.stderr[-3000:]
    return path, outputs


@pytest.mark.parametrize("imports", ["import deepsphere\nimport keras",
                                     "import keras\nimport deepsphere"])
def test_a_saved_model_loads_with_keras_after_import_deepsphere(saved_model, imports):
    """A user's script: no import of deepsphere.layers, only ``import deepsphere`` (before or
    after Keras), then Keras's own loader; the reloaded model gives the saved outputs."""
    path, outputs = saved_model
    loaded = subprocess.run([sys.executable, "-c", _LOAD.format(imports=imports), str(path),
                             str(outputs)], capture_output=True, text=True, timeout=300)
    assert loaded.returncode == 0, loaded.stderr[-3000:]
    assert loaded.stdout.split("\n")[-2] == "['deepsphere.layers']"


def test_without_import_deepsphere_keras_does_not_know_the_layers(saved_model):
    """The reference case: the registration is what makes the test above pass."""
    path, outputs = saved_model
    loaded = subprocess.run([sys.executable, "-c", _LOAD.format(imports="import keras"),
                             str(path), str(outputs)], capture_output=True, text=True, timeout=300)
    assert loaded.returncode != 0 and "deepsphere" in loaded.stderr
