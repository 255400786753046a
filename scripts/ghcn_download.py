"""Fetch GHCN-Daily: the station list and the configured years (NOAA NCEI, the original URL,
the AWS copy, then mirrors; resumable, with progress; free space checked first), or the files
placed by hand (rule ghcn_download). When nothing answers, the error says where to put them."""

import logging
from pathlib import Path

from deepsphere.experiments.ghcn.sources import fetch_ghcn
from deepsphere.workflow.logs import workflow_job

with workflow_job(snakemake):
    d = snakemake.params.download
    raw_dir = Path(snakemake.output.stations).parent
    logging.info("fetching GHCN-Daily %s into %s (placed by hand: %s)", snakemake.params.years,
                 raw_dir, Path(d["manual_dir"]).resolve())
    paths = fetch_ghcn(raw_dir, snakemake.params.years, manual_dir=d["manual_dir"],
                       mirrors=d["mirrors"], retries=d["retries"])
    for path in paths.values():
        logging.info("obtained %s (%.1f MB)", path, path.stat().st_size / 1e6)
