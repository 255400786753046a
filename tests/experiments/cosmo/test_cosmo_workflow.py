"""Cosmo experiment: run plan, planar baseline, paper numbers, acceptance checks, workflow.

References are independent of the code under test: the papers' numbers typed from
paper-and-peers §1.5/§2.3, hand-worked parameter counts, healpy's pixel size, hand-made result
frames for the checks, and the files a real workflow run leaves on disk.
"""

from __future__ import annotations

import math
from pathlib import Path

import healpy as hp
import numpy as np
import pandas as pd
import pytest
import yaml

from deepsphere.experiments.cosmo import plan
from deepsphere.experiments.cosmo.results import acceptance_checks, paper_grid, paper_table2

ROOT = Path(__file__).resolve().parents[3]


def _cosmo(path="config/config.yaml") -> dict:
    return yaml.safe_load((ROOT / path).read_text())["cosmo"]


# --------------------------------------------------------------------------- paper numbers
def test_paper_table2_holds_the_iclr_numbers():
    t = paper_table2().set_index(["method", "graph"])
    expected = {("cnn2d", "none"): (54.2, 104), ("cnn", "v1"): (62.1, 185),
                ("fcn", "v1"): (83.8, 185), ("fcn", "knn8"): (87.1, 185),
                ("fcn", "knn20"): (91.3, 250), ("fcn", "knn40"): (92.5, 363)}
    assert len(t) == 6
    for key, (acc, ms) in expected.items():
        assert t.loc[key, "accuracy"] == acc and t.loc[key, "time_ms"] == ms


def test_paper_grid_holds_the_2019_numbers():
    g = paper_grid()
    assert len(g) == 6 * 3 * 5 and not g.duplicated(["method", "order", "noise"]).any()
    cell = g.set_index(["method", "order", "noise"])["accuracy"]
    assert cell[("fcn", 4, 2.0)] == 86.8
    assert cell[("psd", 4, 2.0)] == 63.7
    assert cell[("cnn2d", 1, 1.5)] == 55.4
    assert cell[("hist", 2, 0.0)] == 99.0
    assert cell[("fcn2d", 2, 0.5)] == 99.9


# --------------------------------------------------------------------------- plan
def test_paper_plan_has_the_full_grid_and_table2():
    cosmo = _cosmo()
    runs = plan.planned_runs(cosmo)
    ids = {r.run_id for r in runs}
    # 3 orders x 5 noises x 6 methods, plus Table 2's 6 runs at noise 3.5 (not in the grid)
    assert len(runs) == 3 * 5 * 6 + 6
    assert {"fcn-v1-o4-n2", "psd-none-o1-n0", "cnn2d-none-o2-n1.5"} <= ids
    assert {"fcn-knn40-o1-n3.5", "cnn-v1-o1-n3.5", "cnn2d-none-o1-n3.5"} <= ids


def test_paper_fcn_graphs_halve_nside_on_the_nest_patch():
    cosmo = _cosmo()
    defs = plan.required_graphs(cosmo, plan.CosmoRun("fcn", 1, 3.5, "knn40"))
    # the original's nsides [1024, 512, 256, 128, 64, 32] (tf1-spec §2.1)
    assert [d["nside"] for d in defs] == [1024, 512, 256, 128, 64, 32]
    assert all(d["indexes"] == {"order": 1, "patch": 0} and d["nest"] is True for d in defs)
    assert all(d["graph"] == "knn" and d["k"] == 40 for d in defs)
    assert plan.required_graphs(cosmo, plan.CosmoRun("psd", 1, 3.5)) == []


def test_run_id_and_bad_runs():
    assert plan.CosmoRun("fcn", 2, 0.5, "knn8").run_id == "fcn-knn8-o2-n0.5"
    assert plan.CosmoRun("hist", 1, 2.0).run_id == "hist-none-o1-n2"
    with pytest.raises(ValueError, match="graph"):
        plan.CosmoRun("fcn", 1, 1.0)
    with pytest.raises(ValueError, match="method"):
        plan.CosmoRun("resnet", 1, 1.0)


def test_smoothing_in_pixels_uses_the_healpix_pixel_size():
    cosmo = {"preprocess": {"nside": 64, "smoothing": {"sigma_pixels": 2.0}}}
    assert plan.smoothing_arcmin(cosmo) == pytest.approx(2 * hp.nside2resol(64, arcmin=True))
    cosmo["preprocess"]["smoothing"] = {"sigma_arcmin": 3.0}
    assert plan.smoothing_arcmin(cosmo) == 3.0


def test_batch_size_scales_with_the_patch_count():
    cosmo = {"training": {"batch_size": 8}}
    assert [plan.batch_size(cosmo, o) for o in (1, 2, 4)] == [8, 32, 128]


# --------------------------------------------------------------------------- planar model
@pytest.mark.parametrize("head,expected", [
    # conv1 3*3*1*2 + 2 = 20; conv2 3*3*2*3 + 3 = 57; 16 -> 8 -> 4 px
    ("cnn", 20 + 57 + (4 * 4 * 3) * 2 + 2),  # flatten 48 -> FC 2 with bias
    ("fcn", 20 + 57 + 3 * 3 * 3 * 2 + 2),  # conv to 2 classes, stride 1, with bias
])
def test_planar_model_hand_worked_parameter_count(head, expected):
    from deepsphere.models.planar import build_planar_model, planar_parameter_count

    cfg = {"image_size": 16, "F": [2, 3], "kernel_size": 3, "stride": 2, "head": head}
    model = build_planar_model(cfg)
    trainable = sum(int(np.prod(w.shape)) for w in model.trainable_weights)
    assert trainable == expected == planar_parameter_count(cfg)
    out = model.predict(np.zeros((5, 16, 16, 1), np.float32), verbose=0)
    assert out.shape == (5, 2)


def test_planar_paper_cnn_parameter_count():
    from deepsphere.models.planar import planar_parameter_count

    # F = [8, 16, 32, 32, 16], 5x5, stride 2, 1024 px image -> 32 px; by hand:
    convs = (25 * 1 * 8 + 8) + (25 * 8 * 16 + 16) + (25 * 16 * 32 + 32) + (25 * 32 * 32 + 32) \
        + (25 * 32 * 16 + 16)
    cfg = {"image_size": 1024, "F": [8, 16, 32, 32, 16], "head": "cnn"}
    assert planar_parameter_count(cfg) == convs + 32 * 32 * 16 * 2 + 2


def test_planar_config_errors_are_clear():
    from deepsphere.models.planar import validate_planar_config

    with pytest.raises(ValueError, match="planar.head"):
        validate_planar_config({"image_size": 8, "F": [2], "head": "rnn"})
    with pytest.raises(ValueError, match="missing"):
        validate_planar_config({"F": [2], "head": "cnn"})


# --------------------------------------------------------------------------- acceptance checks
def _runs(psd=50.0, v1=80.0, k8=85.0, k40=90.0, cnn=75.0):
    rows = [("psd", "none", 1, 1.0, psd), ("fcn", "v1", 1, 1.0, v1), ("fcn", "knn8", 1, 1.0, k8),
            ("fcn", "knn20", 1, 1.0, (k8 + k40) / 2), ("fcn", "knn40", 1, 1.0, k40),
            ("cnn", "v1", 1, 1.0, cnn)]
    df = pd.DataFrame(rows, columns=["method", "graph", "order", "noise", "accuracy"])
    df["run_id"] = [f"{m}-{g}-o{o}-n{n:g}" for m, g, o, n, _ in rows]
    return df


def _verdict(df, **kw):
    args = dict(table2_order=1, table2_noise=1.0, chance_margin=10, above_margin=10,
                monotone_tolerance=2)
    return {c.name: c.passed for c in acceptance_checks(df, **{**args, **kw})}


def test_checks_pass_on_the_papers_pattern():
    assert _verdict(_runs()) == {"psd_near_chance": True, "deepsphere_above_psd": True,
                                 "graph_monotone": True}


def test_checks_fail_when_psd_separates_the_classes():
    assert _verdict(_runs(psd=75.0))["psd_near_chance"] is False
    assert _verdict(_runs(psd=25.0))["psd_near_chance"] is False  # far below chance too


def test_checks_fail_when_deepsphere_is_not_clearly_above_psd():
    assert _verdict(_runs(k8=55.0, v1=50.0))["deepsphere_above_psd"] is False  # one run is enough
    assert _verdict(_runs(psd=58.0, v1=65.0))["deepsphere_above_psd"] is False  # above chance only
    assert _verdict(_runs(cnn=55.0))["deepsphere_above_psd"] is True  # the check is on the FCN


def test_checks_monotone_with_tolerance():
    assert _verdict(_runs(v1=86.0, k8=85.0))["graph_monotone"] is True  # 1-point drop: noise
    assert _verdict(_runs(v1=90.0, k8=85.0))["graph_monotone"] is False
    assert _verdict(_runs(k8=95.0, k40=90.0))["graph_monotone"] is False


def test_checks_fail_on_missing_runs():
    df = _runs()
    verdict = _verdict(df[df.graph != "knn40"])
    assert verdict["graph_monotone"] is False
    assert _verdict(df[df.method != "psd"])["psd_near_chance"] is False


# --------------------------------------------------------------------------- workflow
COSMO_TARGETS = ["results/cosmo/tables/table2.md", "results/cosmo/tables/grid.md",
                 "results/cosmo/tables/checks.md", "results/cosmo/figures/cost_accuracy.png",
                 "results/cosmo/figures/example_maps.png"]


@pytest.mark.workflow
def test_paper_dry_run_lists_every_cosmo_run_offline(snakemake_cli, workflow_copy):
    out = snakemake_cli("-n", "--configfile", "config/config.yaml", "--", *COSMO_TARGETS, cwd=workflow_copy,
                     timeout=600)
    assert out.returncode == 0, out.stderr[-3000:]
    text = out.stdout + out.stderr
    stats = dict(line.split()[:2] for line in text.splitlines()
                 if line.startswith("cosmo_") and line.split()[1].isdigit())
    stats.update(dict(line.split()[:2] for line in text.splitlines()
                      if line.startswith("train_network") and line.split()[1].isdigit()))
    assert int(stats["train_network"]) == 3 * 5 * 4 + 6  # grid DL methods + Table 2's
    assert int(stats["cosmo_svm"]) == 3 * 5 * 2
    assert int(stats["cosmo_download"]) == 1  # listed, not run (dry run: no network)
    assert "results/cosmo/metrics/fcn-knn40-o1-n3.5.json" in text


@pytest.mark.ci_config("cosmo")
@pytest.mark.slow
@pytest.mark.workflow
def test_cosmo_ci_end_to_end(ci_run):
    tmp_path, out = ci_run("cosmo")
    assert out.returncode == 0, out.stderr[-5000:]
    assert not (tmp_path / "results").exists()  # the CI config has its own results root
    root = tmp_path / "results-ci"
    targets = [t.replace("results/", "results-ci/") for t in COSMO_TARGETS]
    for target in targets + [t.replace(".md", ".csv") for t in targets if t.endswith(".md")]:
        assert (tmp_path / target).stat().st_size > 0, target
    t2 = pd.read_csv(root / "cosmo/tables/table2.csv")
    assert {"accuracy_paper", "accuracy_ours", "time_ms_paper", "time_ms_ours",
            "hardware_ours"} <= set(t2.columns)
    assert t2.set_index(["method", "graph"]).loc[("fcn", "knn40"), "accuracy_paper"] == 92.5
    assert t2.accuracy_ours.notna().all() and (t2.time_ms_ours > 0).all()
    grid = pd.read_csv(root / "cosmo/tables/grid.csv")
    assert {"accuracy_paper", "accuracy_ours"} <= set(grid.columns)
    assert grid.accuracy_ours.between(0, 100).all()
    checks = pd.read_csv(root / "cosmo/tables/checks.csv")
    assert set(checks.name) == {"psd_near_chance", "deepsphere_above_psd", "graph_monotone",
                                "ALL"}
    metrics = sorted((root / "cosmo/metrics").glob("*.json"))
    cosmo = yaml.safe_load((tmp_path / "config/test/cosmo-ci.yaml").read_text())["cosmo"]
    assert len(metrics) == len(plan.planned_runs(cosmo))
    assert math.isfinite(float(t2.time_ms_ours.sum()))
