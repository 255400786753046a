"""Figure: the first test mesh of a shapes dataset and its six channels on the sphere (rules
modelnet40_channels_figure, shrec17_channels_figure)."""

import logging

from deepsphere.experiments.shapes.figures import plot_mesh_channels
from deepsphere.experiments.shapes.meshes import read_mesh
from deepsphere.experiments.shapes.raw_files import split_meshes
from deepsphere.experiments.shapes.settings import NO_HIT_DISTANCE
from deepsphere.workflow.logs import log_to_file

with log_to_file(snakemake.log[0]):
    p = snakemake.params
    mesh_id, path, _ = split_meshes(p.dataset, snakemake.input.meshes, "test")[0]
    vertices, faces = read_mesh(path)
    logging.info("%s: %s (%d vertices, %d faces)", p.dataset, path, len(vertices), len(faces))
    plot_mesh_channels(vertices, faces, snakemake.output[0], nside=p.nside,
                       no_hit_distance=NO_HIT_DISTANCE[p.dataset],
                       title=f"{p.dataset}: test mesh {mesh_id} and its six spherical maps")
