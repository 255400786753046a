"""Download the gated cosmo data from Zenodo, or use verified copies placed by hand (rule
cosmo_download). On refusal, the log and the error say what to do and where to put the files."""

import logging
from pathlib import Path

from deepsphere.experiments.cosmo.sources import fetch_cosmo
from deepsphere.workflow.logs import log_to_file

with log_to_file(snakemake.log[0]):
    raw_dir = Path(snakemake.output.training).parent
    logging.info("fetching Zenodo record 1303272 into %s (manual copies: %s)", raw_dir,
                 snakemake.params.manual_dir)
    paths = fetch_cosmo(raw_dir, manual_dir=snakemake.params.manual_dir,
                        retries=snakemake.params.retries, progress=False)
    logging.info("verified: %s", ", ".join(str(p) for p in paths.values()))
