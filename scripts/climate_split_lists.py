"""Fetch deepsphere-tf1's climate split lists (md5-checked, then their sizes, names and
overlap) or the copies placed by hand (rule climate_split_lists)."""

import logging
from pathlib import Path

from deepsphere.experiments.climate.sources import fetch_split_lists
from deepsphere.workflow.logs import workflow_job

with workflow_job(snakemake):
    d = snakemake.params.download
    raw_dir = Path(snakemake.output[0]).parent
    paths = fetch_split_lists(raw_dir, manual_dir=d["manual_dir"], mirrors=d["split_mirrors"],
                              retries=d["retries"], progress=False)
    logging.info("split lists: %s", {k: str(v) for k, v in paths.items()})
