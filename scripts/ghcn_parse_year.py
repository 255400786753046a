"""Parse one GHCN-Daily year into per-element station x day arrays (rule ghcn_parse_year)."""

from deepsphere.experiments.ghcn.preprocess import parse_year
from deepsphere.workflow.logs import workflow_job

with workflow_job(snakemake):
    parse_year(snakemake.input.stations, snakemake.input.csv, int(snakemake.wildcards.ghcn_year),
               snakemake.output[0])
