"""Positions files: the vertices of a data-defined graph (e.g. the weather stations kept after
parsing GHCN), written by one workflow rule and read by the graph rule.

Format: CSV with a header and the columns ``lon_deg`` and ``lat_deg`` (degrees; longitude in
[-360, 360], latitude in [-90, 90]), one row per vertex in vertex order; other columns (an id,
a name) are kept by the writer for the reader's convenience and ignored here.
"""

from __future__ import annotations

import hashlib
import os
from pathlib import Path

import numpy as np

from deepsphere.io.atomic import atomic_write_text

__all__ = ["positions_digest", "read_positions", "write_positions"]


def write_positions(path: str | os.PathLike, lon_deg, lat_deg, ids=None) -> Path:
    """Write a positions CSV (atomically): ``[id,]lon_deg,lat_deg`` rows in vertex order."""
    lon, lat = np.asarray(lon_deg, float), np.asarray(lat_deg, float)
    if lon.shape != lat.shape or lon.ndim != 1:
        raise ValueError(f"lon_deg {lon.shape} and lat_deg {lat.shape} must be equal 1-d arrays")
    head = "id,lon_deg,lat_deg" if ids is not None else "lon_deg,lat_deg"
    rows = [head]
    for i in range(lon.size):
        values = f"{float(lon[i])!r},{float(lat[i])!r}"
        rows.append(f"{ids[i]},{values}" if ids is not None else values)
    return atomic_write_text(path, "\n".join(rows) + "\n")


def read_positions(path: str | os.PathLike) -> tuple[np.ndarray, np.ndarray]:
    """``(lon_deg, lat_deg)`` float64 arrays of a positions CSV; a bad file names itself."""
    import pandas as pd

    path = Path(path)
    if not path.is_file():
        raise FileNotFoundError(
            f"positions file {path} does not exist: the rule that writes it must run first"
        )
    frame = pd.read_csv(path)
    missing = {"lon_deg", "lat_deg"} - set(frame.columns)
    if missing:
        raise ValueError(f"{path}: missing column(s) {sorted(missing)}; the header needs "
                         "lon_deg and lat_deg")
    lon = frame["lon_deg"].to_numpy(float)
    lat = frame["lat_deg"].to_numpy(float)
    bad = ~np.isfinite(lon) | ~np.isfinite(lat) | (np.abs(lat) > 90) | (np.abs(lon) > 360)
    if bad.any():
        row = int(np.flatnonzero(bad)[0])
        raise ValueError(f"{path}: {int(bad.sum())} row(s) with missing or out-of-range "
                         f"positions, first at data row {row + 1} "
                         f"(lon {lon[row]}, lat {lat[row]})")
    if lon.size < 2:
        raise ValueError(f"{path}: {lon.size} position(s); a graph needs at least 2 vertices")
    return lon, lat


def positions_digest(path: str | os.PathLike) -> str:
    """SHA-256 (first 12 hex digits) of the positions, recorded in the built graph."""
    lon, lat = read_positions(path)
    return hashlib.sha256(np.stack([lon, lat]).tobytes()).hexdigest()[:12]
