"""Search the kNN kernel width minimising the equivariance error (rule sphere_kernel_width_search)."""

import os

os.environ["OMP_NUM_THREADS"] = str(snakemake.threads)  # healpy's transforms use OpenMP

import logging  # noqa: E402

import pandas as pd  # noqa: E402

from deepsphere.experiments.sphere import equivariance as eq  # noqa: E402
from deepsphere.geometry.graphs import load_graph  # noqa: E402
from deepsphere.geometry.kernel_widths import sigma_to_t  # noqa: E402
from deepsphere.geometry.laplacian import laplacian  # noqa: E402
from deepsphere.workflow.logs import log_to_file  # noqa: E402

with log_to_file(snakemake.log[0]):
    p = snakemake.params
    nside, k = int(snakemake.wildcards.nside), int(snakemake.wildcards.k)
    graph = load_graph(snakemake.input.graph)  # only its neighbour pattern and vectors are used
    objective = eq.knn_width_objective(
        eq.KnnReweighter(graph.weights, graph.sampling.vectors),
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
    res = eq.search_kernel_width(objective, eq.paper_sigma0(nside), n_grid=p.n_grid,
                                 span=p.span, refine=p.refine, progress=True)  # fmt: skip
    rows = [("grid", s, e) for s, e in zip(res.sigma_grid, res.errors, strict=True)]
    best_grid = float(res.errors.min())
    rows += [
        ("grid_argmin", res.sigma_grid_best, best_grid),
        ("best", res.sigma_best, res.error_best),
    ]
    out = pd.DataFrame(rows, columns=["kind", "sigma", "error"])
    out.insert(0, "nside", nside)
    out.insert(1, "k", k)
    out["t"] = [sigma_to_t(s) for s in out["sigma"]]
    out["at_edge"] = res.at_edge
    logging.info("nside %d k %d: sigma %.5g (grid %.5g), at_edge=%s", nside, k, res.sigma_best,
                 res.sigma_grid_best, res.at_edge)  # fmt: skip
    out.to_csv(snakemake.output[0], index=False)
