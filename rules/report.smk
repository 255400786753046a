"""The summary page and the report's table pages: <results>/paper.md, <results>/report/.

Included after every experiment's rules file: it reads their final targets (TARGETS) and runs
(RUNS). One local rule writes the summary (every reproduced table with the paper's numbers
beside ours, each experiment's acceptance checks, its data source and the hardware of its runs:
deepsphere.reporting.summary) and an HTML page per table for `snakemake --report`, which shows
HTML but not CSV or Markdown (deepsphere.reporting.pages). Each page is marked for the report
with its caption report/<experiment>/tables/<table>.rst; the figures are marked in their
experiments' rules files. The demo and the paper take the same path: only the config differs.
"""

from deepsphere.experiments.titles import experiment_title
from deepsphere.reporting import pages as report_pages
from deepsphere.reporting import summary as report_summary

REPORT_PAGES = f"{RESULTS}/report"
# Snakemake's report() flag under another name: snakefmt reads a line starting with "report"
# as the global report directive.
mark_for_report = report
REPORT_EXPERIMENTS = [
    exp
    for exp in (
        report_summary.experiment_results(
            name,
            TARGETS.get(name, []),
            metrics=[
                f"{RESULTS}/{name}/metrics/{s.run_id}.json" for s in RUNS.runs(name)
            ],
            source=config[name].get("source"),
            display_name=experiment_title(name),
        )
        for name in targeted_experiments(config)
    )
    if exp.tables or exp.checks
]


# <experiment>_tables, _checks, _metrics: the files each experiment's summary reads.
REPORT_INPUTS = {
    key: files for exp in REPORT_EXPERIMENTS for key, files in exp.named_files().items()
}


# The HTML page of every table, each marked for the report with its own caption.
REPORT_TABLE_PAGES = [
    mark_for_report(page, **flags)
    for page, flags in report_pages.report_entries(REPORT_PAGES, REPORT_EXPERIMENTS)
]


if REPORT_EXPERIMENTS:
    REPORT_TARGETS.append(f"{RESULTS}/paper.md")


rule paper_summary:
    input:
        **REPORT_INPUTS,
    output:
        paper=f"{RESULTS}/paper.md",
        paper_html=report(
            f"{REPORT_PAGES}/paper.html",
            caption="../report/summary.rst",
            category="Summary",
            subcategory="Tables",
            labels={
                "title": "Every reproduced table, the paper beside ours (paper.md)"
            },
        ),
        pages=REPORT_TABLE_PAGES,
    log:
        "logs/report/paper_summary.log",
    localrule: True
    conda:
        "../envs/reporting.yaml"
    threads: 1
    resources:
        mem_mb=500,
        runtime=5,
    params:
        sources={exp.name: exp.source for exp in REPORT_EXPERIMENTS},
        titles={exp.name: exp.title for exp in REPORT_EXPERIMENTS},
    script:
        "../scripts/paper_summary.py"
