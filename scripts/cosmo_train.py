"""Train and evaluate one network run: DeepSphere FCN/CNN or the 2-D CNN/FCN (rule cosmo_train)."""

from pathlib import Path

from deepsphere.experiments.cosmo import load_cosmo_data, run_network
from deepsphere.experiments.cosmo_plan import CosmoRun
from deepsphere.graphs import graph_id, load_graph
from deepsphere.workflow_logging import log_to_file

with log_to_file(snakemake.log[0]):
    spec = snakemake.params.spec
    cosmo = spec["cosmo"]
    run = CosmoRun(**{k: spec["run"][k] for k in ("method", "order", "noise", "graph")})
    data = load_cosmo_data(snakemake.input.train, snakemake.input.test,
                           snakemake.input.normalisation, noise=run.noise,
                           val_fraction=cosmo["val_fraction"], seed=spec["seed"])
    graphs = {graph_id(g.definition): g for g in map(load_graph, snakemake.input.graphs)}
    run_network(cosmo, run, data, seed=spec["seed"], out_dir=Path(snakemake.output.model).parent,
                metrics_path=snakemake.output.metrics, graphs=graphs or None,
                threads=snakemake.threads)
