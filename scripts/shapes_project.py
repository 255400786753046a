"""Project one split of a shapes dataset onto one grid with one rotation setting and number of
copies, into its HDF5 file and a JSON summary (rules modelnet40_project, shrec17_project)."""

import logging

from deepsphere.experiments.shapes.cache import project_split
from deepsphere.experiments.shapes.raw_files import split_meshes
from deepsphere.experiments.shapes.settings import NO_HIT_DISTANCE, Projection, grid_sampling
from deepsphere.io.atomic import atomic_write_json
from deepsphere.workflow.logs import workflow_job

with workflow_job(snakemake):
    p, w = snakemake.params, snakemake.wildcards
    projection = Projection(p.dataset, w.grid, w.split, w.rotation, int(w.copies))
    meshes = split_meshes(p.dataset, snakemake.input.meshes, w.split)
    logging.info("%s %s: %d meshes x %d copies on %s, rotation %s, |t| <= %g", p.dataset,
                 w.split, len(meshes), projection.copies, w.grid, w.rotation, p.max_translation)
    summary = project_split(
        meshes, snakemake.output.projections, sampling=grid_sampling(w.grid), rotation=w.rotation,
        max_translation=p.max_translation, copies=projection.copies,
        no_hit_distance=NO_HIT_DISTANCE[p.dataset], seed=projection.seed(p.seed),
        skip_unreadable=p.skip_unreadable, progress=True)
    logging.info("projected %d meshes (%d rows); skipped %d unreadable mesh(es)%s",
                 summary["n_meshes"], summary["n_rows"], len(summary["skipped"]),
                 "".join(f"\n  {path}: {why}" for path, why in summary["skipped"]))
    atomic_write_json(snakemake.output.summary, {**summary, "projection": projection.stem,
                                                 "grid": w.grid, "dataset": p.dataset})
