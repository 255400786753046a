"""Train and evaluate one network run: DeepSphere FCN/CNN or the 2-D CNN/FCN (rule cosmo_train)."""

from pathlib import Path

from deepsphere.experiments.cosmo.runs import load_run, run_network
from deepsphere.geometry.graphs import graph_id, load_graph
from deepsphere.workflow.logs import log_to_file

with log_to_file(snakemake.log[0]):
    spec = snakemake.params.spec
    inputs = snakemake.input
    run, data = load_run(spec, inputs.train, inputs.test, inputs.normalisation)
    graphs = {graph_id(g.definition): g for g in map(load_graph, inputs.graphs)}
    run_network(spec["cosmo"], run, data, seed=spec["seed"],
                out_dir=Path(snakemake.output.model).parent, metrics_path=snakemake.output.metrics,
                graphs=graphs or None, threads=snakemake.threads)
