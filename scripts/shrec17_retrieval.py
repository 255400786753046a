"""SHREC'17 retrieval lists of one run, their scores (official definitions) and the official
evaluator's input folder and summary (rule shrec17_retrieval)."""

import logging

from deepsphere.experiments.shrec17.retrieval import score_predictions
from deepsphere.workflow.logs import workflow_job

with workflow_job(snakemake):
    out = snakemake.output
    result = score_predictions(snakemake.input.predictions, snakemake.input.meshes,
                               scores_path=out.scores, evaluator_zip=out.evaluator,
                               summary_path=out.summary)
    logging.info("micro %s; macro %s; %d queries, %d model(s) without a prediction",
                 result["micro"], result["macro"], result["n_queries"], result["n_unpredicted"])
