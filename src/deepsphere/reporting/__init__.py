"""Paper-vs-ours tables, acceptance checks, figures, and the one loader of the paper's numbers.

Each experiment keeps its paper numbers as CSV files in its package's ``paper/`` folder;
``reporting.paper.paper_numbers(package, name)`` reads them.
"""
