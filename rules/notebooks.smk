"""The explanatory notebooks, executed with papermill so that they can never rot."""

from snakemake_interface_executor_plugins.settings import DeploymentMethod

NOTEBOOKS = config["notebooks"]
# The maps tutorial runs the workflow itself: with --use-conda when this run uses conda.
NOTEBOOKS_USE_CONDA = (
    DeploymentMethod.CONDA in workflow.deployment_settings.deployment_method
)
TARGETS["notebooks"] = [f"{RESULTS}/notebooks/{name}.ipynb" for name in NOTEBOOKS]


wildcard_constraints:
    notebook="|".join(NOTEBOOKS) or r"(?!x)x",


rule notebook:
    input:
        notebook="notebooks/{notebook}.ipynb",
    output:
        notebook=f"{RESULTS}/notebooks/{{notebook}}.ipynb",
        figures=directory(f"{RESULTS}/notebooks/figures/{{notebook}}"),
    log:
        "logs/notebooks/{notebook}.log",
    conda:
        "../envs/notebooks.yaml"
    threads: lambda wildcards: NOTEBOOKS[wildcards.notebook].get("cores", 1)
    resources:
        mem_mb=3000,
        runtime=60,
    params:
        parameters=lambda wildcards: {
            **NOTEBOOKS[wildcards.notebook],
            **(
                {"use_conda": NOTEBOOKS_USE_CONDA}
                if wildcards.notebook == "maps_tutorial"
                else {}
            ),
        },
    script:
        "../scripts/run_notebook.py"
