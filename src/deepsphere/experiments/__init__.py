"""One package per experiment (``sphere``, ``cosmo``): sources, readers, preprocessing,
stand-in data, plan of runs, results tables, checks and figures, and its paper numbers as CSV
under ``paper/``. Nothing in an experiment's package is needed by another experiment."""
