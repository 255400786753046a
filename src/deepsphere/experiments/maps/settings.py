"""The ``maps`` config section with its defaults: a user writes the paths and the task, the
rest comes from :data:`DEFAULTS` (the schema, config/schema/maps.yaml, checks the types; the
defaults live here only).

A whole user config::

    seed: 1
    results: results-mymaps
    maps:
      folder: /data/lensing/maps          # a.fits, b.fits, ... (ORDERING read from each header)
      table: /data/lensing/maps.csv       # columns: file, omega_m, split
      task: regression
      target: omega_m
      split_column: split
      nside: 64                           # maps at a higher nside are downgraded (logged)
      sky: {mask: /data/lensing/footprint.fits}
"""

from __future__ import annotations

import copy
from collections.abc import Mapping

__all__ = ["DEFAULTS", "settings"]

#: Every key of the section but the user's data (folder, table, task, target), with its
#: default. Nested mappings merge key by key.
DEFAULTS: dict = {
    "source": "folder",          # folder: the user's maps; standin: generated maps (demo, CI)
    "file_column": "file",       # the CSV column with each map's file (or id, with a pattern)
    "channels": None,            # None: one map per file; a list of FITS columns / npz arrays
                                 # / npy rows; or {pattern: "{id}_{channel}.fits", names: [...]}
    "ordering": None,            # .npy/.npz only: RING or NEST (FITS files state their own)
    "classes": None,             # segmentation: the class names, index = label value
    "split_column": None,        # a CSV column of train/val/test; None: drawn with `split`
    "split": {"val": 0.2, "test": 0.2},
    "nside": None,               # None: the maps' nside; lower: the maps are downgraded
    "sky": {
        "mask": None,            # a FITS map (> 0 observed) or a pixel list; None: full sky
        "mask_ordering": None,   # pixel lists and .npy masks: RING or NEST
        "mask_nside": None,      # pixel lists: their nside
        "patches": None,         # a NEST patch order o: 12 o^2 samples per map (no mask)
    },
    "graph": {"kind": "knn", "k": 8},   # knn (the paper's kernel width for k) or v1
    "network": {
        "kind": "fcn",           # fcn: convs then a global average; cnn: convs, flatten, FC
        "depth": "auto",         # graph convs (each followed by pooling but the last)
        "filters": 16,           # of the first conv, doubled after each pooling (at most 4x),
                                 # or a list, one per conv
        "K": 5,                  # Chebyshev terms
        "pool_mode": "max",
    },
    "training": {
        "epochs": 20,
        "batch_size": 16,
        "learning_rate": 1.0e-3,
        "optimizer": "adam",
        "keep": "best",          # the epoch of lowest validation loss, or the last
        "class_weight": "none",  # classification/segmentation: none | balanced
    },
    "name": "deepsphere",        # the run's name: results/maps/models/<name>/
    "predict": {},               # {set name: {folder, table}}: maps to predict with the model
    "acceptance": {"chance_margin": 0.2, "min_r2": 0.5},
    "timing": {"repeats": 1},
    "standin": {                 # source: standin only
        "n_maps": 48,
        "nside": 16,
        "task": "classification",  # classification: two spectral amplitudes; regression: the
                                   # log-amplitude as target
        "mask": True,            # write a mask (a cap of the sphere) and use it
    },
}


def _merge(base: Mapping, override: Mapping) -> dict:
    out = copy.deepcopy(dict(base))
    for key, value in override.items():
        if isinstance(value, Mapping) and isinstance(out.get(key), Mapping) and out[key]:
            out[key] = _merge(out[key], value)
        else:
            out[key] = copy.deepcopy(value)
    return out


def settings(section: Mapping) -> dict:
    """The ``maps`` section with every default filled in (the user's values win)."""
    return _merge(DEFAULTS, section)
