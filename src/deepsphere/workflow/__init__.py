"""The workflow's shared machinery: config validation, logging, run specs, resource estimates.

The library never imports the workflow; the Snakefile, rules and scripts import this package.
"""
