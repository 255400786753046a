"""Models on a HEALPix pixel subset (``indexes``: a masked, partial sky): the graph of every
level has exactly the pixels of the data and their parents, and on a NEST patch the model is the
patch model (``order``/``patch``) it must equal."""

from __future__ import annotations

import healpy as hp
import keras
import numpy as np
import pytest

from deepsphere.geometry.graphs import build_graph
from deepsphere.models.config import level_definitions, validate_model_config
from deepsphere.models.spherical import build_model


def disc(nside, radius_deg=40.0):
    vec = np.array([0.2, -0.5, 0.84])
    return np.sort(hp.query_disc(nside, vec / np.linalg.norm(vec), np.radians(radius_deg),
                                 nest=True))


def config(indexes, **extra):
    return {"sampling": "healpix", "nside": 16, "indexes": indexes, "in_channels": 2,
            "graph": {"graph": "knn", "k": 8, "t": "paper"}, "F": [8, 8, 2], "K": 3,
            "pool": [1, 1, 0], "head": "fcn", "n_classes": 2, **extra}


def test_every_level_holds_the_pixels_of_the_mask_and_their_parents():
    idx = disc(16)
    levels = level_definitions(validate_model_config(config(idx.tolist())))
    assert [d["nside"] for d in levels] == [16, 8, 4]
    # level 0: the mask's pixels; coarser: the pixels whose area holds one of them (a loop)
    assert levels[0]["indexes"] == idx.tolist()
    for level, d in enumerate(levels):
        assert d["indexes"] == sorted({int(i) >> (2 * level) for i in idx})
    graph = build_graph(levels[0])
    assert graph.n_vertices == idx.size  # the graph is built on the observed pixels only


def test_a_model_on_a_disc_runs_saves_and_loads(tmp_path):
    idx = disc(16)
    keras.utils.set_random_seed(0)
    model = build_model(config(idx.tolist()))
    assert model.input_shape == (None, idx.size, 2)
    x = np.random.default_rng(0).normal(size=(3, idx.size, 2)).astype("float32")
    y = np.asarray(model(x))
    assert y.shape == (3, 2) and np.isfinite(y).all()
    model.save(tmp_path / "m.keras")
    loaded = keras.saving.load_model(tmp_path / "m.keras")
    np.testing.assert_allclose(np.asarray(loaded(x)), y, rtol=1e-5, atol=1e-6)


def test_a_unet_on_a_disc_gives_one_output_per_observed_pixel():
    idx = disc(16)
    model = build_model(config(idx.tolist(), F=[8, 8, 8], pool=[1, 1, 0], head="unet",
                                n_classes=3))
    out = model(np.zeros((2, idx.size, 2), "float32"))
    assert tuple(out.shape) == (2, idx.size, 3)


def test_on_a_nest_patch_the_subset_model_is_the_patch_model():
    nside, order = 32, 2
    patch = np.arange(5 * (nside // order) ** 2, 6 * (nside // order) ** 2)  # patch 5
    x = np.random.default_rng(1).normal(size=(2, patch.size, 2)).astype("float32")
    outputs = []
    for size in ({"indexes": patch.tolist()}, {"order": order, "patch": 5}):
        cfg = {key: value for key, value in config(None).items() if key != "indexes"}
        keras.utils.set_random_seed(7)
        model = build_model({**cfg, **size, "nside": nside, "pool_mode": "avg"})
        outputs.append(np.asarray(model(x)))
    np.testing.assert_allclose(outputs[0], outputs[1], rtol=1e-5, atol=1e-6)


@pytest.mark.parametrize(("indexes", "extra", "message"), [
    ([3, 1, 2], {}, "model.indexes: the pixels are not sorted"),
    ([1, 2, 3072], {}, "model.indexes: indexes out of range"),
    ([1, 2, 3], {"order": 1}, "model.indexes: a pixel subset and a patch order"),
])
def test_bad_subsets_are_named(indexes, extra, message):
    with pytest.raises(ValueError, match=message):
        validate_model_config(config(indexes, **extra))
