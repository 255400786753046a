"""Projection settings and file names shared by the ModelNet40 and SHREC'17 experiments.

A projected file is one split of one dataset on one grid, with one rotation and number of
augmented copies (the translation and the no-hit distance are the dataset's):
``<interim>/<dataset>/projections/<grid>/<split>_<rotation>_c<copies>.h5``, with a summary
``.json`` beside it (meshes, rows, skipped meshes) and the training split's per-channel
statistics ``<grid>/statistics_<rotation>_c<copies>.json``. Grids: ``hp<nside>`` (HEALPix,
NEST) and ``eq<bandwidth>`` (SOFT equiangular, 2b x 2b). Keras-free.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from deepsphere.experiments.shapes.projection import ROTATIONS
from deepsphere.training.seeds import name_seed

__all__ = ["NO_HIT_DISTANCE", "Projection", "grid_name", "grid_sampling", "rotation_label"]

#: No-hit distance of each dataset, as the originals (tf1-spec §2.4-2.5).
NO_HIT_DISTANCE = {"modelnet40": 1.0, "shrec17": 0.0}
_GRID = re.compile(r"^(hp|eq)(\d+)$")
_LABELS = {"none": "no", "z": "z", "so3": "SO3"}


def grid_name(sampling: str, size: int) -> str:
    """``hp32`` for HEALPix Nside 32, ``eq64`` for the SOFT grid of bandwidth 64."""
    if sampling not in ("healpix", "equiangular"):
        raise ValueError(f"sampling {sampling!r} is not 'healpix' or 'equiangular'")
    return f"{'hp' if sampling == 'healpix' else 'eq'}{int(size)}"


def grid_sampling(grid: str) -> dict:
    """The projection sampling (:func:`deepsphere.experiments.shapes.projection.sphere_grid`)
    of a grid name; HEALPix always NEST (the models' ordering)."""
    match = _GRID.match(grid)
    if not match:
        raise ValueError(f"grid {grid!r}: use hp<nside> or eq<bandwidth>")
    size = int(match.group(2))
    if match.group(1) == "hp":
        return {"sampling": "healpix", "nside": size, "nest": True}
    return {"sampling": "equiangular", "bandwidth": size, "grid": "SOFT"}


def rotation_label(rotation: str) -> str:
    """The paper's name of a rotation setting: ``no``, ``z``, ``SO3``."""
    return _LABELS[rotation]


@dataclass(frozen=True)
class Projection:
    """One projected file: ``dataset``, ``grid``, ``split``, ``rotation``, ``copies``."""

    dataset: str
    grid: str
    split: str
    rotation: str
    copies: int

    def __post_init__(self):
        if self.dataset not in NO_HIT_DISTANCE:
            raise ValueError(f"dataset {self.dataset!r} is not one of {sorted(NO_HIT_DISTANCE)}")
        if self.rotation not in ROTATIONS:
            raise ValueError(f"rotation {self.rotation!r} is not one of {ROTATIONS}")
        grid_sampling(self.grid)
        if int(self.copies) < 1:
            raise ValueError(f"copies must be >= 1, got {self.copies}")

    def seed(self, seed: int) -> int:
        """The file's projection seed: a function of the config seed, the dataset, the split
        and the rotation only, so that the grids (HEALPix, equiangular) see the same placed
        meshes and adding copies keeps the earlier ones."""
        return name_seed(seed, 12, f"{self.dataset}/{self.split}/{self.rotation}")

    @property
    def stem(self) -> str:
        return f"{self.split}_{self.rotation}_c{int(self.copies)}"

    def path(self, interim: str) -> str:
        return f"{interim}/{self.dataset}/projections/{self.grid}/{self.stem}.h5"

    def summary_path(self, interim: str) -> str:
        return f"{interim}/{self.dataset}/projections/{self.grid}/{self.stem}.json"

    def statistics_path(self, interim: str) -> str:
        """The statistics of this (training) file."""
        return (f"{interim}/{self.dataset}/projections/{self.grid}/"
                f"statistics_{self.rotation}_c{int(self.copies)}.json")
