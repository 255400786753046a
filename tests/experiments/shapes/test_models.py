"""deepsphere.experiments.shapes.models: the SHREC'17 / ModelNet40 configs build the paper's nets.

Parameter counts are derived by hand below (tf1-spec §1.4-1.8, Appendix A), not from the code:

- ChebConv ``F_in -> F_out`` with K terms: ``K * F_in * F_out`` weights, no bias inside;
- BN (the original's ``center=False, scale=False``): no trainable parameter, 2 moving statistics
  per channel (non-trainable);
- Bias after BN: ``F_out``;
- global average over vertices: nothing; logits Dense without bias: ``256 * n_classes``.
"""

import keras
import numpy as np
import pytest

from deepsphere.experiments.shapes import models as shapes_models
from deepsphere.geometry.graphs import build_graph, graph_id
from deepsphere.models.config import level_definitions, validate_model_config
from deepsphere.models.spherical import build_model, required_graphs, trainable_parameter_count

# SHREC'17 HEALPix / equiangular, F 6 -> 16 -> 32 -> 64 -> 128 -> 256, K = 4:
#   conv1   4 *   6 *  16 =     384  + bias  16 =     400
#   conv2   4 *  16 *  32 =   2,048  + bias  32 =   2,080
#   conv3   4 *  32 *  64 =   8,192  + bias  64 =   8,256
#   conv4   4 *  64 * 128 =  32,768  + bias 128 =  32,896
#   conv5   4 * 128 * 256 = 131,072  + bias 256 = 131,328
#   convs 174,960; logits 256 * 55 = 14,080; total 189,040 (tf1-spec Appendix A).
SHREC17_CONVS = 400 + 2_080 + 8_256 + 32_896 + 131_328
SHREC17_TOTAL = SHREC17_CONVS + 256 * 55
# ModelNet40, F 6 -> 16 -> 16 -> 32 -> 32 -> 64 -> 64 -> 128 -> 128 -> 256 -> 256, K = 4:
#   4*6*16 + 16 = 400;        4*16*16 + 16 = 1,040;
#   4*16*32 + 32 = 2,080;     4*32*32 + 32 = 4,128;
#   4*32*64 + 64 = 8,256;     4*64*64 + 64 = 16,448;
#   4*64*128 + 128 = 32,896;  4*128*128 + 128 = 65,664;
#   4*128*256 + 256 = 131,328; 4*256*256 + 256 = 262,400;
#   convs 524,640; logits 256 * 40 = 10,240; total 534,880 (tf1-spec Appendix A).
MN40_CONVS = 400 + 1_040 + 2_080 + 4_128 + 8_256 + 16_448 + 32_896 + 65_664 + 131_328 + 262_400
MN40_TOTAL = MN40_CONVS + 256 * 40


def test_the_paper_counts_and_the_class_counts():
    # our hand derivations above against the paper's numbers as the package ships them
    assert shapes_models.paper_parameter_counts() == {
        "shrec17_healpix": SHREC17_TOTAL, "shrec17_equiangular": SHREC17_TOTAL,
        "modelnet40": MN40_TOTAL}
    from deepsphere.experiments.shapes.datasets import shrec17_synsets

    assert shapes_models.SHREC17_CLASSES == len(shrec17_synsets())


@pytest.fixture(scope="module")
def healpix_graphs():
    """The V2 k=8 graphs at nside 32..2, built once and shared by the HEALPix models."""
    defs = required_graphs(shapes_models.shrec17_healpix_config())
    return {graph_id(d): build_graph(d) for d in defs}


@pytest.fixture(scope="module")
def shrec17(healpix_graphs):
    return build_model(shapes_models.shrec17_healpix_config(), laplacians=healpix_graphs)


@pytest.fixture(scope="module")
def modelnet40(healpix_graphs):
    return build_model(shapes_models.modelnet40_config(), laplacians=healpix_graphs)


@pytest.fixture(scope="module")
def shrec17_equiangular():
    return build_model(shapes_models.shrec17_equiangular_config())


def _bn_layers(model):
    return [layer for layer in model.layers if layer.name.endswith("_bn")]


def _conv_layers(model):
    return [layer for layer in model.layers if type(layer).__name__ == "ChebConv"]


def test_configs_validate_and_are_keras_free():
    import subprocess
    import sys

    code = (
        "import sys; from deepsphere.experiments.shapes import models as m; "
        "from deepsphere.models.config import validate_model_config as v; "
        "[v(m.shapes_model_config(k)) for k in m.paper_parameter_counts()]; "
        "assert 'keras' not in sys.modules and 'tensorflow' not in sys.modules"
    )
    proc = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True)
    assert proc.returncode == 0, proc.stderr[-2000:]
    with pytest.raises(ValueError, match="not one of"):
        shapes_models.shapes_model_config("resnet")


def test_shrec17_healpix(shrec17):
    assert trainable_parameter_count(shrec17) == SHREC17_TOTAL == 189_040
    # BN: no gamma/beta, only the moving mean and variance (non-trainable)
    bns = _bn_layers(shrec17)
    assert len(bns) == 5 and all(not bn.trainable_weights for bn in bns)
    assert sum(int(np.prod(w.shape)) for bn in bns for w in bn.non_trainable_weights) == 2 * (
        16 + 32 + 64 + 128 + 256
    )
    assert [c.kernel.shape for c in _conv_layers(shrec17)] == [
        (4, 6, 16), (4, 16, 32), (4, 32, 64), (4, 64, 128), (4, 128, 256)
    ]
    assert shrec17.input.shape == (None, 12 * 32**2, 6)
    # nside 32 -> 16 -> 8 -> 4 -> 2 -> 1: the global average runs over the 12 nside-1 pixels
    assert shrec17.get_layer("pool5").output.shape == (None, 12, 256)
    assert shrec17.get_layer("global_avg").output.shape == (None, 256)
    y = shrec17(np.zeros((2, 12 * 32**2, 6), np.float32), training=False)
    assert tuple(y.shape) == (2, 55) and np.all(np.isfinite(keras.ops.convert_to_numpy(y)))


def test_modelnet40(modelnet40):
    assert trainable_parameter_count(modelnet40) == MN40_TOTAL == 534_880
    convs = _conv_layers(modelnet40)
    assert [c.kernel.shape[1:] for c in convs] == [
        (6, 16), (16, 16), (16, 32), (32, 32), (32, 64),
        (64, 64), (64, 128), (128, 128), (128, 256), (256, 256),
    ]
    assert all(c.K == 4 for c in convs)
    # two convs per resolution: nsides [32, 32, 16, 16, 8, 8, 4, 4, 2, 2], then pool to 1
    assert [c.laplacian["graph"]["nside"] for c in convs] == [32, 32, 16, 16, 8, 8, 4, 4, 2, 2]
    assert [c.n_vertices for c in convs] == [12 * n**2 for n in (32, 32, 16, 16, 8, 8, 4, 4, 2, 2)]
    pools = [layer.name for layer in modelnet40.layers if layer.name.startswith("pool")]
    assert pools == ["pool2", "pool4", "pool6", "pool8", "pool10"]
    assert modelnet40.get_layer("pool10").output.shape == (None, 12, 256)
    assert len(_bn_layers(modelnet40)) == 10
    y = modelnet40(np.zeros((2, 12 * 32**2, 6), np.float32), training=False)
    assert tuple(y.shape) == (2, 40)


def test_healpix_graphs_are_v2_nest_nside32_to_1(shrec17):
    """One V2 (kNN k=8, the paper's kernel width) NEST full-sphere graph per conv resolution.

    The convs run at nside 32, 16, 8, 4, 2; nside 1 is the last pooling's output (12 pixels,
    averaged), which has no conv and so no graph, as in the original (``len(L) = len(nsides)-1``).
    """
    for cfg in (shapes_models.shrec17_healpix_config(), shapes_models.modelnet40_config()):
        defs = required_graphs(cfg)
        assert [d["nside"] for d in defs] == [32, 16, 8, 4, 2]
        for d in defs:
            assert d["sampling"] == "healpix" and d["nest"] is True and d["indexes"] is None
            assert (d["graph"], d["k"], d["t"]) == ("knn", 8, "paper")
        assert graph_id(defs[0]) == "healpix-nside32-nest-all-knn8-tpaper"
        full = validate_model_config(cfg)
        assert full["laplacian"] == [
            {"kind": "normalized", "interval": [-1.0, 1.0], "lmax": "eigsh"}
        ] * 5
        assert full["pool_mode"] == "max" and full["batch_norm"] is True
        assert level_definitions(full) == defs
    assert [c.laplacian["graph"]["nside"] for c in _conv_layers(shrec17)] == [32, 16, 8, 4, 2]


def test_v2_graph_weights_use_the_paper_sigma(healpix_graphs):
    """V2 weights: w = exp(ln(1/2) d^2 / sigma^2), sigma(32) = 0.025, sigma(n) = 0.025*32/n."""
    for n in (32, 2):
        g = healpix_graphs[f"healpix-nside{n}-nest-all-knn8-tpaper"]
        w = g.weights.tocoo()
        v = g.sampling.vectors
        d2 = np.sum((v[w.row] - v[w.col]) ** 2, axis=1)
        sigma = 0.025 * 32 / n
        np.testing.assert_allclose(w.data, np.exp(np.log(0.5) * d2 / sigma**2), rtol=2e-4)
        assert np.all(np.diff(g.weights.indptr) >= 8)  # kNN k=8, union-symmetrised


def test_shrec17_equiangular(shrec17_equiangular):
    """Same convs and FC as the HEALPix net (the count does not depend on the grid): 189,040."""
    model = shrec17_equiangular
    assert trainable_parameter_count(model) == SHREC17_TOTAL == 189_040
    convs = _conv_layers(model)
    # SOFT bandwidths 64 -> 32 -> 16 -> 8 -> 4 (convs) -> 2 (last pool): 128^2 .. 4^2 grids
    assert [c.laplacian["graph"]["bandwidth"] for c in convs] == [64, 32, 16, 8, 4]
    assert all(c.laplacian["graph"]["grid"] == "SOFT" for c in convs)
    assert [c.n_vertices for c in convs] == [(2 * b) ** 2 for b in (64, 32, 16, 8, 4)]
    assert model.input.shape == (None, 128**2, 6)
    assert model.get_layer("pool5").output.shape == (None, 4**2, 256)
    y = model(np.zeros((2, 128**2, 6), np.float32), training=False)
    assert tuple(y.shape) == (2, 55)
