"""Per-experiment data: source specs, readers, preprocessing and stand-in data generators.

Submodules are imported explicitly (``from deepsphere.datasets import cosmo``) so that importing
this package stays cheap.
"""
