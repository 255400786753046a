"""The results of a maps run: the metrics table, the checks (above chance, or R² high enough),
and the test predictions per map as CSV (in the data's units, beside the truth)."""

from __future__ import annotations

import json
from collections.abc import Mapping
from pathlib import Path

import numpy as np

from deepsphere.reporting.checks import Check, write_verdict

__all__ = ["checks", "metrics_frame", "predictions_frame", "write_results"]


def metrics_frame(record: Mapping, info: Mapping):
    """One row per target (regression) or one row (classification, segmentation)."""
    import pandas as pd

    m = record["metrics"]
    if record["task"] == "regression":
        per_target = m.get("per_target") or {info["target_names"][0]: m}
        return pd.DataFrame([{"target": name, "mse": v["mse"], "mae": v["mae"], "r2": v["r2"],
                              "n_test": v["n"]} for name, v in per_target.items()])
    row = {key: m[key] for key in ("accuracy", "weighted_f1", "mean_class_recall",
                                   "mean_average_precision") if key in m}
    return pd.DataFrame([{**row, "n_test": int(m["n"])}])


def checks(record: Mapping, info: Mapping, predictions: Mapping, acceptance: Mapping
           ) -> list[Check]:
    """Classification and segmentation: accuracy above the share of the most common test
    class by ``chance_margin``; regression: every target's R² at least ``min_r2``."""
    m = record["metrics"]
    if record["task"] == "regression":
        per_target = m.get("per_target") or {info["target_names"][0]: m}
        return [Check(f"r2 {name}", v["r2"] >= acceptance["min_r2"],
                      f"R² {v['r2']:.3f} on {v['n']} test maps (needs >= "
                      f"{acceptance['min_r2']})") for name, v in per_target.items()]
    labels = np.asarray(predictions["labels"]).reshape(-1)
    majority = np.bincount(labels).max() / labels.size
    bar = majority + acceptance["chance_margin"]
    return [Check("above chance", m["accuracy"] >= bar,
                  f"accuracy {m['accuracy']:.3f} vs the most common class's share "
                  f"{majority:.3f} + {acceptance['chance_margin']}")]


def predictions_frame(predictions: Mapping, info: Mapping, task: str):
    """Per test map: its id, the truth and the prediction (classification: the class, its
    probabilities; regression: each target in the data's units). Segmentation: per map, the
    pixel accuracy."""
    import pandas as pd

    ids = [str(i) for i in predictions["ids"]]
    scores, labels = np.asarray(predictions["scores"]), np.asarray(predictions["labels"])
    frame = pd.DataFrame({"id": ids})
    if task == "regression":
        scores, labels = scores.reshape(len(ids), -1), labels.reshape(len(ids), -1)
        for j, name in enumerate(info["target_names"]):
            frame[f"true_{name}"], frame[f"pred_{name}"] = labels[:, j], scores[:, j]
    elif task == "classification":
        names = info["class_names"]
        frame["true"] = [names[i] for i in labels]
        frame["pred"] = [names[i] for i in scores.argmax(axis=-1)]
        for j, name in enumerate(names):
            frame[f"p_{name}"] = scores[:, j]
    else:
        frame["pixel_accuracy"] = (scores.argmax(axis=-1) == labels).mean(axis=-1)
    return frame


def write_results(metrics_path, predictions_path, inputs_path, acceptance: Mapping,
                  outputs: Mapping) -> list[Check]:
    """Write the metrics and checks tables (CSV + Markdown) and the predictions CSV."""
    from deepsphere.io.atomic import atomic_path
    from deepsphere.reporting.tables import write_table

    record = json.loads(Path(metrics_path).read_text())
    info = json.loads(Path(inputs_path).read_text())
    with np.load(predictions_path, allow_pickle=False) as npz:
        predictions = {k: npz[k] for k in npz.files}
    task = record["task"]
    notes = [f"{task} on {info['counts']['test']} test maps ({info['counts']['train']} "
             f"training, {info['counts']['val']} validation), nside {info['nside']}, "
             + ("full sky" if info["observed"] is None and not info["patches"] else
                f"{len(info['observed'])} observed pixels" if info["observed"] is not None
                else f"NEST patches of order {info['patches']}"), *info["notes"]]
    write_table(metrics_frame(record, info), outputs["metrics_csv"], outputs["metrics_md"],
                title="Your maps: test metrics", notes=notes)
    found = checks(record, info, predictions, acceptance)
    write_verdict(found, outputs["checks_csv"], outputs["checks_md"], title="Your maps: checks")
    with atomic_path(outputs["predictions"], suffix=".csv") as tmp:
        predictions_frame(predictions, info, task).to_csv(tmp, index=False)
    return found
