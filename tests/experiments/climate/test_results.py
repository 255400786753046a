"""Climate tables from hand-made metrics files: means and sample stds against NumPy, every paper
row kept, ours in the right rows, the checks' verdicts, the figure's map choice."""

from __future__ import annotations

import json

import numpy as np
import pandas as pd

from deepsphere.experiments.climate import results
from deepsphere.experiments.climate.figures import choose_map


def _metrics(path, arch, loss, rep, recall, ap):
    rec = {"run": {"architecture": arch, "loss": loss, "repetition": rep,
                   "run_id": f"{arch}-{loss}-s{rep}"},
           "metrics": {"per_class_recall": recall, "mean_class_recall": float(np.mean(recall)),
                       "average_precision": ap, "mean_average_precision": (ap[1] + ap[2]) / 2},
           "trainable_parameters": 1234, "timing": {"per_sample_ms": 2.0 + rep, "hardware": "cpu"},
           "training_s": 3600.0 * (rep + 1), "selected_epoch": 3}
    path.write_text(json.dumps(rec))
    return str(path)


RUNS = [  # (arch, loss, rep, recall BG/TC/AR, AP BG/TC/AR)
    ("main", "weighted", 0, [0.95, 0.90, 0.92], [0.99, 0.50, 0.80]),
    ("main", "weighted", 1, [0.97, 0.80, 0.94], [0.99, 0.60, 0.84]),
    ("main", "nonweighted", 0, [0.999, 0.30, 0.70], [0.99, 0.70, 0.90]),
    ("main", "nonweighted", 1, [0.998, 0.40, 0.60], [0.99, 0.74, 0.92]),
    ("jiang", "weighted", 0, [0.9, 0.9, 0.9], [0.9, 0.3, 0.6]),
]


def _paths(tmp_path):
    return [_metrics(tmp_path / f"{a}-{lo}-{r}.json", a, lo, r, rc, ap)
            for a, lo, r, rc, ap in RUNS]


def test_aggregate_means_and_sample_std(tmp_path):
    agg = results.aggregate(results.run_scores(_paths(tmp_path))).set_index(["architecture",
                                                                             "loss"])
    w = agg.loc[("main", "weighted")]
    tc = 100 * np.array([0.90, 0.80])
    assert np.isclose(w.acc_TC, tc.mean()) and np.isclose(w.acc_TC_sd, tc.std(ddof=1))
    maps = 100 * np.array([(0.5 + 0.8) / 2, (0.6 + 0.84) / 2])
    assert np.isclose(w.mAP, maps.mean()) and np.isclose(w.mAP_sd, maps.std(ddof=1))
    assert w.runs == 2
    assert np.isnan(agg.loc[("jiang", "weighted")].acc_TC_sd)  # one run: no sd


def test_tables_keep_every_paper_row_and_put_ours_beside(tmp_path):
    agg = results.aggregate(results.run_scores(_paths(tmp_path)))
    t3 = results.table3_frame(agg).set_index("method")
    assert len(t3) == 5  # the paper's five rows, ours among them
    assert t3.loc["DeepSphere (weighted loss)", "accuracy_paper"] == 97.8
    assert t3.loc["DeepSphere (weighted loss)", "accuracy_paper_sd"] == 0.3
    ours = 100 * np.mean([np.mean([0.95, 0.90, 0.92]), np.mean([0.97, 0.80, 0.94])])
    assert np.isclose(t3.loc["DeepSphere (weighted loss)", "accuracy_ours"], ours)
    assert pd.isna(t3.loc["Cohen et al. 2019 (S2R)", "accuracy_ours"])
    t5 = results.table56_frame(agg, "table5").set_index("method")
    assert len(t5) == 11
    assert np.isclose(t5.loc["DeepSphere (Jiang architecture, weighted loss)", "TC_ours"], 90.0)
    assert t5.loc["DeepSphere (Jiang architecture, weighted loss)", "runs"] == 1
    t6 = results.table56_frame(agg, "table6").set_index("method")
    assert np.isclose(t6.loc["DeepSphere (non-weighted loss)", "mean_ours"],
                      100 * np.mean([(0.70 + 0.90) / 2, (0.74 + 0.92) / 2]))
    assert t6.loc["DeepSphere (non-weighted loss)", "mean_paper"] == 89.16
    t7 = results.table7_frame(agg, {"main": {"F": [8, 16], "pool": [1, 0]}}, K=4)
    t7 = t7.set_index("method")
    assert t7.loc["DeepSphere", "parameters_paper_architecture"] == "12,932,608"
    assert t7.loc["DeepSphere", "parameters_paper_exact"] == "12,926,432"
    # by hand, K 4, 16 inputs: conv1 4*16*8+8, conv2 4*8*16; level 1: up 4*16*16+16, deconv
    # 4*(16+8)*16+16; level 0: up 4*16*8+8, deconv 4*(8+16)*8+8; out 8*3
    assert t7.loc["DeepSphere", "parameters_ours"] == "4,944"
    assert np.isclose(t7.loc["DeepSphere", "training_h_ours"], 1.5)  # 1 h and 2 h


def test_checks_follow_the_means(tmp_path):
    scores = results.run_scores(_paths(tmp_path))
    agg = results.aggregate(scores)
    checks = {c.name: c.passed for c in results.acceptance_checks(
        agg, scores, {"TC": 0.001, "AR": 0.02}, "main")}
    assert checks == {"weighted_higher_accuracy": True, "nonweighted_higher_map": True,
                      "ap_above_prevalence": True}
    checks = {c.name: c.passed for c in results.acceptance_checks(
        agg, scores, {"TC": 0.5, "AR": 0.02}, "main")}
    assert checks["ap_above_prevalence"] is False  # jiang's TC AP 30 % < 50 %
    one = scores[scores.loss == "weighted"]
    checks = results.acceptance_checks(results.aggregate(one), one, {"TC": 0, "AR": 0}, "main")
    assert [c.passed for c in checks[:2]] == [False, False]  # nothing to compare


def test_figure_shows_the_map_with_most_tc():
    labels = np.zeros((4, 10), np.int8)
    labels[1, :2] = 1
    labels[2, :2] = 1
    labels[2, 5:8] = 2
    labels[3, :1] = 1
    assert choose_map(labels) == 2
