"""The two GHCN-Daily file formats: the station list and the by_year CSV (NOAA's readme.txt).

``ghcnd-stations.txt``, fixed width, 1-based columns::

    ID 1-11   LAT 13-20   LON 22-30   ELEV 32-37   STATE 39-40   NAME 42-71
    GSN FLAG 73-75   HCN/CRN FLAG 77-79   WMO ID 81-85

LAT/LON in decimal degrees, ELEV in metres (-999.9: unknown). Trailing fields may be blank and
lines may be shorter than 85 characters (trailing spaces stripped).

``by_year/{YYYY}.csv.gz``, no header, one observation per line::

    ID,YYYYMMDD,ELEMENT,DATA VALUE,M-FLAG,Q-FLAG,S-FLAG,OBS-TIME

e.g. ``USW00094728,20100101,TMAX,44,,,X,2400``. TMIN/TMAX are in tenths of a degree C, PRCP in
tenths of a mm; -9999 is a missing value. A non-empty Q-FLAG means the value failed a quality
check. This module reads the station list and writes both formats (the stand-in data and the
benchmark's file); the by_year reader is :mod:`deepsphere.experiments.ghcn.by_year`.
"""

from __future__ import annotations

import os
from pathlib import Path

import numpy as np

__all__ = ["STATION_FIELDS", "format_station_line", "read_stations", "write_stations"]

#: (name, first column, last column), 1-based inclusive, as NOAA's readme.
STATION_FIELDS = (("id", 1, 11), ("lat", 13, 20), ("lon", 22, 30), ("elev", 32, 37),
                  ("state", 39, 40), ("name", 42, 71), ("gsn", 73, 75), ("hcn_crn", 77, 79),
                  ("wmo", 81, 85))
_MIN_LENGTH = 37  # up to ELEV: every station has an id, coordinates and an elevation


def format_station_line(id: str, lat: float, lon: float, elev: float, state: str = "",
                        name: str = "", gsn: str = "", hcn_crn: str = "", wmo: str = "") -> str:
    """One line of ``ghcnd-stations.txt`` (no newline), in NOAA's column layout."""
    if len(id) != 11:
        raise ValueError(f"station id {id!r}: GHCN ids have 11 characters")
    line = (f"{id:<11} {lat:8.4f} {lon:9.4f} {elev:6.1f} {state:<2.2} {name:<30.30} "
            f"{gsn:<3.3} {hcn_crn:<3.3} {wmo:<5.5}")
    return line.rstrip()


def write_stations(path: str | os.PathLike, stations) -> Path:
    """Write a station list (atomically). ``stations``: a mapping or frame with the columns
    ``id, lat, lon, elev`` and optionally ``state, name, gsn, hcn_crn, wmo``."""
    from deepsphere.io.atomic import atomic_write_text

    cols = {k: list(stations[k]) for k, _, _ in STATION_FIELDS if k in stations}
    n = len(cols["id"])
    lines = [format_station_line(**{k: v[i] for k, v in cols.items()}) for i in range(n)]
    return atomic_write_text(path, "\n".join(lines) + "\n")


def read_stations(path: str | os.PathLike):
    """The station list as a ``pandas.DataFrame`` (one row per station, file order): ``id``
    (str), ``lat``, ``lon``, ``elev`` (float64; unknown elevation -999.9 becomes NaN),
    ``state``, ``name``, ``gsn``, ``hcn_crn``, ``wmo`` (str, stripped).

    A short line, a non-numeric coordinate, a coordinate off the sphere or a repeated id is a
    ValueError naming the file and the line number.
    """
    import pandas as pd

    path = Path(path)
    text = path.read_text(encoding="latin-1")  # NOAA's names hold a few non-ASCII bytes
    rows = {k: [] for k, _, _ in STATION_FIELDS}
    seen: dict[str, int] = {}
    for number, line in enumerate(text.splitlines(), 1):
        if not line.strip():
            continue
        where = f"{path}: line {number}"
        if len(line) < _MIN_LENGTH:
            raise ValueError(f"{where}: {len(line)} characters, a station line has at least "
                             f"{_MIN_LENGTH} (ID, LAT, LON, ELEV): is this ghcnd-stations.txt?")
        fields = {k: line[a - 1:b].strip() for k, a, b in STATION_FIELDS}
        try:
            lat, lon, elev = (float(fields[k]) for k in ("lat", "lon", "elev"))
        except ValueError:
            raise ValueError(f"{where}: LAT/LON/ELEV ({fields['lat']!r}, {fields['lon']!r}, "
                             f"{fields['elev']!r}) are not numbers in columns 13-20, 22-30, "
                             "32-37") from None
        if not (-90 <= lat <= 90 and -180 <= lon <= 360):
            raise ValueError(f"{where}: LAT {lat} / LON {lon} is not on the sphere")
        if len(fields["id"]) != 11:
            raise ValueError(f"{where}: station id {fields['id']!r} is not 11 characters")
        if fields["id"] in seen:
            raise ValueError(f"{where}: station {fields['id']} already listed at line "
                             f"{seen[fields['id']]}")
        seen[fields["id"]] = number
        fields.update(lat=lat, lon=lon, elev=np.nan if elev <= -999 else elev)
        for k in rows:
            rows[k].append(fields[k])
    if not rows["id"]:
        raise ValueError(f"{path}: no station lines")
    return pd.DataFrame(rows)
