"""Verify the raw archives' checksums, then unpack training.zip and testing.zip (rule
cosmo_unpack): Zenodo files against the record's md5, stand-in zips against standin.json."""

import logging
from pathlib import Path

from deepsphere.experiments.cosmo.sources import verify_cosmo
from deepsphere.experiments.cosmo.standin import verify_standin_archives
from deepsphere.io.archives import unpack_archives
from deepsphere.workflow.logs import workflow_job

with workflow_job(snakemake):
    zips = [p for p in map(Path, snakemake.input) if p.suffix == ".zip"]
    raw_dir = zips[0].parent
    if snakemake.params.source == "zenodo":
        verify_cosmo(raw_dir)  # checksums only, no network
    else:
        verify_standin_archives(raw_dir)
    out = unpack_archives(zips, snakemake.output[0], overwrite=True)
    logging.info("unpacked %s", [str(p) for p in out])
