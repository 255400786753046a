"""Figure: the first readable test mesh of a shapes dataset and its six channels on the sphere
(rules modelnet40_channels_figure, shrec17_channels_figure)."""

import logging

from deepsphere.experiments.shapes.figures import plot_mesh_channels
from deepsphere.experiments.shapes.meshes import read_meshes
from deepsphere.experiments.shapes.raw_files import split_meshes
from deepsphere.experiments.shapes.settings import NO_HIT_DISTANCE
from deepsphere.workflow.logs import workflow_job

with workflow_job(snakemake):
    p = snakemake.params
    test = split_meshes(p.dataset, snakemake.input.meshes, "test")[:10]
    # the first test mesh that reads (an unreadable one is the projection's to report)
    readable = read_meshes([m[1] for m in test], skip_unreadable=True)[0]
    if not readable:
        raise ValueError(f"none of the first {len(test)} {p.dataset} test meshes can be read "
                         "(see the warnings above): check the unpacked data")
    path, vertices, faces = readable[0]
    mesh_id = next(i for i, m, _ in test if m == path)
    logging.info("%s: %s (%d vertices, %d faces)", p.dataset, path, len(vertices), len(faces))
    plot_mesh_channels(vertices, faces, snakemake.output[0], nside=p.nside,
                       no_hit_distance=NO_HIT_DISTANCE[p.dataset],
                       title=f"{p.dataset}: test mesh {mesh_id} and its six spherical maps")
