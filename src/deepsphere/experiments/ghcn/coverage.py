"""The coverage rule: which stations a task keeps, and how the gaps they still have are treated.

A station is kept for a set of elements (``TMIN, TMAX`` for the temperature tasks, ``PRCP``
for the precipitation task) when, over every day of the configured years and for each of
those elements:

- it has a value on at least ``min_fraction`` of the days (the original kept only complete
  stations, its "min set": ``min_fraction: 1``), and
- its longest run of missing days is at most ``max_gap_days``.

The kept stations define the graph (their positions file). The few gaps they may still have
are never read as zeros: :func:`fill_gaps` interpolates an *input* linearly in time between
the station's own neighbouring days (the nearest value at the ends of the period), and a
*target* that was missing stays NaN, so it gets zero weight in the loss and is left out of the
metrics (a masked loss; ``deepsphere.training.data.ArrayBatches(mask_missing=True)``).
"""

from __future__ import annotations

import numpy as np

from deepsphere.experiments.ghcn.arrays import StationArrays

__all__ = ["fill_gaps", "longest_gap", "select_stations", "station_set"]


def longest_gap(present: np.ndarray) -> np.ndarray:
    """``(S,)`` the longest run of False along the last axis of ``present`` ``(S, D)``."""
    present = np.asarray(present, bool)
    s, d = present.shape
    # positions of present days, with sentinels before the first and after the last day
    padded = np.concatenate([np.ones((s, 1), bool), present, np.ones((s, 1), bool)], axis=1)
    out = np.zeros(s, np.int64)
    for i in range(s):
        idx = np.flatnonzero(padded[i])
        out[i] = np.max(np.diff(idx)) - 1 if idx.size > 1 else d
    return out


def select_stations(arrays: StationArrays, elements, *, min_fraction: float,
                    max_gap_days: int) -> tuple[np.ndarray, dict]:
    """``(keep (S,) bool, report)``: the stations that satisfy the coverage rule for every
    element of ``elements``; the report counts the stations dropped by each criterion."""
    if not 0 < min_fraction <= 1:
        raise ValueError(f"min_fraction {min_fraction}: give a fraction in (0, 1]")
    n = len(arrays.station_ids)
    keep = np.ones(n, bool)
    report = {"stations_in": int(n), "min_fraction": float(min_fraction),
              "max_gap_days": int(max_gap_days)}
    for e in elements:
        present = np.isfinite(arrays.values[e])
        fraction = present.mean(axis=1) if present.shape[1] else np.zeros(n)
        low = fraction < min_fraction
        gap = longest_gap(present) > max_gap_days
        report[f"{e}_low_coverage"] = int(np.count_nonzero(low & keep))
        report[f"{e}_long_gap"] = int(np.count_nonzero(gap & ~low & keep))
        keep &= ~low & ~gap
    report["stations_kept"] = int(np.count_nonzero(keep))
    return keep, report


def station_set(arrays: StationArrays, stations, elements, *, min_fraction: float,
                max_gap_days: int, min_stations: int = 2) -> tuple[StationArrays, dict]:
    """The kept stations' arrays (``elements`` only) with their coordinates from the station
    list ``stations`` (``formats.read_stations``); a ValueError when fewer than
    ``min_stations`` remain, naming the rule's settings to relax."""
    keep, report = select_stations(arrays, elements, min_fraction=min_fraction,
                                   max_gap_days=max_gap_days)
    if report["stations_kept"] < min_stations:
        raise ValueError(
            f"the coverage rule keeps {report['stations_kept']} station(s) for {list(elements)} "
            f"(need {min_stations}): {report}. Lower ghcn.coverage.min_fraction or raise "
            "ghcn.coverage.max_gap_days, or add years")
    ids = arrays.station_ids[keep]
    table = stations.set_index("id")
    coords = {"lon_deg": table.loc[ids, "lon"].to_numpy(float),
              "lat_deg": table.loc[ids, "lat"].to_numpy(float),
              "elev_m": table.loc[ids, "elev"].to_numpy(float)}
    values = {e: arrays.values[e][keep] for e in elements}
    counts = {"coverage": report, "years": arrays.counts,
              "missing_values": {e: int(np.count_nonzero(~np.isfinite(v)))
                                 for e, v in values.items()}}
    return StationArrays(ids, arrays.dates, values, coords, counts), report


def fill_gaps(values: np.ndarray) -> np.ndarray:
    """``(S, D)`` with each station's NaNs interpolated linearly in time between its own
    values (the nearest value before the first or after the last); a station without any
    value stays NaN (the caller names it)."""
    out = np.array(values, dtype=np.float32, copy=True)
    days = np.arange(out.shape[1])
    for i in range(out.shape[0]):
        present = np.isfinite(out[i])
        if present.all():
            continue
        if not present.any():
            continue
        out[i, ~present] = np.interp(days[~present], days[present], out[i, present])
    return out
