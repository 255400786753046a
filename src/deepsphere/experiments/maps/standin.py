"""Stand-in maps for the demo and CI, written in the formats a user gives: FITS maps (half of
them RING, half NEST, so that both orderings are read), the CSV table and a FITS mask.

Each map is a Gaussian random field (``healpy.synfast``) with the power spectrum
``C_ell = A / (ell + 1)^2`` (ell <= 3 nside). Classification: two classes, ``A = 1`` and
``A = 2`` (the variance doubles: a network tells them apart); regression: ``log10 A`` uniform
in ``[-0.5, 0.5]``, the target ``log_amplitude``. With a mask, the maps are ``UNSEEN`` outside
it (the north of latitude -10 degrees).
"""

from __future__ import annotations

import json
import os
from pathlib import Path

import numpy as np

from deepsphere.io.atomic import install_staged, staging_directory
from deepsphere.training.seeds import derive_seed

__all__ = ["MASK_MIN_Z", "TABLE", "standin_mask_pixels", "write_standin"]

#: The stand-in mask observes the pixels whose centre has z > MASK_MIN_Z (latitude > -10 deg).
MASK_MIN_Z = float(np.sin(np.radians(-10.0)))
TABLE, MASK, MAPS = "maps.csv", "mask.fits", "maps"
_TAG = 13  # seeds of this experiment: derive_seed(seed, 13, ...)
_CLASSES = ("low", "high")


def standin_mask_pixels(nside: int) -> np.ndarray:
    """The NEST pixels the stand-in mask observes at ``nside`` (sorted). Without healpy: the
    workflow calls it while parsing, which every job on a cluster does again."""
    from deepsphere.geometry.sampling import healpix_nest_z

    return np.nonzero(healpix_nest_z(nside) > MASK_MIN_Z)[0]


def _spectrum(nside: int, amplitude: float) -> np.ndarray:
    ell = np.arange(3 * nside + 1)
    return amplitude / (ell + 1.0) ** 2


def write_standin(dest: str | os.PathLike, params: dict, seed: int) -> dict:
    """Write ``maps/map_XXX.fits``, ``maps.csv`` (columns ``file`` and ``label`` or
    ``log_amplitude``) and, with ``params["mask"]``, ``mask.fits`` into ``dest`` (all or
    nothing). Returns the record written to ``standin.json``: the parameters and, per file,
    the ordering it was written in."""
    import healpy as hp
    import pandas as pd

    nside, n_maps, task = int(params["nside"]), int(params["n_maps"]), params["task"]
    rng = np.random.default_rng(derive_seed(seed, _TAG, 0))
    if task == "classification":
        labels = np.array([_CLASSES[i % 2] for i in range(n_maps)])
        amplitudes = np.where(labels == "high", 2.0, 1.0)
    elif task == "regression":
        log_amplitudes = rng.uniform(-0.5, 0.5, n_maps)
        amplitudes = 10.0**log_amplitudes
    else:
        raise ValueError(f"maps.standin.task: got {task!r}; use classification or regression")
    observed = standin_mask_pixels(nside) if params["mask"] else None
    rows, orderings = [], {}
    state = np.random.get_state()  # noqa: NPY002 - synfast draws from numpy's global generator
    with staging_directory(Path(dest)) as tmp:
        (tmp / MAPS).mkdir()
        for i in range(n_maps):
            np.random.seed(derive_seed(seed, _TAG, 1, i))  # noqa: NPY002 - see above
            ring = hp.synfast(_spectrum(nside, amplitudes[i]), nside, new=True)
            nest = hp.reorder(ring, r2n=True)
            if observed is not None:
                outside = np.ones(nest.size, bool)
                outside[observed] = False
                nest[outside] = hp.UNSEEN
            as_nest = i % 2 == 1
            name = f"{MAPS}/map_{i:03d}.fits"
            hp.write_map(tmp / name, nest if as_nest else hp.reorder(nest, n2r=True),
                         nest=as_nest, dtype=np.float32)
            orderings[name] = "NEST" if as_nest else "RING"
            rows.append({"file": name.split("/", 1)[1],
                         **({"label": labels[i]} if task == "classification"
                            else {"log_amplitude": round(float(log_amplitudes[i]), 6)})})
        pd.DataFrame(rows).to_csv(tmp / TABLE, index=False)
        if observed is not None:
            mask = np.zeros(12 * nside**2, np.float32)
            mask[observed] = 1.0
            hp.write_map(tmp / MASK, hp.reorder(mask, n2r=True), nest=False, dtype=np.float32)
        record = {"params": dict(params), "seed": int(seed), "orderings": orderings}
        (tmp / "standin.json").write_text(json.dumps(record, indent=1))
        names = [MAPS, TABLE, *([MASK] if observed is not None else []), "standin.json"]
        install_staged(tmp, dest, names, remove=[MASK])
    np.random.set_state(state)  # noqa: NPY002 - the caller's global generator, untouched
    return record
