"""Verify (Zenodo) and unpack training.zip and testing.zip (rule cosmo_unpack)."""

import logging
from pathlib import Path

from deepsphere.experiments.cosmo.sources import fetch_cosmo
from deepsphere.io.archives import unpack_archives
from deepsphere.workflow.logs import log_to_file

with log_to_file(snakemake.log[0]):
    zips = [p for p in map(Path, snakemake.input) if p.suffix == ".zip"]
    if snakemake.params.source == "zenodo":
        fetch_cosmo(zips[0].parent, progress=False)  # all present: checksums only, no network
    out = unpack_archives(zips, snakemake.output[0], overwrite=True)
    logging.info("unpacked %s", [str(p) for p in out])
