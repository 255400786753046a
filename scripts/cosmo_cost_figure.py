"""The cost-accuracy figure of Table 2's runs (rule cosmo_cost_figure)."""

from deepsphere.experiments.cosmo.figures import plot_cost_accuracy
from deepsphere.experiments.cosmo.results import collect_runs, paper_table2, table2_frame
from deepsphere.workflow.logs import workflow_job

with workflow_job(snakemake):
    t2 = snakemake.params.table2
    table = table2_frame(collect_runs(snakemake.input), order=t2["order"], noise=float(t2["noise"]))
    ours = table.rename(columns={"accuracy_ours": "accuracy", "time_ms_ours": "time_ms",
                                 "hardware_ours": "hardware"})
    plot_cost_accuracy(ours[["label", "accuracy", "time_ms", "hardware"]], paper_table2(),
                       snakemake.output[0],
                       title=f"Cost vs accuracy (ours: order {t2['order']}, noise {t2['noise']:g})")
