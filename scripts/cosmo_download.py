"""Download the gated cosmo data from Zenodo, or use verified copies placed by hand in
cosmo.zenodo.manual_dir (rule cosmo_download). The manual folder is only ever read: a failed job
(whose outputs Snakemake deletes) cannot lose a hand-placed file. On refusal, the log and the
error list every missing file with the path to put it at, its size and its checksum."""

import logging
from pathlib import Path

from deepsphere.experiments.cosmo.sources import fetch_cosmo
from deepsphere.workflow.logs import workflow_job

with workflow_job(snakemake):
    raw_dir = Path(snakemake.output.training).parent
    logging.info("fetching Zenodo record 1303272 into %s (files placed by hand: %s)", raw_dir,
                 Path(snakemake.params.manual_dir).resolve())
    paths = fetch_cosmo(raw_dir, manual_dir=snakemake.params.manual_dir,
                        retries=snakemake.params.retries, progress=False)
    logging.info("verified: %s", ", ".join(str(p) for p in paths.values()))
