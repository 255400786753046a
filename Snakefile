"""deepsphere: rebuild the DeepSphere papers' tables and figures from raw data.

The paper: `snakemake --cores 8 --use-conda all` (config/config.yaml).
The offline demo: `snakemake all --cores 2 --configfile config/demo.yaml` (targets first:
`--configfile` takes several files and would swallow a target after it).

An experiment is run when its section is in the config: rules/<name>.smk is included only
then (an experiment = a config/schema/<name>.yaml and a rules/<name>.smk), and registers its
final targets.
"""

from pathlib import Path

from snakemake.utils import min_version

from deepsphere.workflow.config import experiments_in, load_config_file, validate_config

min_version("9.19")


# A --configfile on the command line replaces config/config.yaml instead of being merged
# into it, so that no paper setting leaks into the demo (Snakemake merges dicts by default).
# The default config is read by our loader, whose syntax errors name the file and line.
if not workflow.overwrite_configfiles:
    config.update(load_config_file(Path(workflow.basedir) / "config" / "config.yaml"))


validate_config(config, Path(workflow.basedir) / "config" / "schema")


include: "rules/common.smk"
include: "rules/graphs.smk"


for _experiment in experiments_in(config):

    include: f"rules/{_experiment}.smk"


include: "rules/training.smk"


rule all:
    default_target: True
    input:
        get_final_targets(),
