"""What the Snakefile learns of a user's maps while it parses: the facts of the data (nside,
observed pixels, classes) from the files themselves, the run's graphs on the observed pixels,
and the data checks that refuse a bad config before any job."""

from __future__ import annotations

import re

import pytest

from deepsphere.experiments.maps import rules
from deepsphere.experiments.maps.sky import observed_pixels
from deepsphere.experiments.maps.standin import write_standin
from deepsphere.geometry.definitions import graph_vertex_count

ROOTS = {"results": "results", "interim": "data/interim", "raw": "data/raw"}


@pytest.fixture(scope="module")
def user_files(tmp_path_factory):
    """A user's folder: the stand-in's files, as a user would hand them over."""
    folder = tmp_path_factory.mktemp("user")
    write_standin(folder, {"n_maps": 12, "nside": 16, "task": "classification", "mask": True},
                  seed=2)
    return folder


def config(folder, **maps):
    return {"seed": 1, **ROOTS, "maps": {"folder": str(folder / "maps"),
                                         "table": str(folder / "maps.csv"),
                                         "task": "classification", "target": "label",
                                         "sky": {"mask": str(folder / "mask.fits")}, **maps}}


def test_the_facts_come_from_the_users_files(user_files):
    cfg = config(user_files, nside=8)
    assert rules.config_checks(cfg) == []
    facts = rules.data_facts(cfg)
    observed = observed_pixels(user_files / "mask.fits", 8)
    assert (facts.nside, facts.n_out, facts.in_channels) == (8, 2, 1)
    assert list(facts.observed) == observed.tolist()
    spec = rules.run_specs(cfg, rules.MapsPaths(ROOTS, cfg["maps"]))[0]
    assert graph_vertex_count(spec.graphs[0]) == observed.size  # the mask's pixels only
    assert spec.config["model"]["indexes"] == observed.tolist()
    # a prediction set is not part of the run: adding one retrains nothing
    with_predict = config(user_files, nside=8, predict={"new": {"folder": str(user_files)}})
    again = rules.run_specs(with_predict, rules.MapsPaths(ROOTS, with_predict["maps"]))[0]
    assert again.to_dict() == spec.to_dict()


@pytest.mark.parametrize(("maps", "message"), [
    ({"nside": 32}, r"maps.nside: 32 is above the maps' nside 16"),
    ({"target": "kind"}, r"no column 'kind' \(maps.target\)"),
    ({"network": {"depth": 6}}, r"maps.network / maps.graph: the network does not fit"),
    ({"sky": {"mask": "nowhere.fits"}}, r"nowhere\.fits: no such mask file"),
    ({"sky": {"patches": 1}}, r"maps.sky: give a mask or patches, not both"),
])
def test_bad_configs_are_refused_before_any_job(user_files, maps, message):
    cfg = config(user_files, **maps)
    if "sky" in maps and "patches" in maps["sky"]:
        cfg["maps"]["sky"] = {"mask": str(user_files / "mask.fits"), "patches": 1}
    errors = rules.config_checks(cfg)
    assert len(errors) == 1 and re.search(message, errors[0]), errors
