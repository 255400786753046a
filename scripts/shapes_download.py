"""Fetch the raw files of a shapes dataset: download (with mirrors), or take the files placed
by hand in the manual folder (rules modelnet40_download, shrec17_download). When no source
answers, the error and the log list every file to place by hand and where."""

import logging
from pathlib import Path

from deepsphere.experiments.shapes.sources import fetch_modelnet40, fetch_shrec17
from deepsphere.workflow.logs import workflow_job

FETCH = {"modelnet40": fetch_modelnet40, "shrec17": fetch_shrec17}

with workflow_job(snakemake):
    p = snakemake.params
    raw_dir = Path(snakemake.output[0]).parent
    logging.info("fetching %s into %s (files placed by hand: %s)", p.dataset, raw_dir,
                 Path(p.manual_dir).resolve())
    paths = FETCH[p.dataset](raw_dir, manual_dir=p.manual_dir, mirrors=p.mirrors,
                             retries=p.retries, progress=False)
    logging.info("obtained: %s", ", ".join(str(v) for v in paths.values()))
