"""Climate networks and runs: parameter counts against tf1-spec's derived count, the paper's
printed ones and the Keras models; the icosphere hierarchy the pooling relies on; the run plan
and the config checks."""

from __future__ import annotations

import numpy as np
import pytest
import scipy.sparse as sp

from deepsphere.experiments.climate import models, plan
from deepsphere.experiments.climate import rules as climate_rules
from deepsphere.geometry.graphs import graph_id
from deepsphere.geometry.sampling import icosahedral_sampling
from deepsphere.models.config import n_vertices
from deepsphere.reporting.paper import paper_numbers

ARCH = paper_numbers("deepsphere.experiments.climate", "architectures").set_index("architecture")


def _arch(name):
    return {"F": [int(f) for f in ARCH.loc[name, "F"].split()],
            "pool": [int(p) for p in ARCH.loc[name, "pool"].split()]}


def test_main_count_is_tf1s_and_the_paper_plus_one_conv():
    """tf1-spec Appendix A: 12,932,608; the paper's 12,926,432 lacks one 48 -> 32, K = 4 conv
    and its bias (48 * 32 * 4 + 32 = 6,176)."""
    count = models.parameter_count(_arch("main"))
    assert count == 12_932_608
    assert count - 12_926_432 == 48 * 32 * 4 + 32


def test_wider_count_is_the_papers_52_million():
    assert abs(models.parameter_count(_arch("wider")) - 52e6) / 52e6 < 0.01


def _placeholders(cfg):
    from deepsphere.models.config import level_definitions, validate_model_config

    return {graph_id(d): sp.identity(n_vertices(d), format="csr", dtype=np.float32)
            for d in level_definitions(validate_model_config(cfg))}


@pytest.mark.parametrize("arch,K", [(_arch("jiang"), 4), ({"F": [3, 5], "pool": [1, 0]}, 1),
                                    ({"F": [4, 6, 5], "pool": [0, 2, 0]}, 3)])
def test_closed_form_count_equals_the_keras_model(arch, K):
    from deepsphere.models.spherical import build_model, trainable_parameter_count

    cfg = models.unet_config(arch, K=K)
    model = build_model(cfg, laplacians=_placeholders(cfg))
    assert trainable_parameter_count(model) == models.parameter_count(arch, K=K)
    assert model.input.shape == (None, 10242, 16)
    assert model.output.shape == (None, 10242, 3)


@pytest.mark.parametrize("level", [1, 2, 3, 4, 5])
def test_icosphere_hierarchy_pooling_keeps_the_coarser_vertices(level):
    """The first 10 * 4**(l-1) + 2 vertices of level l are level l-1's (same vectors), so
    truncation pools and zero-padding unpools; unpool then pool is the identity."""
    from deepsphere.layers import IcosahedralPooling, IcosahedralUnpooling

    fine, coarse = icosahedral_sampling(level).vectors, icosahedral_sampling(level - 1).vectors
    n = 10 * 4 ** (level - 1) + 2
    assert len(coarse) == n
    np.testing.assert_allclose(fine[:n], coarse, atol=1e-12)
    x = np.random.default_rng(level).normal(size=(2, n, 3)).astype("float32")
    up = np.asarray(IcosahedralUnpooling(level)(x))
    assert up.shape == (2, len(fine), 3) and not up[:, n:].any()
    np.testing.assert_array_equal(np.asarray(IcosahedralPooling(level - 1)(up)), x)


CL = {
    "source": "standin", "standin": {"n_train": 8, "n_val": 2, "n_test": 2},
    "shards": {"samples_per_shard": 8, "chunk_samples": 4, "compression": "none", "window": 2},
    "model": {"K": 4, "laplacian": "combinatorial", "unpool_fill": 0.0},
    "architectures": {"main": _arch("main"), "jiang": _arch("jiang")},
    "runs": [{"architecture": "main", "loss": "weighted", "seeds": 2},
             {"architecture": "jiang", "loss": "nonweighted", "seeds": 1},
             {"architecture": "main", "loss": "nonweighted", "seeds": 1}],
    "training": {"epochs": 2, "batch_size": 4, "learning_rate": 1e-3, "keep": "last"},
    "timing": {"repeats": 1}, "figure": {"runs": None}, "acceptance": {"architecture": "main"},
}


def test_plan_runs_seeds_and_graphs():
    runs = plan.planned_runs(CL)
    assert [r.run_id for r in runs] == ["main-weighted-s0", "main-weighted-s1",
                                       "jiang-nonweighted-s0", "main-nonweighted-s0"]
    configs = [plan.run_config(CL, r, 42) for r in runs]
    assert len({c["seed"] for c in configs}) == 4  # every run its own seed
    assert configs[0]["training"]["optimizer"] == {"name": "adam", "beta_1": 0.9,
                                                   "beta_2": 0.999, "epsilon": 1e-8}
    levels = [d["level"] for d in plan.required_graphs(CL, "main")]
    assert levels == [5, 4, 3, 2, 1, 0]
    assert all(d["k"] == 6 and d["t"] == "mean-distance"
               for d in plan.required_graphs(CL, "jiang"))
    assert configs[0]["model"]["laplacian"]["kind"] == "combinatorial"


def test_config_checks_name_the_keys():
    assert climate_rules.config_checks({"climate": CL}) == []
    bad = {**CL, "runs": CL["runs"] + [{"architecture": "wide", "loss": "weighted", "seeds": 1}],
           "architectures": {**CL["architectures"], "odd": {"F": [1, 2], "pool": [1]}},
           "figure": {"runs": ["nope"]}}
    errors = "\n".join(climate_rules.config_checks({"climate": bad}))
    assert "climate.runs[3].architecture" in errors
    assert "climate.architectures.odd.F" in errors
    small = {**CL, "standin": {"n_train": 2, "n_val": 2, "n_test": 2}}
    assert "climate.standin.n_train" in "".join(climate_rules.config_checks({"climate": small}))
    one_loss = {**CL, "acceptance": {"architecture": "jiang"}}
    assert "climate.acceptance.architecture" in "".join(
        climate_rules.config_checks({"climate": one_loss}))
    figure = {**CL, "figure": {"runs": ["main-weighted-s0", "nope"]}}
    assert "climate.figure.runs': ['nope']" in "".join(
        climate_rules.config_checks({"climate": figure}))
    assert climate_rules.figure_runs(CL) == ["main-weighted-s0", "jiang-nonweighted-s0"]
