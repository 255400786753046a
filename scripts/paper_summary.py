"""The summary page and the report's table pages (rule paper_summary)."""

import logging
from pathlib import Path

from deepsphere.reporting.pages import write_pages
from deepsphere.reporting.summary import ExperimentResults, write_summary
from deepsphere.workflow.logs import workflow_job

with workflow_job(snakemake):
    experiments = [ExperimentResults.from_named_files(name, snakemake.input, source,
                                                      snakemake.params.titles[name])
                   for name, source in snakemake.params.sources.items()]
    write_summary(experiments, snakemake.output.paper)
    pages_dir = Path(snakemake.output.paper_html).parent  # <results>/report
    written = write_pages(experiments, pages_dir, snakemake.output.paper,
                          snakemake.output.paper_html)
    logging.info("summary %s; %d pages under %s", snakemake.output.paper, len(written), pages_dir)
