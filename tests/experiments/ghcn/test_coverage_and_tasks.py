"""The coverage rule and the three tasks of Table 8, on arrays small enough to work by hand.

References: gap lengths and coverage fractions counted by hand; linear interpolation worked by
hand; the closed form (1 - cos(2 pi d / L)) / 2 at days where cos is known exactly; and, for
the dense task, values that encode (element, station, day), so that every sample's inputs and
target can be decoded and compared with the days they must come from.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from deepsphere.experiments.ghcn.arrays import StationArrays
from deepsphere.experiments.ghcn.coverage import (
    fill_gaps,
    longest_gap,
    select_stations,
    station_set,
)
from deepsphere.experiments.ghcn.tasks import (
    TASKS,
    build_task,
    day_target,
    split_ranges,
)

T, F = True, False


def test_longest_gap_by_hand():
    present = np.array([[T, T, T, T, T, T],   # no gap
                        [F, F, T, T, T, T],   # 2 at the start
                        [T, T, T, F, F, F],   # 3 at the end
                        [T, F, F, T, F, T],   # two gaps, 2 and 1
                        [F, F, F, F, F, F]])  # all missing
    np.testing.assert_array_equal(longest_gap(present), [0, 2, 3, 2, 6])


# ----------------------------------------------------------------------------- coverage rule
IDS = np.array(["AAA00000000", "BBB00000001", "CCC00000002", "DDD00000003"])
N_DAYS = 20


def _coverage_arrays():
    """s0 complete; s1 lacks TMAX on days 3 and 10 (90 %, gap 1); s2 lacks TMIN on days 5-8
    (80 %, gap 4); s3 lacks TMAX on days 12-14 (85 %, gap 3)."""
    tmax = np.arange(4 * N_DAYS, dtype=np.float32).reshape(4, N_DAYS)
    tmin = tmax - 10
    tmax[1, [3, 10]] = np.nan
    tmin[2, 5:9] = np.nan
    tmax[3, 12:15] = np.nan
    dates = np.arange(np.datetime64("2012-01-01"), np.datetime64("2012-01-21"))
    return StationArrays(IDS, dates, {"TMAX": tmax, "TMIN": tmin, "PRCP": tmax * 0 + 1},
                         counts={"2012": {"rows": 1}})


@pytest.mark.parametrize("min_fraction,max_gap,kept,report", [
    (0.75, 5, [0, 1, 2, 3], {}),
    (0.875, 5, [0, 1], {"TMAX_low_coverage": 1, "TMIN_low_coverage": 1}),
    (0.75, 2, [0, 1], {"TMAX_long_gap": 1, "TMIN_long_gap": 1}),
    (0.75, 0, [0], {"TMAX_long_gap": 2, "TMIN_long_gap": 1}),
    (0.95, 0, [0], {"TMAX_low_coverage": 2, "TMIN_low_coverage": 1}),
    (0.84, 2, [0, 1], {"TMAX_long_gap": 1, "TMIN_low_coverage": 1}),
])
def test_select_stations_by_hand(min_fraction, max_gap, kept, report):
    keep, rep = select_stations(_coverage_arrays(), ["TMAX", "TMIN"],
                                min_fraction=min_fraction, max_gap_days=max_gap)
    np.testing.assert_array_equal(np.flatnonzero(keep), kept)
    counts = {f"{e}_{why}": 0 for e in ("TMAX", "TMIN") for why in ("low_coverage", "long_gap")}
    counts.update(report)
    assert {k: rep[k] for k in counts} == counts
    assert rep["stations_in"] == 4 and rep["stations_kept"] == len(kept)


def _stations():
    """The station list, in another order than the arrays and with a station they lack."""
    return pd.DataFrame({"id": ["DDD00000003", "ZZZ00000009", "BBB00000001", "AAA00000000",
                                "CCC00000002"],
                         "lat": [40.0, 0.0, 20.0, 10.0, 30.0],
                         "lon": [-4.0, 0.0, -2.0, -1.0, -3.0],
                         "elev": [400.0, 0.0, np.nan, 100.0, 300.0]})


def test_station_set_keeps_the_stations_their_coordinates_and_the_elements():
    arrays = _coverage_arrays()
    kept, report = station_set(arrays, _stations(), ["TMAX", "TMIN"], min_fraction=0.75,
                               max_gap_days=2)
    assert list(kept.station_ids) == ["AAA00000000", "BBB00000001"]
    np.testing.assert_array_equal(kept.coords["lat_deg"], [10.0, 20.0])
    np.testing.assert_array_equal(kept.coords["lon_deg"], [-1.0, -2.0])
    np.testing.assert_array_equal(kept.coords["elev_m"], [100.0, np.nan])
    assert sorted(kept.values) == ["TMAX", "TMIN"]  # PRCP is not this set's
    np.testing.assert_array_equal(kept.values["TMAX"], arrays.values["TMAX"][:2])
    assert kept.counts["missing_values"] == {"TMAX": 2, "TMIN": 0}  # s1's two days
    assert report["stations_kept"] == 2
    every = station_set(arrays, _stations(), ["TMAX", "TMIN"], min_fraction=0.75,
                        max_gap_days=5)[0]
    assert every.counts["missing_values"] == {"TMAX": 5, "TMIN": 4}


def test_too_few_stations_name_the_coverage_keys():
    with pytest.raises(ValueError, match=r"ghcn\.coverage\.min_fraction") as err:
        station_set(_coverage_arrays(), _stations(), ["TMAX", "TMIN"], min_fraction=0.75,
                    max_gap_days=0)
    assert "ghcn.coverage.max_gap_days" in str(err.value)
    assert "keeps 1 station" in str(err.value)


def test_fill_gaps_by_hand():
    nan = np.nan
    values = np.array([[nan, 2.0, nan, nan, 8.0, nan],     # ends: nearest; inside: linear
                       [1.0, 2.0, 3.0, 4.0, 5.0, 6.0],     # complete: unchanged
                       [nan, nan, nan, nan, nan, nan],     # nothing to fill from
                       [nan, nan, -3.0, nan, nan, 3.0]])
    out = fill_gaps(values)
    np.testing.assert_allclose(out[0], [2, 2, 4, 6, 8, 8])
    np.testing.assert_array_equal(out[1], values[1])
    assert np.isnan(out[2]).all()
    np.testing.assert_allclose(out[3], [-3, -3, -3, -1, 1, 3])
    assert np.isnan(values[0, 0])  # the input is not modified


# ----------------------------------------------------------------------------- splits and days
def test_split_ranges_by_hand():
    assert split_ranges(100, {"train": 0.7, "val": 0.2}) == {
        "train": (0, 70), "val": (70, 90), "test": (90, 100)}
    assert split_ranges(12, {"train": 0.5, "val": 0.25}) == {
        "train": (0, 6), "val": (6, 9), "test": (9, 12)}
    for n, fractions in ((100, {"train": 0.7, "val": 0.3}),   # no test days
                         (100, {"train": 0.0, "val": 0.5}),   # no training days
                         (3, {"train": 0.5, "val": 0.1})):    # 2, 2: no validation days
        with pytest.raises(ValueError, match=r"ghcn\.split .* empty split"):
            split_ranges(n, fractions)


def _year(year):
    return np.arange(np.datetime64(f"{year}-01-01"), np.datetime64(f"{year + 1}-01-01"))


@pytest.mark.parametrize("year,length", [(2011, 365), (2012, 366)])
def test_day_target_closed_form(year, length):
    y = day_target(_year(year)).astype(np.float64)
    assert len(y) == length
    assert y[0] == 0.0  # 1 January
    assert np.all(y[1:] > 0) and np.all(y <= 1)
    np.testing.assert_allclose(y[1:], y[1:][::-1], atol=1e-6)  # day d and day L - d
    if length % 2 == 0:
        assert y[length // 2] == pytest.approx(1.0)  # 2 July 2012: cos(pi) = -1
    else:  # days 182 and 183 straddle L / 2: (1 + cos(pi / L)) / 2
        assert y[182] == pytest.approx((1 + np.cos(np.pi / 365)) / 2, abs=1e-6)
        assert y[183] == pytest.approx(y[182], abs=1e-6)
    # 31 December: sin^2(pi / L), close to but above 0, and 1 January of the next year is 0
    assert y[-1] == pytest.approx(np.sin(np.pi / length) ** 2, rel=1e-4)
    assert 0 < y[-1] < 1e-4
    assert day_target(np.array([f"{year + 1}-01-01"], "datetime64[D]"))[0] == 0.0


def test_day_target_at_days_where_the_cosine_is_known():
    y = day_target(np.array(["2012-03-02", "2012-05-02", "2011-03-15"], "datetime64[D]"))
    # 2012, day 61 = 2 March (31 + 29 + 1): 2 pi 61 / 366 = pi / 3, cos = 1/2
    # 2012, day 122 = 2 May (31 + 29 + 31 + 30 + 1): 2 pi / 3, cos = -1/2
    # 2011, day 73 = 15 March (31 + 28 + 14): 2 pi / 5, cos = (sqrt(5) - 1) / 4
    np.testing.assert_allclose(y, [0.25, 0.75, (1 - (np.sqrt(5) - 1) / 4) / 2], atol=1e-6)


# ----------------------------------------------------------------------------- the dense task
S, D, WINDOW = 2, 32, 3
FRACTIONS = {"train": 0.5, "val": 0.25}  # days 0-15, 16-23, 24-31
RANGES = {"train": (0, 16), "val": (16, 24), "test": (24, 32)}
ELEMENTS = ("TMAX", "TMIN")  # the task's order: samples alternate TMAX, TMIN


def _code(e, s, d):
    """The value of element ``e`` (0 TMAX, 1 TMIN) at station ``s`` on day ``d``."""
    return 1000.0 * e + 100.0 * s + d


def _dense_arrays():
    e, s, d = np.meshgrid(np.arange(2), np.arange(S), np.arange(D), indexing="ij")
    grid = _code(e, s, d).astype(np.float32)
    values = {"TMAX": grid[0].copy(), "TMIN": grid[1].copy()}
    values["TMAX"][1, 20] = np.nan  # a missing target (and inputs of days 21-23)
    values["TMIN"][0, 16] = np.nan  # first day of validation: filled from day 17, not 15
    dates = np.arange(np.datetime64("2011-12-20"), np.datetime64("2011-12-20") + D)
    return StationArrays(np.array(["S0000000000", "S0000000001"]), dates, values)


def _raw_input(e, s, d):
    """What the input of day ``d`` must be once the gaps are filled within their split."""
    if (e, s, d) == (0, 1, 20):
        return _code(0, 1, 20)  # linear between days 19 and 21 of a linear series
    if (e, s, d) == (1, 0, 16):
        return _code(1, 0, 17)  # the nearest value of the validation period
    return _code(e, s, d)


@pytest.fixture(scope="module")
def dense():
    return build_task(TASKS["temperature"], _dense_arrays(), FRACTIONS, WINDOW)


def test_dense_standardisation_uses_the_training_period_only(dense):
    train = [_raw_input(e, s, t - WINDOW + j) for t in range(WINDOW, 16) for e in (0, 1)
             for s in range(S) for j in range(WINDOW)]
    assert len(train) == 13 * 2 * S * WINDOW
    mean, std = np.mean(train), np.std(train)
    np.testing.assert_allclose(dense.mean, [mean] * WINDOW, rtol=1e-6)
    np.testing.assert_allclose(dense.std, [std] * WINDOW, rtol=1e-6)
    assert dense.target_transform == pytest.approx((mean, std), rel=1e-6)
    every = [_raw_input(e, s, d) for e in (0, 1) for s in range(S) for d in range(D)]
    assert abs(np.mean(every) - mean) > 1  # a different number: the test period is not in it
    x, _ = dense.splits["train"]
    assert abs(float(x.mean())) < 1e-5 and float(x.std()) == pytest.approx(1, abs=1e-5)


@pytest.mark.parametrize("split", ["train", "val", "test"])
def test_dense_samples_are_the_window_before_the_target_day(dense, split):
    a, b = RANGES[split]
    x, y = dense.splits[split]
    days = dense.days[split]
    n = 2 * (b - a - WINDOW)  # one TMAX and one TMIN sample per target day
    assert x.shape == (n, S, WINDOW) and y.shape == (n, S)
    np.testing.assert_array_equal(days, np.repeat(np.arange(a + WINDOW, b), 2))
    assert days.min() - WINDOW >= a and days.max() < b  # no day of another split
    mean, std = dense.target_transform
    raw_x = x.astype(np.float64) * dense.std + dense.mean
    raw_y = y.astype(np.float64) * std + mean  # target_transform: back to the data's unit
    for i, t in enumerate(days):
        e = i % 2  # interleaved day by day: TMAX, then TMIN
        for s in range(S):
            want = [_raw_input(e, s, t - WINDOW + j) for j in range(WINDOW)]
            np.testing.assert_allclose(raw_x[i, s], want, atol=1e-3)
            if (e, s, t) == (0, 1, 20):
                assert np.isnan(y[i, s])  # a missing target stays missing (masked)
            else:
                assert raw_y[i, s] == pytest.approx(_code(e, s, t), abs=1e-3)  # day T, not T+-1


def test_dense_missing_target_is_the_only_nan(dense):
    assert sum(int(np.isnan(y).sum()) for _, y in dense.splits.values()) == 1
    assert not any(np.isnan(x).any() for x, _ in dense.splits.values())


def test_a_station_without_a_value_in_a_split_is_named():
    arrays = _dense_arrays()
    arrays.values["TMIN"][1, 24:] = np.nan  # nothing in the test period
    with pytest.raises(ValueError, match=r"S0000000001 has no TMIN value in the test period"):
        build_task(TASKS["temperature"], arrays, FRACTIONS, WINDOW)


def test_a_window_longer_than_a_split_is_refused():
    with pytest.raises(ValueError, match="window"):
        build_task(TASKS["temperature"], _dense_arrays(), FRACTIONS, 8)


# ----------------------------------------------------------------------------- the global tasks
@pytest.mark.parametrize("task,channels", [("day_from_precipitation", ("PRCP",)),
                                           ("day_from_temperature", ("TMAX", "TMIN"))])
def test_global_task_one_days_field_to_its_day_target(task, channels):
    rng = np.random.default_rng(1)
    n_st, n_days = 3, 40
    dates = np.arange(np.datetime64("2011-12-01"), np.datetime64("2011-12-01") + n_days)
    values = {e: rng.normal(10 * i, 1 + i, (n_st, n_days)).astype(np.float32)
              for i, e in enumerate(("TMAX", "TMIN", "PRCP"))}
    arrays = StationArrays(np.array([f"S{i:010d}" for i in range(n_st)]), dates, values)
    data = build_task(TASKS[task], arrays, {"train": 0.5, "val": 0.25}, window=5)
    assert data.target_transform is None
    ranges = {"train": (0, 20), "val": (20, 30), "test": (30, 40)}
    train = np.stack([values[e][:, :20] for e in channels], axis=-1)  # (S, days, C)
    mean, std = train.mean(axis=(0, 1)), train.std(axis=(0, 1))
    np.testing.assert_allclose(data.mean, mean, rtol=1e-5)
    np.testing.assert_allclose(data.std, std, rtol=1e-5)
    for split, (a, b) in ranges.items():
        x, y = data.splits[split]
        assert x.shape == (b - a, n_st, len(channels)) and y.shape == (b - a, 1)
        np.testing.assert_array_equal(data.days[split], np.arange(a, b))
        for c, e in enumerate(channels):
            np.testing.assert_allclose(x[:, :, c] * std[c] + mean[c], values[e][:, a:b].T,
                                       atol=1e-4)
        d = (dates[a:b] - dates[a:b].astype("datetime64[Y]")).astype(int)
        length = np.where(dates[a:b].astype("datetime64[Y]").astype(int) + 1970 == 2012,
                          366, 365)
        np.testing.assert_allclose(y[:, 0], (1 - np.cos(2 * np.pi * d / length)) / 2,
                                   atol=1e-6)
    # 1 January 2012 is day 31 of the period, in the test split: its target is 0
    assert data.splits["test"][1][1, 0] == 0.0
