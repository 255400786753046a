"""ModelNet40 experiment: settings and runs, the config checks, the paper's numbers, the
acceptance checks and the rotation table, and a CI-sized workflow run.

References: the tf1 'final' numbers typed from tf1-spec §2.4 / paper-and-peers §1.4, hand-made
score frames, and the files a real workflow run leaves on disk.
"""

from __future__ import annotations

import json
from pathlib import Path

import pandas as pd
import pytest
import yaml

from deepsphere.experiments.modelnet40 import plan
from deepsphere.experiments.modelnet40.results import acceptance_checks, rotation_frame
from deepsphere.experiments.modelnet40.rules import config_checks
from deepsphere.models.config import validate_model_config

ROOT = Path(__file__).resolve().parents[3]


def _section(path="config/config.yaml") -> dict:
    return yaml.safe_load((ROOT / path).read_text())["modelnet40"]


def test_settings_share_a_run_per_training_rotation():
    runs = plan.planned_runs(_section())
    assert [r.run_id for r in runs] == ["train-none", "train-z", "train-so3"]
    z = runs[1]
    assert z.test_rotations == ("z", "so3") and z.settings() == ["z/z", "z/SO3"]
    files = plan.projections(_section(), z)
    assert files["test"].rotation == "z" and files["test_so3"].rotation == "so3"
    assert files["train"].copies == 3 and files["train"].grid == "hp32"
    # no rotation and no translation: every copy would be the same projection
    none = plan.projections(_section(), runs[0])
    assert none["train"].copies == 1 and none["test"].copies == 1
    moved = plan.projections({**_section(), "max_translation": 0.1}, runs[0])
    assert moved["train"].copies == 3


def test_parse_setting():
    assert plan.parse_setting("z/SO3") == ("z", "so3")
    assert plan.parse_setting("no/no") == ("none", "none")
    with pytest.raises(ValueError, match="train/test"):
        plan.parse_setting("so3/z")


def test_paper_model_is_the_tf1_architecture():
    config = plan.model_config(_section())
    assert config["F"] == [16, 16, 32, 32, 64, 64, 128, 128, 256, 256]
    assert config["pool"] == [0, 1] * 5 and config["K"] == 4 and config["n_classes"] == 40
    validate_model_config(config)
    run = plan.planned_runs(_section())[0]
    training = plan.run_config(_section(), run, 42)["training"]
    assert training["optimizer"] == {"name": "adam", "beta_1": 0.9, "beta_2": 0.999,
                                     "epsilon": 0.1}
    assert training["learning_rate"] == 0.02 and training["epochs"] == 30


def test_config_checks_name_the_keys():
    config = {"modelnet40": {**_section("config/demo.yaml"), "nside": 8}}
    errors = config_checks(config)
    assert any("'modelnet40.nside' (8)" in e and "multiple of 16" in e for e in errors)
    small = {"modelnet40": {**_section("config/demo.yaml"), "val_fraction": 0.01}}
    assert any("no validation mesh" in e for e in config_checks(small))
    assert config_checks({"modelnet40": _section("config/demo.yaml")}) == []


def _scores(**acc):
    return pd.DataFrame([{"setting": s, "accuracy": a, "weighted_f1": a, "n_test": 10,
                          "classes": 10, "time_ms": 1.0, "hardware": "CPU", "run_id": "r"}
                         for s, a in acc.items()])


def test_checks_pass_on_the_papers_pattern_and_fail_without_the_drop():
    paper = _scores(**{"no/no": 87.8, "z/z": 86.8, "SO3/SO3": 84.09, "z/SO3": 76.9})
    verdict = {c.name: c.passed for c in acceptance_checks(
        paper, above_chance=50, so3_tolerance=5, z_so3_drop=5)}
    assert verdict == {"above_chance": True, "so3_close_to_no": True, "z_so3_drops": True}
    flat = _scores(**{"no/no": 90, "z/z": 90, "SO3/SO3": 90, "z/SO3": 89})
    assert not {c.name: c.passed for c in acceptance_checks(
        flat, above_chance=50, so3_tolerance=5, z_so3_drop=5)}["z_so3_drops"]
    missing = acceptance_checks(_scores(**{"no/no": 90}), above_chance=50, so3_tolerance=5,
                                z_so3_drop=5)
    assert [c.passed for c in missing] == [True, False, False]
    assert "SO3/SO3" in missing[1].detail


def test_rotation_table_puts_the_tf1_final_numbers_beside_ours():
    table = rotation_frame(_scores(**{"z/SO3": 50.0, "no/no": 70.0, "z/z": 60, "SO3/SO3": 65}))
    assert table.setting.tolist() == ["no/no", "z/z", "SO3/SO3", "z/SO3"]
    paper = dict(zip(table.setting, table.accuracy_paper, strict=True))
    assert paper == {"no/no": 87.8, "z/z": 86.8, "SO3/SO3": 84.09, "z/SO3": 76.9}
    assert dict(zip(table.setting, table.accuracy_ours, strict=True))["z/SO3"] == 50.0
    esteves = dict(zip(table.setting, table["Esteves et al. 2018"], strict=True))
    assert esteves["z/SO3"] == 76.7 and esteves["z/z"] == 88.9


# ----------------------------------------------------------------------------- workflow
@pytest.mark.workflow
def test_paper_dry_run_lists_the_modelnet40_jobs_offline(snakemake_cli, workflow_copy):
    out = snakemake_cli("-n", "--configfile", "config/config.yaml", "--",
                     "results/modelnet40/tables/checks.md", cwd=workflow_copy, timeout=600)
    assert out.returncode == 0, out.stderr[-3000:]
    text = out.stdout + out.stderr
    assert "modelnet40_download" in text
    for name in ("train_none_c1.h5", "train_z_c3.h5", "test_so3_c1.h5", "statistics_z_c3.json"):
        assert name in text
    assert "results/modelnet40/metrics/train-so3.json" in text


@pytest.mark.ci_config("modelnet40")
@pytest.mark.slow
@pytest.mark.workflow
def test_modelnet40_ci_end_to_end(ci_run):
    tmp_path, out = ci_run("modelnet40")
    assert out.returncode == 0, out.stderr[-5000:]
    root = tmp_path / "results-ci/modelnet40"
    table = pd.read_csv(root / "tables/rotations.csv")
    assert table.setting.tolist() == ["no/no", "z/z", "SO3/SO3", "z/SO3"]
    assert table.accuracy_ours.between(0, 100).all() and (table.time_ms > 0).all()
    assert table.hardware.notna().all()
    checks = pd.read_csv(root / "tables/checks.csv")
    assert set(checks.name) == {"above_chance", "so3_close_to_no", "z_so3_drops", "ALL"}
    assert (root / "figures/channels.png").stat().st_size > 10_000
    record = json.loads((root / "metrics/train-z.json").read_text())
    # z/z and z/SO3 are one network: the second test set is scored beside the first
    assert set(record["extra_tests"]) == {"so3"}
    ci = yaml.safe_load((tmp_path / "config/test/modelnet40-ci.yaml").read_text())["modelnet40"]
    classes, n_test = ci["standin"]["classes"], ci["standin"]["n_test"]
    assert record["metrics"]["n"] == classes * n_test  # one score per object, not per copy
    assert record["n_samples"]["test"] == classes * n_test * ci["copies"]["test"]


def test_paper_model_is_the_one_whose_parameters_are_counted():
    # tests/experiments/shapes/test_models.py builds modelnet40_config() and counts 534,880
    # trainable parameters (tf1-spec Appendix A); the paper config must give that same model
    from deepsphere.experiments.shapes.models import modelnet40_config

    assert plan.model_config(_section()) == modelnet40_config(nside=32)
