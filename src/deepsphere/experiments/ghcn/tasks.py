"""The three tasks of Table 8, as samples: inputs ``(n, S, C)`` on the S kept stations.

- ``temperature`` (dense): each station's temperature on day T from days T-window..T-1. TMIN
  and TMAX make separate samples (as the original), interleaved day by day; inputs ``(n, S,
  window)``, targets ``(n, S)`` in °C, NaN where the station did not report (masked).
- ``day_from_temperature`` / ``day_from_precipitation`` (global): the day of the year, one
  period of a cosine, ``(1 - cos(2 pi d / L)) / 2`` with d = 0 on 1 January and L the year's
  length, from that day's field (``TMIN, TMAX`` or ``PRCP`` channels); inputs ``(n, S, C)``,
  targets ``(n, 1)``. The original divides by 367 whatever the year, so 31 December does not
  come back to 1 January's value; we use the year's own length, so the cycle closes.

Splits are chronological: the first ``train`` fraction of the days, then ``val``, then the
rest. A sample belongs to a split only if its target day *and every input day* are in it, so
no day is seen by two splits (the first ``window`` days of the validation and test periods
are inputs only). Gaps in the inputs are filled within each split from that split's own days
(:func:`~deepsphere.experiments.ghcn.coverage.fill_gaps`), never as zeros.

The original scored the dense task as ``labels_val[:-1]`` against ``res[1:]``: prediction and
truth one sample apart (and, with TMIN/TMAX interleaved and the validation set shuffled, of
unrelated days). Here the prediction for day T is scored against the truth of day T.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

import numpy as np

from deepsphere.experiments.ghcn.coverage import fill_gaps

__all__ = ["SPLITS", "TASKS", "TaskData", "Task", "build_task", "day_target", "split_ranges"]

SPLITS = ("train", "val", "test")


@dataclass(frozen=True)
class Task:
    """A task of Table 8: ``kind`` dense or global, the ``elements`` it reads (which also
    define its station set), and its label in the table."""

    name: str
    kind: str
    elements: tuple
    label: str


TASKS = {
    "temperature": Task("temperature", "dense", ("TMAX", "TMIN"), "temperature"),
    "day_from_temperature": Task("day_from_temperature", "global", ("TMAX", "TMIN"),
                                 "day (from temperature)"),
    "day_from_precipitation": Task("day_from_precipitation", "global", ("PRCP",),
                                   "day (from precipitation)"),
}


@dataclass
class TaskData:
    """Per split ``(x, y)``, the samples' target days, and the standardisation: inputs are
    ``(x - mean) / std`` per channel; ``target_transform`` maps the model's output back to
    the data's unit (dense: °C), or None."""

    splits: dict
    days: dict
    mean: np.ndarray
    std: np.ndarray
    target_transform: tuple | None


def day_target(dates: np.ndarray) -> np.ndarray:
    """``(D,)`` float32 ``(1 - cos(2 pi d / L)) / 2``, d the 0-based day of the year."""
    dates = np.asarray(dates, "datetime64[D]")
    years = dates.astype("datetime64[Y]")
    d = (dates - years.astype("datetime64[D]")).astype(np.int64)
    length = ((years + 1).astype("datetime64[D]") - years.astype("datetime64[D]")).astype(
        np.int64)
    return ((1 - np.cos(2 * np.pi * d / length)) / 2).astype(np.float32)


def split_ranges(n_days: int, fractions: Mapping[str, float]) -> dict[str, tuple[int, int]]:
    """``{split: (first day, end day)}``, chronological: train, val, then test (the rest)."""
    a = int(round(fractions["train"] * n_days))
    b = int(round((fractions["train"] + fractions["val"]) * n_days))
    if not 0 < a < b < n_days:
        raise ValueError(f"ghcn.split {dict(fractions)} on {n_days} days leaves an empty split; "
                         "give train + val < 1 and enough days")
    return {"train": (0, a), "val": (a, b), "test": (b, n_days)}


def _filled(values: np.ndarray, ids, start: int, end: int, split: str, element: str):
    x = fill_gaps(values[:, start:end])
    empty = ~np.isfinite(x).all(axis=1)
    if empty.any():
        raise ValueError(f"station {ids[np.flatnonzero(empty)[0]]} has no {element} value in "
                         f"the {split} period: tighten ghcn.coverage (min_fraction, "
                         "max_gap_days) so every kept station reports in every split")
    return x


def build_task(task: Task, arrays, fractions: Mapping[str, float], window: int) -> TaskData:
    """The samples of ``task`` on a station set (``arrays.StationArrays`` holding the task's
    elements), split chronologically and standardised with the training split."""
    n_days = len(arrays.dates)
    ranges = split_ranges(n_days, fractions)
    elements = list(task.elements)
    splits, days = {}, {}
    for split, (a, b) in ranges.items():
        filled = {e: _filled(arrays.values[e], arrays.station_ids, a, b, split, e)
                  for e in elements}
        if task.kind == "dense":
            if b - a <= window:
                raise ValueError(f"the {split} period has {b - a} days, not more than the "
                                 f"window ({window}): give more years or larger splits")
            targets = np.arange(a + window, b)
            xs, ys, ds = [], [], []
            for t in targets:
                for e in elements:  # one sample per element, interleaved day by day
                    xs.append(filled[e][:, t - a - window:t - a].T)
                    ys.append(arrays.values[e][:, t])  # NaN: missing target, masked
                    ds.append(t)
            x = np.stack(xs).transpose(0, 2, 1)  # (n, S, window)
            y = np.stack(ys).astype(np.float32)
            splits[split], days[split] = (x.astype(np.float32), y), np.asarray(ds)
        else:
            x = np.stack([filled[e] for e in elements], axis=-1).transpose(1, 0, 2)  # (n, S, C)
            y = day_target(arrays.dates[a:b])[:, None]
            splits[split], days[split] = (x.astype(np.float32), y), np.arange(a, b)
    x_train = splits["train"][0]
    if task.kind == "dense":  # TMIN and TMAX share one unit: one standardisation for both
        mean = np.full(x_train.shape[-1], x_train.mean(), np.float32)
        std = np.full(x_train.shape[-1], x_train.std(), np.float32)
        transform = (float(mean[0]), float(std[0]))
    else:
        mean = x_train.mean(axis=(0, 1)).astype(np.float32)
        std = x_train.std(axis=(0, 1)).astype(np.float32)
        transform = None
    if np.any(std <= 0):
        raise ValueError(f"task {task.name}: an input channel is constant over the training "
                         "period; nothing can be learned from it")
    out = {}
    for split, (x, y) in splits.items():
        x = (x - mean) / std
        if transform is not None:
            y = (y - transform[0]) / transform[1]
        out[split] = (x.astype(np.float32), y.astype(np.float32))
    return TaskData(out, days, mean, std, transform)
