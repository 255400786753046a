"""The GHCN workflow: the paper config's jobs listed offline, bad config refused up front, and
the CI-sized config end to end (stand-in -> parsed years -> station sets -> graphs -> runs ->
Table 8, the checks and the station error map)."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import yaml

ROOT = Path(__file__).resolve().parents[3]


@pytest.mark.workflow
def test_paper_dry_run_lists_every_ghcn_job_offline(snakemake_cli, workflow_copy):
    out = snakemake_cli("-n", "--configfile", "config/config.yaml", "--",
                        "results/ghcn/tables/checks.md", "results/ghcn/figures/error_map.png",
                        cwd=workflow_copy, timeout=600)
    assert out.returncode == 0, out.stderr[-3000:]
    text = out.stdout + out.stderr
    for job in ("ghcn_download", "ghcn_parse_year", "ghcn_station_set", "build_graph",
                "train_network", "ghcn_tables", "ghcn_error_map"):
        assert job in text
    for year in range(2010, 2015):
        assert f"data/interim/ghcn/years/{year}.h5" in text
    for task in ("temperature", "day_from_temperature", "day_from_precipitation"):
        for order in (0, 1, 4, 9):
            assert f"results/ghcn/metrics/{task}-P{order}-s0.json" in text
    assert "data/interim/ghcn/sets/tmax-tmin-positions.csv" in text
    assert "data/interim/ghcn/sets/prcp-positions.csv" in text


@pytest.mark.workflow
def test_a_bad_ghcn_config_is_refused_before_any_job(workflow_copy, snakemake_cli):
    """A user's config with a gap in its years: one error naming the key, no job run."""
    config = yaml.safe_load((workflow_copy / "config/test/ghcn-ci.yaml").read_text())
    config["ghcn"]["years"] = [2010, 2012]
    (workflow_copy / "gap.yaml").write_text(yaml.safe_dump(config))
    out = snakemake_cli("--cores", "1", "--configfile", "gap.yaml", "--directory",
                        workflow_copy, cwd=workflow_copy, timeout=300)
    assert out.returncode != 0
    text = out.stdout + out.stderr
    assert "ghcn.years" in text and "consecutive" in text
    assert not (workflow_copy / "data/raw-ci/ghcn").exists()  # nothing ran


@pytest.mark.ci_config("ghcn")
@pytest.mark.slow
@pytest.mark.workflow
def test_ghcn_ci_end_to_end(ci_run):
    tmp_path, out = ci_run("ghcn")
    assert out.returncode == 0, out.stderr[-5000:]
    ci = yaml.safe_load((tmp_path / "config/test/ghcn-ci.yaml").read_text())["ghcn"]
    root = tmp_path / "results-ci/ghcn"
    table = pd.read_csv(root / "tables/table8.csv")
    ours = table.dropna(subset=["mse_ours"])
    assert sorted(zip(ours.task, ours.order, strict=True)) == sorted(
        (t, p) for t in ci["tasks"] for p in ci["orders"])
    paper = table.set_index(["task", "order"])
    assert paper.loc[("temperature", 0), "mse_paper"] == 10.88  # the paper's row beside ours
    checks = pd.read_csv(root / "tables/checks.csv")
    assert len(checks) == len(ci["tasks"]) + 1  # one per task, and ALL
    assert (root / "figures/error_map.png").stat().st_size > 10_000
    # the dense run: every kept station, targets missing only where the station did not report
    interim = tmp_path / "data/interim-ci/ghcn/sets"
    positions = pd.read_csv(interim / "tmax-tmin-positions.csv")
    record = json.loads((root / "metrics/temperature-P2-s0.json").read_text())
    assert record["metrics"]["n"] + record["metrics"]["n_missing"] == (
        record["n_samples"]["test"] * len(positions))
    with np.load(root / "models/temperature-P2-s0/predictions.npz") as f:
        assert f["scores"].shape == (record["n_samples"]["test"], len(positions), 1)
        # ids are the target days; TMIN and TMAX samples alternate on each day
        assert np.all(np.diff(f["ids"][::2].astype(int)) == 1)
    graph = np.load(tmp_path / "data/interim-ci/graphs" / next(
        p.name for p in (tmp_path / "data/interim-ci/graphs").glob("positions-tmax_tmin*")))
    assert graph["indptr"].size == len(positions) + 1  # the graph is on the kept stations
