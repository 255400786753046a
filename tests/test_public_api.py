"""`import deepsphere` is cheap and gives the user-facing names (the list is held here)."""

import json
import subprocess
import sys

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
