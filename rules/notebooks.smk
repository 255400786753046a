"""The explanatory notebooks, executed with papermill so that they can never rot."""


rule notebook:
    input:
        notebook="notebooks/{notebook}.ipynb",
    output:
        notebook="results/notebooks/{notebook}.ipynb",
        figures=directory("results/notebooks/figures/{notebook}"),
    log:
        "logs/notebooks/{notebook}.log",
    conda:
        "../envs/deepsphere.yaml"
    threads: 1
    resources:
        mem_mb=3000,
        runtime=20,
    params:
        parameters=get_notebook_parameters,
    script:
        "../scripts/run_notebook.py"
