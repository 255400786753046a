"""Your own maps, end to end through the workflow on the stand-in: classification above chance
under a mask (the graph on the observed pixels only), the same predictions from RING and NEST
files, and a bad table refused before any job. Regression (R² > 0.5 on held-out maps) is the
tutorial's claim: notebooks/maps_tutorial.ipynb asserts it, run by tests/workflow/test_notebooks.py."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import healpy as hp
import numpy as np
import pandas as pd
import pytest

pytestmark = [pytest.mark.slow, pytest.mark.workflow]


def snakemake(folder, *args, timeout=900):
    return subprocess.run([str(Path(sys.executable).parent / "snakemake"), *map(str, args)],
                          cwd=folder, capture_output=True, text=True, timeout=timeout)


@pytest.mark.ci_config("maps")
def test_maps_ci_end_to_end(ci_run):
    from deepsphere.geometry.graphs import load_graph

    folder, out = ci_run("maps")
    assert out.returncode == 0, out.stderr[-5000:]
    root = folder / "results-ci/maps"
    checks = pd.read_csv(root / "tables/checks.csv")
    assert checks.set_index("name").loc["ALL", "passed"], checks.to_string()
    metrics = pd.read_csv(root / "tables/metrics.csv")
    assert metrics.accuracy.iloc[0] >= 0.8 and (root / "figures/training_curves.png").is_file()
    predictions = pd.read_csv(root / "predictions.csv")
    assert {"id", "true", "pred", "p_low", "p_high"} <= set(predictions.columns)
    # the graph is built on the observed pixels only: as many vertices as the mask observes
    info = json.loads((root / "inputs.json").read_text())
    mask = hp.read_map(folder / "data/raw-ci/maps/standin/mask.fits", nest=True)
    assert len(info["observed"]) == np.count_nonzero(mask > 0)
    graphs = sorted((folder / "data/interim-ci/graphs").glob("healpix-nside16-*idx*.npz"))
    assert graphs and load_graph(graphs[0]).n_vertices == np.count_nonzero(mask > 0)


@pytest.mark.ci_config("maps")
def test_ring_and_nest_files_give_the_same_predictions(ci_run_copy):
    def edit(config):
        config["maps"]["predict"] = {"ring": {"folder": "ring"}, "nest": {"folder": "nest"}}

    folder = ci_run_copy("maps", edit)
    (folder / "ring").mkdir()
    (folder / "nest").mkdir()
    for path in sorted((folder / "data/raw-ci/maps/standin/maps").glob("*.fits"))[:8]:
        m = hp.read_map(path, nest=True, dtype=np.float64)
        hp.write_map(folder / "nest" / path.name, m, nest=True, dtype=np.float64)
        hp.write_map(folder / "ring" / path.name, hp.reorder(m, n2r=True), nest=False,
                     dtype=np.float64)
    targets = ["results-ci/maps/predict/ring.csv", "results-ci/maps/predict/nest.csv"]
    out = snakemake(folder, *targets, "--cores", "2", "--configfile", "edited.yaml")
    assert out.returncode == 0, out.stderr[-4000:]
    assert "rule train_network" not in out.stdout + out.stderr  # the model is reused
    ring, nest = (pd.read_csv(folder / t) for t in targets)
    assert len(ring) == 8
    pd.testing.assert_frame_equal(ring, nest)


def test_a_missing_table_is_refused_before_any_job(workflow_copy):
    (workflow_copy / "mine.yaml").write_text(
        "seed: 1\nmaps: {folder: maps, table: nowhere.csv, task: regression, target: a}\n")
    (workflow_copy / "maps").mkdir()
    out = snakemake(workflow_copy, "--cores", "1", "--configfile", "mine.yaml")
    assert out.returncode != 0
    assert "maps.table:" in out.stderr and "nowhere.csv: no such file" in out.stderr
    assert not (workflow_copy / "results").exists() and not (workflow_copy / "data").exists()
