"""Raw files -> per-year arrays -> one station set per task (the rules' steps).

``parse_year``: ``{year}.csv.gz`` -> ``years/{year}.h5`` (TMIN, TMAX, PRCP of every listed
station that reported, :mod:`~deepsphere.experiments.ghcn.by_year`).
``make_station_set``: the years joined, the coverage rule applied for a set of elements
(:mod:`~deepsphere.experiments.ghcn.coverage`) -> ``sets/{name}.h5`` (the kept stations'
values and coordinates) and ``sets/{name}-positions.csv``, the positions file from which the
graph rule builds the task's graph. The two outputs are written together or not at all.
"""

from __future__ import annotations

import logging
import os
from collections.abc import Mapping, Sequence
from pathlib import Path

from deepsphere.experiments.ghcn.arrays import StationArrays, read_arrays, stack_years, write_arrays
from deepsphere.experiments.ghcn.by_year import read_by_year
from deepsphere.experiments.ghcn.coverage import station_set
from deepsphere.experiments.ghcn.formats import read_stations

log = logging.getLogger(__name__)

__all__ = ["ELEMENTS", "make_station_set", "parse_year"]

ELEMENTS = ("TMIN", "TMAX", "PRCP")


def parse_year(stations_path, csv_path, year: int, out_path, *, progress: bool = True) -> dict:
    """Parse one year into ``out_path``; returns the counts (rows read, kept, dropped)."""
    stations = read_stations(stations_path)
    data = read_by_year(csv_path, stations["id"].tolist(), int(year), ELEMENTS,
                        progress=progress)
    counts = {**data.counts, "stations_reporting": int(len(data.station_ids))}
    write_arrays(out_path, StationArrays(data.station_ids, data.dates, data.values,
                                         counts=counts), what=f"GHCN-Daily {year}")
    log.info("%s: %s", csv_path, counts)
    return counts


def make_station_set(stations_path, year_paths: Sequence[str | os.PathLike], elements,
                     coverage: Mapping, out_path, positions_path) -> dict:
    """Join the years, keep the stations the coverage rule admits for ``elements``, write the
    set and its positions file; returns the coverage report."""
    from deepsphere.geometry.positions import write_positions
    from deepsphere.io.atomic import atomic_path

    stations = read_stations(stations_path)
    years = [read_arrays(p, elements) for p in year_paths]
    joined = stack_years(years, stations["id"].tolist())
    kept, report = station_set(joined, stations, list(elements),
                               min_fraction=float(coverage["min_fraction"]),
                               max_gap_days=int(coverage["max_gap_days"]))
    log.info("station set %s: %s", list(elements), report)
    out_path, positions_path = Path(out_path), Path(positions_path)
    # the positions file last: a set without its positions (a crash between) is rebuilt
    with atomic_path(positions_path, suffix=".csv") as tmp:
        write_arrays(out_path, kept, what=f"GHCN-Daily stations for {list(elements)}")
        write_positions(tmp, kept.coords["lon_deg"], kept.coords["lat_deg"],
                        ids=list(kept.station_ids))
    return report
