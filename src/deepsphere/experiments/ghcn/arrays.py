"""Station x day arrays on disk (HDF5): one file per parsed year, and one per station set.

A file holds ``station_ids`` (``(S,)`` 11-character ASCII), ``dates`` (``(D,)`` int32
YYYYMMDD), ``values/<ELEMENT>`` (``(S, D)`` float32 in °C or mm, NaN where missing, chunked
per station and lzf-compressed: most of a year's grid is empty) and, for station sets,
``lon_deg``, ``lat_deg``, ``elev_m`` (``(S,)`` float64). Attributes: ``counts`` (JSON) and
``what``. Files are written atomically.
"""

from __future__ import annotations

import json
import os
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

__all__ = ["StationArrays", "read_arrays", "stack_years", "write_arrays"]


@dataclass
class StationArrays:
    """``values``: ``{element: (S, D) float32}``; ``dates``: ``(D,)`` ``datetime64[D]``;
    ``station_ids``: ``(S,)`` str; ``coords``: ``{lon_deg, lat_deg, elev_m}`` or empty."""

    station_ids: np.ndarray
    dates: np.ndarray
    values: dict
    coords: dict = field(default_factory=dict)
    counts: dict = field(default_factory=dict)

    @property
    def elements(self) -> list[str]:
        return list(self.values)


def _yyyymmdd(dates: np.ndarray) -> np.ndarray:
    text = np.datetime_as_string(np.asarray(dates, "datetime64[D]"))
    return np.char.replace(text, "-", "").astype(np.int32)


def _dates(yyyymmdd: np.ndarray) -> np.ndarray:
    s = np.asarray(yyyymmdd).astype(str)
    return np.array([f"{d[:4]}-{d[4:6]}-{d[6:]}" for d in s], "datetime64[D]")


def write_arrays(path: str | os.PathLike, arrays: StationArrays, what: str = "") -> Path:
    """Write ``arrays`` to ``path`` (HDF5) atomically."""
    import h5py

    from deepsphere.io.atomic import atomic_path

    n_s, n_d = len(arrays.station_ids), len(arrays.dates)
    with atomic_path(path, suffix=".h5") as tmp, h5py.File(tmp, "w") as f:
        f.create_dataset("station_ids", data=np.asarray(arrays.station_ids, "S11"))
        f.create_dataset("dates", data=_yyyymmdd(arrays.dates))
        for e, v in arrays.values.items():
            if v.shape != (n_s, n_d):
                raise ValueError(f"values[{e}] has shape {v.shape}, expected ({n_s}, {n_d})")
            f.create_dataset(f"values/{e}", data=np.asarray(v, np.float32),
                             chunks=(1, n_d) if n_s else None, compression="lzf")
        for k, v in arrays.coords.items():
            f.create_dataset(k, data=np.asarray(v, np.float64))
        f.attrs["counts"] = json.dumps(arrays.counts)
        f.attrs["what"] = what
    return Path(path)


def read_arrays(path: str | os.PathLike, elements=None) -> StationArrays:
    """Read a file written by :func:`write_arrays` (all elements, or those named)."""
    import h5py

    path = Path(path)
    if not path.is_file():
        raise FileNotFoundError(f"{path}: no such file; the rule that writes it must run first")
    with h5py.File(path, "r") as f:
        have = list(f["values"])
        wanted = have if elements is None else list(elements)
        missing = sorted(set(wanted) - set(have))
        if missing:
            raise ValueError(f"{path}: no values for {missing} (it holds {have}); rerun the "
                             "rule that writes it with those elements")
        return StationArrays(
            station_ids=f["station_ids"][()].astype(str), dates=_dates(f["dates"][()]),
            values={e: f[f"values/{e}"][()] for e in wanted},
            coords={k: f[k][()] for k in ("lon_deg", "lat_deg", "elev_m") if k in f},
            counts=json.loads(f.attrs.get("counts", "{}")))


def stack_years(years: list[StationArrays], station_order) -> StationArrays:
    """Join consecutive years on the union of their stations, in ``station_order`` (the
    station list's ids); a station absent in a year is missing (NaN) for that year."""
    if not years:
        raise ValueError("no years to join")
    elements = years[0].elements
    for y in years[1:]:
        if y.elements != elements:
            raise ValueError(f"years hold different elements ({elements} vs {y.elements})")
    present = set().union(*(set(y.station_ids) for y in years))
    ids = np.array([s for s in station_order if s in present], dtype=str)
    row = {s: i for i, s in enumerate(ids)}
    dates = np.concatenate([y.dates for y in years])
    if np.any(np.diff(dates.astype(np.int64)) != 1):
        raise ValueError("the years do not make one run of consecutive days: give consecutive "
                         "years, each complete")
    values = {e: np.full((len(ids), len(dates)), np.nan, np.float32) for e in elements}
    start = 0
    for y in years:
        rows = np.array([row[s] for s in y.station_ids], dtype=np.int64)
        for e in elements:
            values[e][rows, start:start + len(y.dates)] = y.values[e]
        start += len(y.dates)
    counts = {str(y.dates[0].astype(object).year): y.counts for y in years}
    return StationArrays(ids, dates, values, counts=counts)
