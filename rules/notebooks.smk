"""The explanatory notebooks, executed with papermill so that they can never rot."""

NOTEBOOKS = config["notebooks"]
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
    threads: 1
    resources:
        mem_mb=3000,
        runtime=20,
    params:
        parameters=lambda wildcards: NOTEBOOKS[wildcards.notebook],
    script:
        "../scripts/run_notebook.py"
