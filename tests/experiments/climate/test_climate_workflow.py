"""The climate workflow: the paper config's jobs listed offline, a hand-placed unpacked folder
used in place, and the CI-sized config end to end (stand-in -> zip -> shards -> statistics ->
two runs -> Tables 3, 5, 6, 7, the checks and the map figure)."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import yaml

ROOT = Path(__file__).resolve().parents[3]


@pytest.mark.workflow
def test_paper_dry_run_lists_every_climate_job_offline(snakemake_cli, workflow_copy):
    out = snakemake_cli("-n", "--configfile", "config/config.yaml", "--",
                        "results/climate/tables/checks.md", "results/climate/figures/map.png",
                        cwd=workflow_copy, timeout=600)
    assert out.returncode == 0, out.stderr[-3000:]
    text = out.stdout + out.stderr
    for job in ("climate_download", "climate_split_lists", "climate_unpack", "climate_shards",
                "climate_statistics", "climate_tables", "climate_map_figure"):
        assert job in text
    # 5 + 5 main runs, one per loss of the Jiang and the wider architectures
    for run in ("main-weighted-s4", "main-nonweighted-s0", "jiang-weighted-s0",
                "wider-nonweighted-s0"):
        assert f"results/climate/metrics/{run}.json" in text
    assert "icosahedral-l0-knn6-tmeandist.npz" in text


@pytest.mark.workflow
def test_a_hand_placed_unpacked_folder_replaces_the_download(workflow_copy, snakemake_cli):
    folder = workflow_copy / "data/manual/climate/data_5_all"
    folder.mkdir(parents=True)
    (folder / "data-2106-01-01-00-1-mesh.npz").write_bytes(b"")
    out = snakemake_cli("-n", "--configfile", "config/config.yaml", "--directory",
                        workflow_copy, "--", "data/interim/climate/maps.json",
                        cwd=workflow_copy, timeout=600)
    assert out.returncode == 0, out.stderr[-3000:]
    text = out.stdout + out.stderr
    assert "climate_unpack" in text and "climate_download" not in text


@pytest.mark.ci_config("climate")
@pytest.mark.slow
@pytest.mark.workflow
def test_climate_ci_end_to_end(ci_run):
    tmp_path, out = ci_run("climate")
    assert out.returncode == 0, out.stderr[-5000:]
    ci = yaml.safe_load((tmp_path / "config/test/climate-ci.yaml").read_text())["climate"]
    root = tmp_path / "results-ci/climate"
    for name in ("table3", "table5", "table6", "table7"):
        frame = pd.read_csv(root / f"tables/{name}.csv")
        assert frame.runs.sum() > 0  # ours are in the table
    t3 = pd.read_csv(root / "tables/table3.csv").set_index("method")
    assert t3.loc["DeepSphere (weighted loss)", "accuracy_paper"] == 97.8
    assert 0 <= t3.loc["DeepSphere (weighted loss)", "accuracy_ours"] <= 100
    checks = pd.read_csv(root / "tables/checks.csv")
    assert set(checks.name) == {"weighted_higher_accuracy", "nonweighted_higher_map",
                                "ap_above_prevalence", "ALL"}
    assert (root / "figures/map.png").stat().st_size > 10_000
    record = json.loads((root / "metrics/main-weighted-s0.json").read_text())
    n_test = ci["standin"]["n_test"]
    assert record["n_samples"] == {"train": ci["standin"]["n_train"],
                                   "val": ci["standin"]["n_val"], "test": n_test}
    assert record["metrics"]["n"] == n_test * 10242  # every test vertex scored
    assert record["metrics"]["map_classes"] == [1, 2]
    with np.load(root / "models/main-weighted-s0/predictions.npz") as f:
        assert f["scores"].shape == (n_test, 10242, 3)
    stats = json.loads((tmp_path / "data/interim-ci/climate/statistics.json").read_text())
    assert stats["n_maps"] == ci["standin"]["n_train"]  # the training split only
