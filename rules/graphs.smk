"""The graph rule: one cached graph file per definition (sampling, size, k, width, subset).

A data-defined graph (``{"sampling": "positions", "positions": <file>, ...}``) takes its
vertices from a positions file that another rule writes; that file is this rule's input.
"""


rule build_graph:
    input:
        positions=get_graph_positions,
    output:
        f"{GRAPHS}/{{graph_id}}.npz",
    log:
        "logs/graphs/{graph_id}.log",
    benchmark:
        "benchmarks/workflow/graphs/{graph_id}.tsv"
    conda:
        "../envs/geometry.yaml"
    threads: 2
    resources:
        mem_mb=get_graph_mem_mb,
        runtime=60,
    params:
        definition=get_graph_definition,
    script:
        "../scripts/build_graph.py"
