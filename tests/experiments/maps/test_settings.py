"""The maps section: the ten-line config a user writes validates, the defaults fill the rest,
and the schema refuses what the readers could not use, naming the key."""

from __future__ import annotations

from pathlib import Path

import pytest

from deepsphere.experiments.maps.settings import DEFAULTS, settings
from deepsphere.workflow.config import ConfigError, config_errors, load_schema, validate_config

SCHEMA = Path(__file__).resolve().parents[3] / "config" / "schema"
USER_CONFIG = """\
seed: 1
results: results-mymaps
maps:
  folder: /data/lensing/maps
  table: /data/lensing/maps.csv
  task: regression
  target: omega_m
  split_column: split
  nside: 64
  sky: {mask: /data/lensing/footprint.fits}
"""


def test_the_users_ten_line_config_validates_and_gets_the_defaults():
    import yaml

    assert len(USER_CONFIG.splitlines()) <= 10
    config = yaml.safe_load(USER_CONFIG)
    # the schema (the files' checks need the files: tests/experiments/maps/test_rules.py)
    assert config_errors(config, load_schema(SCHEMA)) == []
    full = settings(config["maps"])
    assert full["sky"] == {**DEFAULTS["sky"], "mask": "/data/lensing/footprint.fits"}
    assert full["network"] == DEFAULTS["network"] and full["nside"] == 64
    assert settings({"network": {"depth": 3}})["network"] == {**DEFAULTS["network"], "depth": 3}
    assert DEFAULTS["network"]["depth"] == "auto"  # the merge copied, never changed, defaults


def test_every_default_is_a_valid_value():
    config = {"seed": 1, "maps": {**DEFAULTS, "folder": "f", "table": "t",
                                  "task": "classification", "target": "label"}}
    assert config_errors(config, load_schema(SCHEMA)) == []


@pytest.mark.parametrize(("section", "message"), [
    ({"task": "regression", "target": "a"}, r"'maps': 'folder' is a required property"),
    ({"source": "standin", "task": "ranking", "target": "a"}, r"'maps.task': 'ranking'"),
    ({"source": "standin", "task": "regression", "target": "a", "graph": {"k": 7}},
     r"'maps.graph.k': 7 is not one of \[8, 20, 40, 60\]"),
    ({"source": "standin", "task": "regression", "target": "a",
      "channels": {"pattern": "{id}.fits", "names": ["I"]}}, r"'maps.channels'"),
    ({"source": "standin", "task": "regression", "target": "a", "nside": 0}, r"'maps.nside'"),
])
def test_bad_sections_are_named(section, message):
    with pytest.raises(ConfigError, match=message):
        validate_config({"seed": 1, "maps": section}, SCHEMA)
