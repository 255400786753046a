"""deepsphere: rebuild the DeepSphere papers' tables and figures from raw data.

The paper: `snakemake --cores 8 --use-conda all` (config/config.yaml).
The offline demo: `snakemake all --cores 2 --configfile config/demo.yaml` (targets first:
`--configfile` takes several files and would swallow a target after it).

An experiment is run when its section is in the config: rules/<name>.smk is included only
then (an experiment = a config/schema/<name>.yaml and a rules/<name>.smk), and registers its
final targets. rules/report.smk, included last, adds <results>/paper.md (every table, the paper
beside ours); `snakemake --cores 1 --report report.html` then builds the browsable report
(captions under report/).
"""

from pathlib import Path

from snakemake.utils import min_version

from deepsphere.workflow.config import experiments_in, load_config_file, validate_config
from deepsphere.workflow.environments import export_job_pythonpath

min_version("9.19")

# Every job runs this checkout's deepsphere (src/ first on its PYTHONPATH): the per-rule conda
# environments envs/<family>.yaml hold only third-party packages, and the notebook kernels
# that papermill starts see no other path (deepsphere.workflow.environments says why).
export_job_pythonpath(Path(workflow.basedir) / "src")


# A --configfile on the command line replaces config/config.yaml instead of being merged
# into it, so that no paper setting leaks into the demo (Snakemake merges dicts by default).
# The default config is read by our loader, whose syntax errors name the file and line.
if not workflow.overwrite_configfiles:
    config.update(load_config_file(Path(workflow.basedir) / "config" / "config.yaml"))


validate_config(config, Path(workflow.basedir) / "config" / "schema")


# `snakemake --report report.html` (or report.zip): every table and figure, with captions.
report: "report/workflow.rst"


include: "rules/common.smk"
include: "rules/graphs.smk"


for _experiment in experiments_in(config):

    include: f"rules/{_experiment}.smk"


include: "rules/training.smk"
include: "rules/report.smk"


rule all:
    default_target: True
    input:
        get_final_targets(),
