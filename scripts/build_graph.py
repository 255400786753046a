"""Build one sphere graph from its definition and cache it (rule build_graph)."""

import json
import logging

from deepsphere.geometry.graphs import build_graph, save_graph
from deepsphere.runtime.threads import set_num_threads
from deepsphere.workflow.logs import workflow_job

with workflow_job(snakemake):
    logging.info("%d threads", set_num_threads(snakemake.threads))
    definition = dict(snakemake.params.definition)
    logging.info("building graph %s", json.dumps(definition, sort_keys=True))
    graph = build_graph(definition)
    logging.info(
        "%d vertices, %d edges (nnz of W)", graph.weights.shape[0], graph.weights.nnz
    )
    save_graph(snakemake.output[0], graph)
