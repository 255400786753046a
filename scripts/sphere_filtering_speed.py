"""Time graph and spherical-harmonic filtering at one nside (rule sphere_filtering_speed)."""

import os

os.environ["OMP_NUM_THREADS"] = str(snakemake.threads)  # healpy's transforms use OpenMP

import logging  # noqa: E402

from deepsphere.experiments.sphere.filtering_speed import measure_filtering_speed  # noqa: E402
from deepsphere.geometry.graphs import load_graph  # noqa: E402
from deepsphere.geometry.laplacian import laplacian  # noqa: E402
from deepsphere.io.atomic import atomic_write_text  # noqa: E402
from deepsphere.runtime.threads import set_num_threads  # noqa: E402
from deepsphere.workflow.logs import workflow_job  # noqa: E402

with workflow_job(snakemake):
    # both sides get the rule's threads: healpy's OpenMP ones and the graph filter's compiled loops
    logging.info("%d threads", set_num_threads(snakemake.threads))
    p = snakemake.params
    nside = int(snakemake.wildcards.nside)
    laplacians = {1: laplacian(load_graph(snakemake.input.full).weights, "combinatorial")}
    for order in p.patch_orders:
        w = load_graph(snakemake.input[f"patch{order}"]).weights
        laplacians[12 * order**2] = laplacian(w, "combinatorial")
    speed = measure_filtering_speed(nside, graph_laplacians=laplacians, Ks=p.Ks,
                                    lmax_factors=p.lmax_factors, repeats=p.repeats, seed=p.seed,
                                    threads=snakemake.threads)  # fmt: skip
    logging.info("\n%s", speed.to_string())
    atomic_write_text(snakemake.output[0], speed.to_csv(index=False))
