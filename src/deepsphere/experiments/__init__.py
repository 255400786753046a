"""Experiment orchestration: assemble the data, run a method, collect the results.

One module per experiment (``experiments.cosmo``); the workflow's scripts call these functions.
"""
