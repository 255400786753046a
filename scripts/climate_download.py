"""Fetch climate_sphere_l5.zip: download (mirrors, resumable, progress in the log, free space
checked first) or the copy placed by hand (rule climate_download). When nothing answers, the
error says where to put the zip or its unpacked folder."""

import logging
from pathlib import Path

from deepsphere.experiments.climate.sources import fetch_archive
from deepsphere.workflow.logs import workflow_job

with workflow_job(snakemake):
    d = snakemake.params.download
    raw_dir = Path(snakemake.output[0]).parent
    logging.info("fetching the climate archive into %s (placed by hand: %s)", raw_dir,
                 Path(d["manual_dir"]).resolve())
    path = fetch_archive(raw_dir, manual_dir=d["manual_dir"], mirrors=d["mirrors"],
                         archive_bytes=float(d["archive_gb"]) * 1e9, retries=d["retries"])
    logging.info("obtained %s (%.1f GB)", path, path.stat().st_size / 1e9)
