"""Paper-vs-ours filtering speed table and figure (rule sphere_filtering_speed_table)."""

import pandas as pd

from deepsphere.experiments.sphere.figures import plot_filtering_speed
from deepsphere.experiments.sphere.filtering_speed import paper_filtering_speed
from deepsphere.reporting.tables import paper_vs_ours, write_table
from deepsphere.workflow.logs import log_to_file

KEYS = ["nside", "method", "K", "lmax_factor", "patch_fraction"]

with log_to_file(snakemake.log[0]):
    ours = pd.concat([pd.read_csv(f) for f in snakemake.input.speeds], ignore_index=True)
    ours = ours.astype({"K": "Int64", "lmax_factor": "Int64"})
    table = paper_vs_ours(ours.rename(columns={"seconds_min": "seconds"}), paper_filtering_speed(),
                          KEYS, ["seconds"])  # fmt: skip
    table = table.merge(
        ours[KEYS + ["seconds_median", "n_vertices", "threads"]], on=KEYS, how="left"
    )
    notes = [
        "seconds: wall-clock time to filter one map; ours = minimum over repeats after a warm-up "
        "(the least perturbed by other load; seconds_median beside it). Graph: Chebyshev recursion on the V1 HEALPix graph's Laplacian "
        "(scipy sparse, one thread); sh: healpy map2alm -> almxfl -> alm2map with `threads` OpenMP "
        "threads.",
        "Paper: DeepSphere cosmo-tf1 `results/filtering_speed.npz` (only Nside 1024 and 2048 "
        "listed); empty = no paper number.",
    ]
    write_table(table, snakemake.output.csv, snakemake.output.md,
                title="Filtering speed: paper vs ours", notes=notes)  # fmt: skip
    plot_filtering_speed(ours, paper_filtering_speed(), snakemake.output.figure)
