"""deepsphere: rebuild the DeepSphere papers' tables and figures from raw data.

The paper: `snakemake --cores 8 --use-conda all` (config/config.yaml).
The offline demo: `snakemake all --cores 2 --configfile config/demo.yaml` (targets first:
`--configfile` takes several files and would swallow a target after it).
"""

from snakemake.utils import min_version

from deepsphere.workflow.config import validate_config

min_version("9.19")


# A --configfile on the command line replaces config/config.yaml instead of being merged
# into it, so that no paper setting leaks into the demo (Snakemake merges dicts by default).
if not workflow.overwrite_configfiles:

    configfile: "config/config.yaml"


validate_config(config, workflow.source_path("config/schema.yaml"))


include: "rules/common.smk"
include: "rules/graphs.smk"
include: "rules/sphere.smk"
include: "rules/notebooks.smk"
include: "rules/cosmo.smk"


rule all:
    default_target: True
    input:
        get_final_targets(),
