"""SHREC'17 results: ICLR 2020 Table 1 and Table 4, paper beside ours, and the checks.

Table 1: classification F1 (weighted, %, sklearn's as the paper), micro mAP (%, the official
script's), trainable parameters, inference time per sample and training time. Table 4: P@N,
R@N, F1@N, mAP, NDCG, micro and macro. **Names:** micro = mean over queries (instances), macro
= mean over synsets (labels), as the SHREC'17 evaluator; the paper's Table 4 prints these
headers swapped ("micro (label average)", "macro (instance average)"). Its NDCG values are not
in the paper; ``paper/table4.csv`` takes them from deepsphere-tf1 ``experiments.md`` where the
same runs are listed (its source column says which).
"""

from __future__ import annotations

import json
from collections.abc import Iterable

import pandas as pd

from deepsphere.metrics.retrieval import MEASURES
from deepsphere.reporting.checks import Check
from deepsphere.reporting.paper import paper_numbers

__all__ = ["acceptance_checks", "run_scores", "table1_frame", "table4_frame",
           "write_shrec17_tables"]

_PAPER_ROW = {"healpix": "DeepSphere (HEALPix, Nside=32)",
              "equiangular": "DeepSphere (equiangular, b=64)"}
_PACKAGE = "deepsphere.experiments.shrec17"


def run_scores(metrics_paths: Iterable, retrieval_paths: Iterable) -> pd.DataFrame:
    """One row per run: sampling, accuracy and F1 (%), the retrieval measures (``micro.<m>``,
    ``macro.<m>``), parameters, time_ms, training_s, hardware, n_test, classes."""
    retrieval = {}
    for path in retrieval_paths:
        retrieval[path.rsplit("/", 1)[-1].removesuffix(".json")] = json.loads(
            open(path, encoding="utf-8").read())
    rows = []
    for path in metrics_paths:
        rec = json.loads(open(path, encoding="utf-8").read())
        run_id = rec["run"]["run_id"]
        if run_id not in retrieval:
            raise ValueError(f"{path}: no retrieval scores for run {run_id!r}")
        r = retrieval[run_id]
        rows.append({
            "sampling": rec["run"]["sampling"], "accuracy": 100 * rec["metrics"]["accuracy"],
            "weighted_f1": 100 * rec["metrics"]["weighted_f1"],
            **{f"{avg}.{m}": r[avg][m] for avg in ("micro", "macro") for m in MEASURES},
            "parameters": rec["trainable_parameters"], "time_ms": rec["timing"]["per_sample_ms"],
            "training_s": rec["training_s"], "hardware": rec["timing"]["hardware"],
            "n_test": rec["metrics"]["n"], "classes": len(rec["metrics"]["per_class_recall"]),
            "unpredicted": r["n_unpredicted"],
        })
    return pd.DataFrame(rows)


def table1_frame(scores: pd.DataFrame) -> pd.DataFrame:
    """Table 1's rows (baselines from the paper only) with our DeepSphere values beside."""
    paper = paper_numbers(_PACKAGE, "table1")
    by = scores.set_index("sampling")
    out = []
    for row in paper.itertuples(index=False):
        ours = None
        for sampling, name in _PAPER_ROW.items():
            if row.method == name and sampling in by.index:
                ours = by.loc[sampling]
        out.append({
            "method": row.method, "F1_paper": row.F1,
            "F1_ours": None if ours is None else ours["weighted_f1"],
            "mAP_paper": row.mAP, "mAP_ours": None if ours is None else 100 * ours["micro.mAP"],
            "parameters_paper": f"{row.parameters_k:g} k",
            "parameters_ours": None if ours is None else f"{int(ours['parameters']):,}",
            "inference_ms_paper": row.inference_ms,
            "inference_ms_ours": None if ours is None else ours["time_ms"],
            "training_paper": row.training,
            "training_ours": None if ours is None else f"{ours['training_s'] / 60:.1f} m",
            "hardware_ours": None if ours is None else ours["hardware"],
        })
    return pd.DataFrame(out)


def table4_frame(scores: pd.DataFrame) -> pd.DataFrame:
    """Table 4's rows: per method and average, each measure's paper value beside ours."""
    paper = paper_numbers(_PACKAGE, "table4")
    by = scores.set_index("sampling")
    rows = []
    for _, row in paper.iterrows():
        sampling = next((s for s, n in _PAPER_ROW.items() if n == row["method"]), None)
        record = {"method": row["method"], "average": row["average"]}
        for m in MEASURES:
            record[f"{m}_paper"] = row[m]
            record[f"{m}_ours"] = (by.loc[sampling][f"{row['average']}.{m}"]
                                   if sampling in by.index else None)
        rows.append(record)
    return pd.DataFrame(rows)


def acceptance_checks(scores: pd.DataFrame, *, above_chance: float,
                      map_above_chance: float) -> list[Check]:
    """1. ``above_chance``: every run's accuracy at least ``above_chance`` points above
    100 / classes; 2. ``retrieval_above_chance``: every run's micro mAP at least
    ``map_above_chance`` (fraction) above the class frequency 1 / classes (the mAP of a
    random ranking of a balanced split)."""
    if scores.empty:
        return [Check("above_chance", False, "no run"),
                Check("retrieval_above_chance", False, "no run")]
    chance = 1.0 / int(scores.classes.iloc[0])
    acc = dict(zip(scores.sampling, scores.accuracy, strict=True))
    maps = dict(zip(scores.sampling, scores["micro.mAP"], strict=True))
    return [
        Check("above_chance", all(a >= 100 * chance + above_chance for a in acc.values()),
              "; ".join(f"{s} {a:.1f} %" for s, a in acc.items())
              + f" vs chance {100 * chance:.1f} % (needs +{above_chance})"),
        Check("retrieval_above_chance",
              all(v >= chance + map_above_chance for v in maps.values()),
              "; ".join(f"{s} micro mAP {v:.3f}" for s, v in maps.items())
              + f" vs {chance:.3f} (needs +{map_above_chance})"),
    ]


def write_shrec17_tables(metrics_paths: Iterable, retrieval_paths: Iterable, sh: dict,
                         summaries: Iterable, out: dict) -> list[Check]:
    """Write Table 1, Table 4 and the checks (CSV + MD)."""
    from deepsphere.experiments.shapes.experiment import data_note, skipped_note
    from deepsphere.reporting.checks import write_verdict
    from deepsphere.reporting.tables import write_table

    scores = run_scores(list(metrics_paths), list(retrieval_paths))
    hardware = "; ".join(sorted(set(scores.hardware)))
    unpredicted = "; ".join(f"{r.sampling} {int(r.unpredicted)}" for r in scores.itertuples())
    common = [skipped_note(summaries),
              f"test models without a prediction (unreadable; still counted as relevant in "
              f"R@N, mAP and NDCG): {unpredicted}", data_note("shrec17", sh["source"])]
    write_table(
        table1_frame(scores), out["table1_csv"], out["table1_md"],
        title="SHREC'17: ICLR 2020 Table 1",
        notes=["F1: weighted classification F1 on the test set (%), the softmax averaged over "
               "each model's augmented copies; mAP: micro (mean over queries) retrieval mAP (%)",
               "inference_ms: per sample, median over repeats (the paper: per instance, GPU); "
               f"training_ours: wall time of the training job; our hardware: {hardware}",
               *common],
    )
    write_table(
        table4_frame(scores), out["table4_csv"], out["table4_md"],
        title="SHREC'17: ICLR 2020 Table 4 (official retrieval metrics, perturbed test set)",
        notes=["micro: mean over queries (instances); macro: mean over synsets (labels), as "
               "the SHREC'17 evaluator. The paper's table swaps the two names in its headers "
               "('micro (label average)', 'macro (instance average)')",
               "NDCG: not in the paper; the paper column takes it from deepsphere-tf1 "
               "experiments.md for the same runs (see paper/table4.csv)", *common],
    )
    a = sh["acceptance"]
    checks = acceptance_checks(scores, above_chance=a["above_chance"],
                               map_above_chance=a["map_above_chance"])
    write_verdict(checks, out["checks_csv"], out["checks_md"],
                  title="SHREC'17: classification and retrieval on our runs")
    return checks
