"""SHREC'17 experiment: runs and configs, retrieval from predictions (hand-worked toy), the
paper's Tables 1 and 4 beside ours, the checks, and a CI-sized workflow run.

References: a 4-model toy ranking worked by hand from the official evaluator's definitions;
the ICLR 2020 Table 1 / Table 4 numbers typed from paper-and-peers §1.3; tf1-spec §2.5's
hyperparameters; the files a real workflow run leaves on disk.
"""

from __future__ import annotations

import json
import math
import zipfile
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import yaml

from deepsphere.experiments.shapes.datasets import SHREC17_CSV_HEADER, shrec17_synsets
from deepsphere.experiments.shrec17 import plan
from deepsphere.experiments.shrec17.results import acceptance_checks, table1_frame, table4_frame
from deepsphere.experiments.shrec17.retrieval import score_predictions
from deepsphere.experiments.shrec17.rules import config_checks

ROOT = Path(__file__).resolve().parents[3]


def _section(path="config/config.yaml") -> dict:
    return yaml.safe_load((ROOT / path).read_text())["shrec17"]


def test_paper_runs_follow_the_originals():
    sh = _section()
    runs = plan.planned_runs(sh)
    assert [r.run_id for r in runs] == ["healpix", "equiangular"]
    hp_cfg = plan.run_config(sh, runs[0], 42)
    assert hp_cfg["model"]["nside"] == 32 and hp_cfg["model"]["F"] == [16, 32, 64, 128, 256]
    assert hp_cfg["model"]["n_classes"] == 55 and hp_cfg["model"]["K"] == 4
    assert hp_cfg["training"]["optimizer"]["epsilon"] == 0.1
    assert hp_cfg["training"]["learning_rate"] == 0.05
    assert hp_cfg["training"]["triplet_loss"] == {"weight": 1.0, "margin": 1.0,
                                                  "layer": "global_avg"}
    eq_cfg = plan.run_config(sh, runs[1], 42)
    assert eq_cfg["model"]["bandwidth"] == 64 and eq_cfg["training"]["optimizer"]["name"] == "sgd"
    assert eq_cfg["training"]["learning_rate"] == 0.5
    files = plan.projections(sh, runs[1])
    assert [files[s].copies for s in ("train", "val", "test")] == [3, 1, 3]
    assert files["test"].grid == "eq64" and files["test"].rotation == "none"


def test_config_checks_name_the_keys():
    demo = _section("config/demo.yaml")
    assert config_checks({"shrec17": demo}) == []
    errors = config_checks({"shrec17": {**demo, "bandwidth": 8, "nside": 8}})
    assert any("'shrec17.bandwidth' (8)" in e for e in errors)
    assert any("'shrec17.nside' (8)" in e for e in errors)
    # 4 poolings halve the bandwidth 4 times: 24 is large enough but not a multiple of 16
    errors = config_checks({"shrec17": {**demo, "bandwidth": 24}})
    assert len(errors) == 1 and "'shrec17.bandwidth' (24)" in errors[0]
    assert "multiple of 16" in errors[0]
    errors = config_checks({"shrec17": {**demo, "optimizers": {"healpix": demo["optimizers"][
        "healpix"]}}})
    assert any("no optimizer for ['equiangular']" in e for e in errors)


def _toy_split(root: Path):
    """4 test models: a, b of synset S1 (b in a sibling subsynset X), c, d of S2."""
    s1, s2 = shrec17_synsets()[:2]
    rows = [("a", s1, s1), ("b", s1, "09999999"), ("c", s2, s2), ("d", s2, s2)]
    (root / "test_perturbed").mkdir(parents=True)
    text = ",".join(SHREC17_CSV_HEADER) + "\n"
    for model, synset, sub in rows:
        text += f"{model},{synset},{sub},m{model},test\n"
        (root / "test_perturbed" / f"{model}.obj").write_text("v 0 0 0\n")
    (root / "test.csv").write_text(text)


def test_retrieval_from_predictions_hand_worked(tmp_path):
    _toy_split(tmp_path / "meshes")
    # predicted class 0: a (0.9), d (0.7); class 1: c (0.8), b (0.6)
    np.savez(tmp_path / "p.npz", ids=np.array(["a", "b", "c", "d"]),
             scores=np.array([[0.9, 0.1], [0.4, 0.6], [0.2, 0.8], [0.7, 0.3]]),
             labels=np.array([0, 0, 1, 1]))
    result = score_predictions(tmp_path / "p.npz", tmp_path / "meshes",
                               scores_path=tmp_path / "s.json", evaluator_zip=tmp_path / "ev.zip",
                               summary_path=tmp_path / "summary.csv")
    # every list has 2 results, 1 hit: P = R = F1 = 1/2; the hit is first for a and c, second
    # for b and d: AP = 1/2, 1/4 (of 2 relevant)
    assert result["micro"]["P@N"] == pytest.approx(0.5)
    assert result["micro"]["R@N"] == pytest.approx(0.5)
    assert result["micro"]["F1@N"] == pytest.approx(0.5)
    assert result["micro"]["mAP"] == pytest.approx(0.375)
    third = 1 / math.log2(3)
    ndcg = [3 / (3 + third),            # a: itself (3) first; ideal 3, then b (1)
            3 * third / (3 + 2 * third),  # b: itself second; ideal 3, then a (2: at S1 level)
            3 / (3 + 3 * third),        # c: itself first; ideal 3, 3 (d shares its subsynset)
            3 * third / (3 + 3 * third)]  # d: itself second
    assert result["micro"]["NDCG"] == pytest.approx(np.mean(ndcg))
    assert result["macro"]["NDCG"] == pytest.approx(np.mean([np.mean(ndcg[:2]),
                                                             np.mean(ndcg[2:])]))
    with zipfile.ZipFile(tmp_path / "ev.zip") as zf:
        assert zf.namelist() == [f"test_perturbed/{q}" for q in "abcd"]
        assert zf.read("test_perturbed/b").decode() == "c\nb\n"
    assert (tmp_path / "summary.csv").read_text().splitlines()[0] == (
        "average,P@N,R@N,F1@N,mAP,NDCG")
    assert json.loads((tmp_path / "s.json").read_text())["n_unpredicted"] == 0


def test_retrieval_refuses_predictions_of_other_models(tmp_path):
    _toy_split(tmp_path / "meshes")
    np.savez(tmp_path / "p.npz", ids=np.array(["a", "zz"]), scores=np.eye(2),
             labels=np.array([0, 0]))
    with pytest.raises(ValueError, match="not in the test CSV"):
        score_predictions(tmp_path / "p.npz", tmp_path / "meshes", scores_path=tmp_path / "s",
                          evaluator_zip=tmp_path / "ev.zip", summary_path=tmp_path / "c")


def _scores():
    measures = {f"{avg}.{m}": v for avg, v in (("micro", 0.6), ("macro", 0.5))
                for m in ("P@N", "R@N", "F1@N", "mAP", "NDCG")}
    return pd.DataFrame([{"sampling": "healpix", "accuracy": 70.0, "weighted_f1": 69.0,
                          **measures, "parameters": 189040, "time_ms": 1.5, "training_s": 120.0,
                          "hardware": "CPU", "n_test": 10, "classes": 55, "unpredicted": 0}])


def test_table1_and_table4_put_the_paper_beside_ours():
    t1 = table1_frame(_scores()).set_index("method")
    hp_row = t1.loc["DeepSphere (HEALPix, Nside=32)"]
    assert (hp_row.F1_paper, hp_row.mAP_paper, hp_row.inference_ms_paper) == (80.7, 68.6, 0.9)
    assert hp_row.F1_ours == 69.0 and hp_row.mAP_ours == pytest.approx(60.0)
    assert hp_row.parameters_ours == "189,040" and hp_row.training_ours == "2.0 m"
    assert pd.isna(t1.loc["DeepSphere (equiangular, b=64)"].F1_ours)
    assert t1.loc["Esteves et al. 2018 (b=64)"].mAP_paper == 68.5
    t4 = table4_frame(_scores()).set_index(["method", "average"])
    row = t4.loc[("DeepSphere (HEALPix, Nside=32)", "macro")]
    assert (row["P@N_paper"], row["R@N_paper"], row["mAP_paper"]) == (0.475, 0.508, 0.428)
    assert row["mAP_ours"] == 0.5
    assert t4.loc[("DeepSphere (equiangular, b=64)", "micro")]["F1@N_paper"] == 0.698
    assert t4.loc[("Cohen et al. 2018 (b=128)", "micro")]["mAP_paper"] == 0.676


def test_checks():
    good = {c.name: c.passed for c in acceptance_checks(_scores(), above_chance=50,
                                                        map_above_chance=0.4)}
    assert good == {"above_chance": True, "retrieval_above_chance": True}
    bad = {c.name: c.passed for c in acceptance_checks(_scores(), above_chance=80,
                                                       map_above_chance=0.8)}
    assert bad == {"above_chance": False, "retrieval_above_chance": False}


@pytest.mark.workflow
def test_paper_dry_run_lists_the_shrec17_jobs_offline(snakemake_cli, workflow_copy):
    out = snakemake_cli("-n", "--configfile", "config/config.yaml", "--",
                     "results/shrec17/tables/table4.md", cwd=workflow_copy, timeout=600)
    assert out.returncode == 0, out.stderr[-3000:]
    text = out.stdout + out.stderr
    assert "shrec17_download" in text and "shrec17_retrieval" in text
    for name in ("hp32/train_none_c3.h5", "eq64/test_none_c3.h5", "eq64/val_none_c1.h5"):
        assert name in text


@pytest.mark.ci_config("shrec17")
@pytest.mark.slow
@pytest.mark.workflow
def test_shrec17_ci_end_to_end(ci_run):
    tmp_path, out = ci_run("shrec17")
    assert out.returncode == 0, out.stderr[-5000:]
    root = tmp_path / "results-ci/shrec17"
    t1 = pd.read_csv(root / "tables/table1.csv").set_index("method")
    ours = t1.loc[["DeepSphere (HEALPix, Nside=32)", "DeepSphere (equiangular, b=64)"]]
    assert ours.F1_ours.between(0, 100).all() and ours.mAP_ours.between(0, 100).all()
    assert (ours.inference_ms_ours > 0).all() and ours.hardware_ours.notna().all()
    t4 = pd.read_csv(root / "tables/table4.csv")
    assert {"P@N_ours", "NDCG_ours", "mAP_paper"} <= set(t4.columns)
    ci = yaml.safe_load((tmp_path / "config/test/shrec17-ci.yaml").read_text())["shrec17"]
    n_test = ci["standin"]["synsets"] * ci["standin"]["n_per_split"]["test"]
    for run in ("healpix", "equiangular"):
        with zipfile.ZipFile(root / f"evaluator/{run}/test_perturbed.zip") as zf:
            assert len(zf.namelist()) == n_test
        summary = pd.read_csv(root / f"evaluator/{run}/test_perturbed.summary.csv")
        scores = json.loads((root / f"retrieval/{run}.json").read_text())
        assert summary.set_index("average").loc["micro", "mAP"] == pytest.approx(
            scores["micro"]["mAP"], abs=1e-6)
    assert (root / "figures/channels.png").stat().st_size > 10_000


def test_paper_models_are_the_ones_whose_parameters_are_counted():
    # tests/experiments/shapes/test_models.py builds these and counts 189,040 parameters
    from deepsphere.experiments.shapes.models import (
        shrec17_equiangular_config,
        shrec17_healpix_config,
    )

    assert plan.model_config(_section(), "healpix") == shrec17_healpix_config(nside=32)
    assert plan.model_config(_section(), "equiangular") == shrec17_equiangular_config(
        bandwidth=64)
