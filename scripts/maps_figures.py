"""The training curves of the maps run and, for regression, its test predictions against the
truth (rule maps_figures)."""

import json
from pathlib import Path

import pandas as pd

from deepsphere.reporting.run_figures import predicted_vs_true, training_curves
from deepsphere.workflow.logs import workflow_job

with workflow_job(snakemake):
    record = json.loads(Path(snakemake.input.metrics).read_text())
    info = json.loads(Path(snakemake.input.inputs).read_text())
    training_curves(Path(snakemake.input.model).parent / "log.csv", snakemake.output.curves,
                    selected_epoch=record.get("selected_epoch"),
                    title=f"Training of {Path(snakemake.input.model).parent.name}")
    if snakemake.output.scatter:
        frame = pd.read_csv(snakemake.input.predictions)
        names = info["target_names"]
        predicted_vs_true(frame[[f"true_{n}" for n in names]].to_numpy(),
                          frame[[f"pred_{n}" for n in names]].to_numpy(), names,
                          snakemake.output.scatter[0])
