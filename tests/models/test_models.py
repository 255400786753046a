"""deepsphere.models.spherical: the originals' parameter counts, graph definitions per level, layer order,
prebuilt Laplacians, save/load, rotation invariance of the FCN, and config errors.

Parameter counts come from tf1-spec Appendix A (derived from the original architectures), not
from this code. Models are built at small sizes wherever the count does not depend on the
vertex count; the flatten CNN is checked through its formula with the real patch size.
"""

import healpy as hp
import keras
import numpy as np
import pytest
import scipy.sparse as sp

from deepsphere.geometry.graphs import build_graph, graph_id
from deepsphere.models.config import n_vertices
from deepsphere.models.spherical import build_model, required_graphs, trainable_parameter_count


def _placeholders(cfg):
    """Identity 'Laplacians' of the right sizes: counts without building any graph."""
    return {
        graph_id(d): sp.identity(n_vertices(d), format="csr", dtype=np.float32)
        for d in required_graphs(cfg)
    }


COSMO_FCN = {  # tf1-spec §2.1
    "sampling": "healpix",
    "nside": 1024,
    "order": 1,
    "in_channels": 1,
    "F": [16, 32, 64, 64, 64, 2],
    "K": 5,
    "pool": [1, 1, 1, 1, 1, 0],
    "pool_mode": "max",
    "head": "fcn",
    "n_classes": 2,
}
SHREC17 = {  # tf1-spec §2.5
    "sampling": "healpix",
    "nside": 32,
    "in_channels": 6,
    "F": [16, 32, 64, 128, 256],
    "K": 4,
    "pool": [1] * 5,
    "head": "global_avg",
    "n_classes": 55,
}
MODELNET40 = {  # tf1-spec §2.4: two convs per resolution, then pool
    "sampling": "healpix",
    "nside": 32,
    "in_channels": 6,
    "F": [16, 16, 32, 32, 64, 64, 128, 128, 256, 256],
    "K": 4,
    "pool": [0, 1] * 5,
    "head": "global_avg",
    "n_classes": 40,
}
CLIMATE_ICO = {  # tf1-spec §2.2: levels [5, 5, 4, 3, 2, 1, 0], combinatorial Laplacian
    "sampling": "icosahedral",
    "level": 5,
    "in_channels": 16,
    "laplacian": {"kind": "combinatorial", "interval": [-1, 1], "lmax": "eigsh"},
    "F": [32, 64, 128, 256, 512, 512, 512],
    "K": 4,
    "pool": [0, 1, 1, 1, 1, 1, 0],
    "pool_mode": "avg",
    "head": "unet",
    "n_classes": 3,
    "unpool_fill": 1.0,
}


def _stations(n=30, seed=0):
    rng = np.random.default_rng(seed)
    return rng.uniform(-180, 180, n).tolist(), np.degrees(np.arcsin(rng.uniform(-1, 1, n))).tolist()


def test_cosmo_fcn_count_and_partial_sphere_levels():
    # the count does not depend on the vertex count: build at nside 32 (full sphere) for speed
    small = {**COSMO_FCN, "nside": 32, "order": 0}
    assert trainable_parameter_count(build_model(small)) == 54_720
    # the real config: one graph per level, nside halving, the same NEST patch at every level
    defs = required_graphs(COSMO_FCN)
    assert [d["nside"] for d in defs] == [1024, 512, 256, 128, 64, 32]
    assert all(d["indexes"] == {"order": 1, "patch": 0} and d["nest"] for d in defs)
    assert [n_vertices(d) for d in defs] == [4**10 // 4**i for i in range(6)]
    assert graph_id(defs[0]) == "healpix-nside1024-nest-o1p0-knn8-tpaper"


def test_cosmo_cnn_count_via_the_flatten_formula():
    """CNN = 5 convs (BN, bias) + flatten of (last-level pixels x 64) -> FC 2 without bias.

    Built at nside 32 (patch order 1: 1 pixel after 5 poolings), then the real size
    (Nside 1024 -> 32, order 1: 32^2 = 1024 pixels) is put into the same formula.
    """
    cnn = {**COSMO_FCN, "F": [16, 32, 64, 64, 64], "pool": [1] * 5, "head": "flatten"}
    small = {
        **cnn,
        "nside": 32,
        "graph": [{"graph": "knn", "k": 8, "t": "paper"}] * 3 + [{"graph": "v1"}] * 2,
    }  # 16 and 4 pixels: fewer than 8 neighbours
    model = build_model(small, laplacians=_placeholders(small))
    assert model.get_layer("flatten").output.shape[-1] == 1 * 64
    conv_part = trainable_parameter_count(model) - 1 * 64 * 2
    assert conv_part == 54_080  # 53,840 conv weights + 240 biases
    real_pixels = (COSMO_FCN["nside"] // 2**5) ** 2 // COSMO_FCN["order"] ** 2
    assert real_pixels == 1024
    assert conv_part + real_pixels * 64 * 2 == 185_152


def test_shrec17_and_modelnet40_counts():
    assert trainable_parameter_count(build_model(SHREC17)) == 189_040
    assert trainable_parameter_count(build_model(MODELNET40)) == 534_880


def test_ghcn_dense_and_global_counts():
    lon, lat = _stations()
    base = {
        "sampling": "points",
        "lon_deg": lon,
        "lat_deg": lat,
        "K": 5,
        "graph": {"graph": "knn", "k": 10, "t": "mean-distance"},
        "laplacian": {"kind": "combinatorial", "interval": [-1, 1], "lmax": "eigsh"},
    }
    dense = build_model(
        {
            **base,
            "in_channels": 5,
            "F": [50, 100, 100, 1],
            "pool": [0] * 4,
            "head": "dense",
            "n_classes": 1,
        }
    )
    assert trainable_parameter_count(dense) == 77_000
    assert dense.output.shape == (None, 30, 1)
    glob = build_model(
        {
            **base,
            "in_channels": 1,
            "F": [50, 100, 100],
            "pool": [0] * 3,
            "head": "global_avg",
            "n_classes": 1,
        }
    )
    assert trainable_parameter_count(glob) == 75_600


def test_climate_icosahedral_unet_count_and_shapes():
    model = build_model(CLIMATE_ICO, laplacians=_placeholders(CLIMATE_ICO))
    assert trainable_parameter_count(model) == 12_932_608
    assert model.input.shape == (None, 10242, 16)
    assert model.output.shape == (None, 10242, 3)
    assert [d["level"] for d in required_graphs(CLIMATE_ICO)] == [5, 4, 3, 2, 1, 0]


def test_shrec17_equiangular_count():
    """tf1-spec §2.5: the equiangular CNN has the HEALPix one's 189,040 parameters."""
    cfg = {**SHREC17, "sampling": "equiangular", "bandwidth": 32, "grid": "SOFT"}
    del cfg["nside"]
    model = build_model(cfg)
    assert trainable_parameter_count(model) == 189_040
    assert model.input.shape == (None, 64 * 64, 6)
    assert [d["bandwidth"] for d in required_graphs(cfg)] == [32, 16, 8, 4, 2]


def test_healpix_unet_hand_counted():
    """F [4, 6], K 2, 3 inputs, pool [1, 0], 2 classes. Encoder: 3*2*4 + 4 (bias) and 4*2*6
    (linear). Decoder j=1 (no unpool): up-conv 6*2*6 + 6, deconv (6+4)*2*6 + 6; j=0 (unpool x4):
    up-conv 6*2*4 + 4, deconv (4+3)*2*4 + 4; out conv K=1: 4*2. Total 400."""
    cfg = {
        "sampling": "healpix",
        "nside": 4,
        "in_channels": 3,
        "F": [4, 6],
        "K": 2,
        "pool": [1, 0],
        "graph": {"graph": "v1"},
        "head": "unet",
        "n_classes": 2,
    }
    model = build_model(cfg)
    assert trainable_parameter_count(model) == 400
    assert model.output.shape == (None, 192, 2)
    x = np.random.default_rng(0).normal(size=(2, 192, 3)).astype("float32")
    assert _run(model, x).shape == (2, 192, 2)


def test_layer_order_is_conv_bn_bias_relu_pool_and_last_conv_linear():
    cfg = {
        "sampling": "healpix",
        "nside": 4,
        "F": [4, 3],
        "K": 2,
        "pool": [1, 0],
        "graph": {"graph": "v1"},
        "head": "fcn",
        "n_classes": 3,
    }
    model = build_model(cfg)
    names = [layer.name for layer in model.layers[1:]]
    assert names == [
        "conv1",
        "conv1_bn",
        "conv1_bias",
        "conv1_relu",
        "pool1",
        "conv2",
        "global_avg",
    ]
    assert model.get_layer("conv1").laplacian == {
        "graph": required_graphs(cfg)[0],
        "kind": "normalized",
        "interval": [-1.0, 1.0],
        "lmax": "eigsh",
    }
    assert model.get_layer("conv2").laplacian["graph"]["nside"] == 2
    bn = model.get_layer("conv1_bn")
    assert (bn.momentum, bn.epsilon, bn.center, bn.scale) == (0.9, 1e-5, False, False)


def test_prebuilt_graphs_give_the_same_model(tmp_path):
    cfg = {**SHREC17, "nside": 8, "pool": [1, 1, 1, 0, 0], "in_channels": 2}
    keras.utils.set_random_seed(0)
    ref = build_model(cfg)
    prebuilt = {graph_id(d): build_graph(d) for d in required_graphs(cfg)}
    other = build_model(cfg, laplacians=prebuilt)
    other.set_weights(ref.get_weights())
    x = np.random.default_rng(0).normal(size=(2, 768, 2)).astype("float32")
    np.testing.assert_allclose(_run(other, x), _run(ref, x), rtol=1e-5, atol=1e-6)
    # the saved config names the graph (not the matrix inline), and reloads the same model
    assert other.get_layer("conv1").laplacian == ref.get_layer("conv1").laplacian
    other.save(tmp_path / "prebuilt.keras")
    loaded = keras.saving.load_model(tmp_path / "prebuilt.keras")
    np.testing.assert_allclose(_run(loaded, x), _run(ref, x), rtol=1e-5, atol=1e-6)
    wrong = {graph_id(required_graphs(cfg)[0]): prebuilt[graph_id(required_graphs(cfg)[1])]}
    with pytest.raises(ValueError, match="graph_id"):
        build_model(cfg, laplacians=wrong)


def _run(model, x):
    """Inference without compiling a predict function (eager: faster for tiny models)."""
    return keras.ops.convert_to_numpy(model(x, training=False))


def _tiny_fcn():
    return {
        "sampling": "healpix",
        "nside": 8,
        "in_channels": 2,
        "F": [8, 8, 4],
        "K": 4,
        "pool": [1, 1, 0],
        "graph": {"graph": "knn", "k": 8, "t": "paper"},
        "head": "fcn",
        "n_classes": 4,
    }


@pytest.fixture(scope="module")
def tiny_fcn_model():
    """One small full-sphere FCN shared by the tests below (weights do not matter to them;
    building once saves the per-shape initialiser compilations on JAX)."""
    keras.utils.set_random_seed(1)
    return build_model(_tiny_fcn())


def test_fcn_is_invariant_to_a_90_degree_rotation_about_z(tiny_fcn_model):
    model = tiny_fcn_model
    nside = 8
    theta, phi = hp.pix2ang(nside, np.arange(12 * nside**2), nest=True)
    perm = hp.ang2pix(nside, theta, phi + np.pi / 2, nest=True)  # exact pixel permutation
    assert np.array_equal(np.sort(perm), np.arange(12 * nside**2))
    x = np.random.default_rng(2).normal(size=(3, 12 * nside**2, 2)).astype("float32")
    rotated = np.empty_like(x)
    rotated[:, perm] = x
    y, y_rot = _run(model, x), _run(model, rotated)
    assert np.abs(y).max() > 1e-3  # not trivially zero
    np.testing.assert_allclose(y_rot, y, atol=1e-5)


def test_save_load_gives_identical_predictions(tmp_path, tiny_fcn_model):
    model = tiny_fcn_model
    model.compile(optimizer="adam", loss="mse")
    x = np.random.default_rng(4).normal(size=(4, 768, 2)).astype("float32")
    model.fit(x, np.zeros((4, 4)), epochs=1, verbose=0)  # move the BN statistics
    model.save(tmp_path / "m.keras")
    loaded = keras.saving.load_model(tmp_path / "m.keras")
    np.testing.assert_array_equal(_run(loaded, x), _run(model, x))


def test_fit_builds_the_model_from_the_config_and_resumes(tmp_path):
    from deepsphere.training.loop import fit

    cfg = {
        "seed": 0,
        "model": {
            **_tiny_fcn(),
            "nside": 4,
            "F": [4, 2],
            "pool": [1, 0],
            "n_classes": 2,
            "graph": {"graph": "v1"},
        },
        "training": {"epochs": 2, "batch_size": 4, "keep": "last"},
    }
    rng = np.random.default_rng(0)
    x = rng.normal(size=(8, 192, 2)).astype("float32")
    y = rng.integers(0, 2, 8)
    first = fit(cfg, (x, y), out_dir=tmp_path, verbose=0)
    again = fit(cfg, (x, y), out_dir=tmp_path, verbose=0)  # same config: resumes, nothing to do
    assert again.resumed_from_epoch == 2
    for w1, w2 in zip(first.model.get_weights(), again.model.get_weights(), strict=True):
        np.testing.assert_array_equal(w1, w2)


@pytest.mark.parametrize(
    ("change", "key"),
    [
        ({"sampling": "cubed"}, "model.sampling"),
        ({"F": [16, 32, 64, 64, 64, 3]}, "model.F"),  # fcn: F[-1] must be n_classes
        ({"pool": [1, 1, 1, 1, 1, 1]}, "model.pool"),  # linear last conv pooled
        ({"pool": [1, 1, 1, 1, 1]}, "model.pool"),  # wrong length
        ({"nside": 1000}, "model.nside"),
        ({"nside": 16}, "model.pool"),  # order 1 patch pooled below nside 1
        ({"K": 0}, "model.K"),
        ({"head": "softmax"}, "model.head"),
        ({"graph": [{"graph": "v1"}] * 2}, "model.graph"),  # needs one per level (6)
        ({"laplacian": {"kind": "random-walk"}}, "model.laplacian"),
        ({"nsides": [1024]}, "unknown key"),
    ],
)
def test_bad_model_config_raises_naming_the_key(change, key):
    with pytest.raises(ValueError, match=key):
        required_graphs({**COSMO_FCN, **change})
