"""Search the kNN kernel width minimising the equivariance error (rule sphere_kernel_width_search)."""

import os

os.environ["OMP_NUM_THREADS"] = str(snakemake.threads)  # healpy's transforms use OpenMP

import logging  # noqa: E402

from deepsphere.experiments.sphere import width_search as ws  # noqa: E402
from deepsphere.experiments.sphere.tables import width_search_frame  # noqa: E402
from deepsphere.geometry.graphs import load_graph  # noqa: E402
from deepsphere.geometry.laplacian import laplacian  # noqa: E402
from deepsphere.io.atomic import atomic_write_text  # noqa: E402
from deepsphere.workflow.logs import workflow_job  # noqa: E402

with workflow_job(snakemake):
    p = snakemake.params
    nside, k = int(snakemake.wildcards.nside), int(snakemake.wildcards.k)
    graph = load_graph(snakemake.input.graph)  # only its neighbour pattern and vectors are used
    objective = ws.knn_width_objective(
        ws.KnnReweighter(graph.weights, graph.sampling.vectors),
        nside,
        nest=graph.definition["nest"],
        seed=p.seed,
        n_signals=p.n_signals,
        n_rotations=p.n_rotations,
        rotation=p.rotation,
        slope=p.slope,
        iter=p.map2alm_iter,
        laplacian=lambda w: laplacian(w, "combinatorial"),
    )
    res = ws.search_kernel_width(objective, ws.paper_sigma0(nside), n_grid=p.n_grid,
                                 span=p.span, refine=p.refine, progress=True)  # fmt: skip
    out = width_search_frame(res, nside=nside, k=k)
    logging.info("nside %d k %d: sigma %.5g (grid %.5g), at_edge=%s", nside, k, res.sigma_best,
                 res.sigma_grid_best, res.at_edge)  # fmt: skip
    atomic_write_text(snakemake.output[0], out.to_csv(index=False))
