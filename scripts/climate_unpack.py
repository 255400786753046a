"""Unpack climate_sphere_l5.zip (free space checked first), or take a hand-placed data_5_all/
folder in place; writes maps.json naming the maps folder (rule climate_unpack). The rule asks
for no archive exactly when such a folder was placed by hand."""

from pathlib import Path

from deepsphere.experiments.climate.preprocess import unpack_maps
from deepsphere.experiments.climate.sources import manual_maps_dir
from deepsphere.workflow.logs import workflow_job

with workflow_job(snakemake):
    record = Path(snakemake.output[0])
    if snakemake.input:
        unpack_maps(snakemake.input[0], record.parent, record=record)
    else:
        unpack_maps(None, record.parent, record=record,
                    manual_maps=manual_maps_dir(snakemake.params.manual_dir))
