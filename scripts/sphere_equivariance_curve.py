"""Equivariance error of one study graph at one nside (rule sphere_equivariance_curve)."""

import os

os.environ["OMP_NUM_THREADS"] = str(snakemake.threads)  # healpy's transforms use OpenMP

import logging  # noqa: E402

from deepsphere.experiments.sphere.equivariance import equivariance_error_curve, paper_ell_grid  # noqa: E402
from deepsphere.experiments.sphere.tables import label_curve  # noqa: E402
from deepsphere.geometry.graphs import load_graph  # noqa: E402
from deepsphere.geometry.laplacian import laplacian  # noqa: E402
from deepsphere.io.atomic import atomic_write_text  # noqa: E402
from deepsphere.workflow.logs import workflow_job  # noqa: E402

with workflow_job(snakemake):
    p = snakemake.params
    nside = int(snakemake.wildcards.nside)
    graph = load_graph(snakemake.input.graph)
    logging.info("graph %s: %d vertices", graph.definition, graph.n_vertices)
    curve = equivariance_error_curve(
        laplacian(graph.weights, "combinatorial"),
        nside,
        paper_ell_grid(nside, p.ell_step),
        nest=graph.definition["nest"],
        seed=p.seed,
        n_signals=p.n_signals,
        n_rotations=p.n_rotations,
        rotation=p.rotation,
        iter=p.map2alm_iter,
        rotate_signal=p.rotate_signal,
    )
    curve = label_curve(curve, graph=snakemake.wildcards.sphere_graph, nside=nside,
                        rotation=p.rotation)  # fmt: skip
    logging.info("\n%s", curve.to_string())
    atomic_write_text(snakemake.output[0], curve.to_csv(index=False))
