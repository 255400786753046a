"""The GHCN-Daily stand-in: real formats, flags and gaps, determinism, atomicity, and the
physics the experiment relies on (seasons, lapse-free hemispheric contrast, advected weather,
seasonal rain coherence with season-independent rain probability).

The files are read back with independent readers (the station reader of ``formats`` and plain
``pandas.read_csv``), never with the project's by_year reader.
"""

from __future__ import annotations

import gzip
import json
import re

import numpy as np
import pandas as pd
import pytest

from deepsphere.experiments.ghcn import standin
from deepsphere.experiments.ghcn.formats import read_stations
from deepsphere.experiments.ghcn.standin import write_standin

NAMES = ["id", "date", "element", "value", "mflag", "qflag", "sflag", "obstime"]
YEARS = (2011, 2012)
N_STATIONS = 120
SEED = 0
QFLAG_FRACTION = 0.003
MISSING_FRACTION = 0.002
ELEMENTS = {"TMAX", "TMIN", "PRCP", "SNOW", "SNWD", "TAVG"}
LINE = re.compile(
    r"(?P<id>[A-Z]{2}[0-9A-Z][0-9]{8}),(?P<date>(?:19|20)\d{2}(?:0[1-9]|1[0-2])"
    r"(?:0[1-9]|[12]\d|3[01])),(?P<element>[A-Z]{4}),(?P<value>-?\d{1,5}),(?P<mflag>[A-Z]?),"
    r"(?P<qflag>[DGIKLMNORSTWXZ]?),(?P<sflag>[0-9A-Za-z]?),(?P<obstime>(?:[01]\d|2[0-4])[0-5]\d|)"
)
T_RECORDS = (-700, 570)  # tenths of degC, beyond the world's records (-89 / 57 degC) +- slack


def _write(path, seed=SEED, **kwargs):
    return write_standin(path, years=YEARS, n_stations=N_STATIONS, seed=seed,
                         qflag_fraction=QFLAG_FRACTION, missing_fraction=MISSING_FRACTION,
                         progress=False, **kwargs)


def _read(path):
    frames = [pd.read_csv(path / f"{y}.csv.gz", header=None, names=NAMES, dtype=str,
                          keep_default_na=False) for y in YEARS]
    df = pd.concat(frames, ignore_index=True)
    df["v"] = df["value"].astype(np.int64)
    df["day"] = pd.to_datetime(df["date"], format="%Y%m%d")
    return df


@pytest.fixture(scope="module")
def written(tmp_path_factory):
    path = tmp_path_factory.mktemp("ghcn")
    record = _write(path)
    return path, record, read_stations(path / standin.STATIONS_FILE), _read(path)


def _clean(df, element):
    """``(days, stations)`` float frame of one element, flagged and -9999 rows dropped."""
    ok = df[(df["element"] == element) & (df["qflag"] == "") & (df["v"] != -9999)]
    return ok.pivot(index="day", columns="id", values="v").astype(float)


def _angles(stations, ids):
    s = stations.set_index("id").loc[list(ids)]
    lat, lon = np.radians(s["lat"].to_numpy()), np.radians(s["lon"].to_numpy())
    xyz = np.stack([np.cos(lat) * np.cos(lon), np.cos(lat) * np.sin(lon), np.sin(lat)], 1)
    ang = np.degrees(np.arccos(np.clip(xyz @ xyz.T, -1, 1)))
    np.fill_diagonal(ang, np.inf)
    return s, ang


def _lagged_corr(anom, neighbours):
    """corr(anomaly of station i on day t + 1, mean anomaly of ``neighbours[i]`` on day t)."""
    x, y = [], []
    for i, nb in neighbours.items():
        x.append(anom[1:, i])
        y.append(anom[:-1][:, nb].mean(axis=1))  # NaN where any neighbour lacks the day
    x, y = np.concatenate(x), np.concatenate(y)
    ok = np.isfinite(x) & np.isfinite(y)
    assert ok.sum() > 5000
    return np.corrcoef(x[ok], y[ok])[0, 1]


# --- format -------------------------------------------------------------------------------


def test_every_line_matches_the_by_year_format(written):
    path, *_ = written
    for year in YEARS:
        raw = (path / f"{year}.csv.gz").read_bytes()
        assert raw[:3] == b"\x1f\x8b\x08" and raw[3] & 0x08 == 0  # gzip, no file name
        assert raw[4:8] == b"\0\0\0\0"  # mtime 0
        lines = gzip.decompress(raw).decode("ascii").split("\n")
        assert lines[-1] == "" and len(lines) > 10000
        bad = [ln for ln in lines[:-1] if not LINE.fullmatch(ln)]
        assert not bad, bad[:5]
        assert all(ln.count(",") == 7 for ln in lines[:-1])
        dates = [ln[12:20] for ln in lines[:-1]]
        assert dates == sorted(dates) and {d[:4] for d in dates} == {str(year)}


def test_station_list_parses_and_lists_every_station(written):
    path, record, stations, df = written
    assert len(stations) == N_STATIONS == record["stations"]["n"]
    assert stations["id"].is_unique
    assert stations["id"].str.fullmatch(r"[A-Z]{2}[0-9A-Z][0-9]{8}").all()
    assert set(df["id"]) <= set(stations["id"])
    assert len(set(df["id"])) >= 0.95 * N_STATIONS
    elev = stations["elev"].dropna()
    assert elev.between(0, 3000).all() and elev.max() > 1000 and elev.std() > 200
    us = stations[stations["id"].str.startswith("US")]
    assert len(us) > 10 and (us["state"].str.len() == 2).all()
    assert (stations.loc[~stations["id"].str.startswith("US"), "state"] == "").all()
    assert stations["id"].str.startswith("AS").any()


def test_stations_are_clustered_on_the_continents(written):
    _, _, st, _ = written
    lat, lon = st["lat"], st["lon"]
    north_america = ((lat > 20) & (lat < 70) & (lon > -140) & (lon < -50)).sum()
    europe = ((lat > 35) & (lat < 70) & (lon > -15) & (lon < 40)).sum()
    south = (lat < 0).sum()
    assert north_america > 0.25 * N_STATIONS and europe > 0.12 * N_STATIONS
    assert 0.05 * N_STATIONS < south < 0.4 * N_STATIONS
    # not uniform on the sphere: a uniform draw puts ~30 % of the points over the Pacific
    pacific = ((lon > 160) | (lon < -130)) & (lat.abs() < 50)
    assert pacific.sum() < 0.03 * N_STATIONS


# --- content and flags --------------------------------------------------------------------


def test_elements_gaps_and_prcp_only_stations(written):
    _, record, _, df = written
    counts = df["element"].value_counts()
    assert set(counts.index) == ELEMENTS
    for other in ("SNOW", "SNWD", "TAVG"):
        assert 0 < counts[other] < 0.5 * counts["TMAX"]
    assert counts["PRCP"] > counts["TMAX"] == counts["TMIN"]
    assert {e: int(counts[e]) for e in ELEMENTS} == record["rows"]
    reports = df.groupby("id")["element"].agg(set)
    assert (reports == {"PRCP"}).sum() >= 3
    # long gaps: some station lacks every row for two weeks or more within its record
    longest = df[df["element"] == "PRCP"].groupby("id")["day"].agg(
        lambda d: np.diff(np.sort(d.unique())).max() / np.timedelta64(1, "D"))
    assert (longest > 14).sum() >= 2 and (longest == 1).mean() > 0.8


def test_leap_year_has_366_dates(written):
    _, record, _, df = written
    per_year = df.groupby(df["day"].dt.year)["day"].nunique()
    assert per_year[2011] == 365 and per_year[2012] == 366
    assert record["per_year"]["2012"]["dates"] == 366
    assert (df["date"] == "20120229").any()


def test_quality_flags_mark_the_implausible_values(written):
    _, record, _, df = written
    flagged = df["qflag"] != ""
    assert 0.6 * QFLAG_FRACTION < flagged.mean() < 1.5 * QFLAG_FRACTION
    assert flagged.sum() == record["qflag_rows"]
    temp = df["element"].isin(["TMAX", "TMIN", "TAVG"]) & (df["v"] != -9999)
    outside = (df["v"] < T_RECORDS[0]) | (df["v"] > T_RECORDS[1])
    assert (outside[temp] == flagged[temp]).all()  # exactly the flagged ones are outliers
    prcp = (df["element"] == "PRCP") & (df["v"] != -9999)
    assert df.loc[prcp & flagged, "v"].min() > df.loc[prcp & ~flagged, "v"].max()
    assert df.loc[prcp & ~flagged, "v"].min() == 0
    assert df.loc[prcp & ~flagged, "v"].max() < 2000  # < 200 mm a day
    assert set(df.loc[flagged, "qflag"]) <= set("DGIKLMNORSTWXZ")
    assert df.loc[flagged, "qflag"].nunique() > 5


def test_missing_values_and_other_flags(written):
    _, record, _, df = written
    missing = df["v"] == -9999
    assert 0.4 * MISSING_FRACTION < missing.mean() < 2 * MISSING_FRACTION
    assert missing.sum() == record["missing_values"]
    assert (df.loc[missing, "qflag"] == "").all()
    trace = df["mflag"] == "T"
    assert trace.sum() > 100 and (df.loc[trace, "element"] == "PRCP").all()
    assert (df.loc[trace, "v"] == 0).all()
    assert (df["mflag"] == "P").any() and (df["mflag"] == "").mean() > 0.9
    assert df["sflag"].nunique() >= 4 and (df["sflag"] != "").all()
    obstime = df["obstime"]
    assert 0.05 < (obstime != "").mean() < 0.9 and "0700" in set(obstime)
    assert (obstime[df["element"] == "TAVG"] == "").all()


def test_record_is_json(written):
    _, record, _, _ = written
    assert json.loads(json.dumps(record)) == record
    assert record["files"] == [standin.STATIONS_FILE, *(f"{y}.csv.gz" for y in YEARS)]
    assert record["parameters"]["qflag_fraction"] == QFLAG_FRACTION


# --- determinism and atomicity ------------------------------------------------------------


def test_same_seed_same_bytes_other_seed_other_bytes(written, tmp_path):
    path, *_ = written
    _write(tmp_path / "same")
    _write(tmp_path / "other", seed=SEED + 1)
    for name in (standin.STATIONS_FILE, *(f"{y}.csv.gz" for y in YEARS)):
        assert (tmp_path / "same" / name).read_bytes() == (path / name).read_bytes()
        assert (tmp_path / "other" / name).read_bytes() != (path / name).read_bytes()


def test_a_crash_leaves_no_partial_file(tmp_path, monkeypatch):
    real = standin._year_text
    calls = []

    def crash_on_second_year(*args):
        calls.append(1)
        if len(calls) == 2:
            raise RuntimeError("boom")
        return real(*args)

    monkeypatch.setattr(standin, "_year_text", crash_on_second_year)
    with pytest.raises(RuntimeError, match="boom"):
        _write(tmp_path)
    names = sorted(p.name for p in tmp_path.iterdir())
    assert names == [f"{YEARS[0]}.csv.gz", standin.STATIONS_FILE]  # no temp file, no 2nd year
    gzip.decompress((tmp_path / f"{YEARS[0]}.csv.gz").read_bytes())  # complete


def test_bad_arguments_raise(tmp_path):
    with pytest.raises(ValueError):
        write_standin(tmp_path, years=(), progress=False)
    with pytest.raises(ValueError):
        write_standin(tmp_path, qflag_fraction=-0.1, progress=False)
    assert not any(tmp_path.iterdir())


# --- physics ------------------------------------------------------------------------------


def test_seasons_follow_the_hemisphere_and_latitude(written):
    _, _, stations, df = written
    tmax = _clean(df, "TMAX") / 10
    s = stations.set_index("id").loc[tmax.columns]
    month = tmax.index.month
    jan, jul = tmax[month == 1].mean(), tmax[month == 7].mean()
    lat = s["lat"]
    assert ((jan - jul)[lat > 20] < 0).all() and ((jan - jul)[lat < -20] > 0).all()
    assert np.corrcoef(lat.abs(), (jan - jul).abs())[0, 1] > 0.6  # amplitude grows with |lat|
    # at equal |lat| (5-degree bands), lapse-corrected (standard 6.5 degC/km), the south is
    # warmer in January and colder in July
    sea_level = 6.5 * s["elev"].fillna(0) / 1000
    compared = 0
    for band in range(15, 50, 5):
        north = (lat >= band) & (lat < band + 5)
        south = (-lat >= band) & (-lat < band + 5)
        if north.any() and south.any():
            compared += 1
            for month_mean, sign in ((jan, 1), (jul, -1)):
                t = month_mean + sea_level
                assert sign * (t[south].mean() - t[north].mean()) > 8
    assert compared >= 2
    tmin = _clean(df, "TMIN") / 10
    diurnal = (tmax - tmin).mean()
    assert diurnal.between(5, 13).all() and diurnal.std() > 1


def test_weather_moves_eastwards_between_neighbours(written):
    _, _, stations, df = written
    tmax = _clean(df, "TMAX") / 10
    anom = (tmax - tmax.rolling(31, center=True, min_periods=20).mean()).to_numpy()
    s, ang = _angles(stations, tmax.columns)
    lon = s["lon"].to_numpy()
    n = len(lon)
    near = {i: np.argsort(ang[i])[:4] for i in range(n)}
    far = {i: np.flatnonzero(np.isfinite(ang[i]) & (ang[i] > 45))[:4] for i in range(n)}
    far = {i: f for i, f in far.items() if len(f) == 4}
    r_near, r_far = _lagged_corr(anom, near), _lagged_corr(anom, far)
    assert r_near > 0.5 and abs(r_far) < 0.15
    # upwind (west) neighbours today predict tomorrow better than downwind (east) ones
    dlon = (lon[None, :] - lon[:, None] + 180) % 360 - 180
    west = {i: np.flatnonzero((dlon[i] < 0) & (ang[i] < 12)) for i in range(n)}
    east = {i: np.flatnonzero((dlon[i] > 0) & (ang[i] < 12)) for i in range(n)}
    both = [i for i in range(n) if len(west[i]) and len(east[i])]
    assert len(both) > 30
    r_west = _lagged_corr(anom, {i: west[i] for i in both})
    r_east = _lagged_corr(anom, {i: east[i] for i in both})
    assert r_west > r_east + 0.07, (r_west, r_east)
    # ... and better than the station's own anomaly today: the graph carries information
    r_self = _lagged_corr(anom, {i: np.array([i]) for i in both})
    assert r_west > r_self, (r_west, r_self)


def test_weather_systems_are_larger_in_winter(written):
    _, _, stations, df = written
    tmax = _clean(df, "TMAX") / 10
    anom = tmax - tmax.rolling(31, center=True, min_periods=20).mean()
    s, ang = _angles(stations, tmax.columns)
    north = (s["lat"] > 25).to_numpy()
    pairs = (ang > 10) & (ang < 25) & np.isfinite(ang)
    pairs &= north[:, None] & north[None, :]
    corr = {}
    for season, months in (("DJF", (12, 1, 2)), ("JJA", (6, 7, 8))):
        c = anom[anom.index.month.isin(months)].corr(min_periods=40).to_numpy()
        corr[season] = np.nanmean(c[pairs])
    assert corr["DJF"] > corr["JJA"] + 0.15, corr


def test_rain_coherence_is_seasonal_but_its_probability_is_not(written):
    _, _, stations, df = written
    prcp = _clean(df, "PRCP")
    rain = np.where(prcp.isna(), np.nan, (prcp > 0).to_numpy(float))
    s, ang = _angles(stations, prcp.columns)
    north = np.flatnonzero(s["lat"].to_numpy() > 25)
    nearest = np.argmin(ang, axis=1)[north]
    stats = {}
    for season, months in (("DJF", (12, 1, 2)), ("JJA", (6, 7, 8))):
        days = prcp.index.month.isin(months)
        own, nb = rain[days][:, north], rain[days][:, nearest]
        amounts = prcp.to_numpy()[days][:, north][own == 1]
        stats[season] = {
            "p": np.nanmean(own),
            "both": np.nansum(own * nb) / np.nansum(own * np.isfinite(nb)),
            "mean": amounts.mean(),
        }
    djf, jja = stats["DJF"], stats["JJA"]
    assert 0.1 < djf["p"] < 0.5 and abs(djf["p"] / jja["p"] - 1) < 0.3, stats
    assert abs(djf["mean"] / jja["mean"] - 1) < 0.2, stats
    assert djf["both"] > jja["both"] + 0.2, stats
    assert djf["both"] > 0.55 and jja["both"] < 0.55, stats


def test_the_seasonal_cycle_lags_the_solstice_by_a_station_dependent_smooth_delay(written):
    """The annual harmonic fitted to each northern mid-latitude station's TMAX peaks 15-50
    days after the 21 June solstice (day 171), the delays differ between stations (coasts lag
    more) and are alike between nearest neighbours (a smooth, geographic property)."""
    _, _, stations, df = written
    tmax = _clean(df, "TMAX")
    s = stations.set_index("id")
    ids = [i for i in tmax.columns
           if 30 <= s.loc[i, "lat"] <= 60 and tmax[i].notna().mean() > 0.9]
    doy = tmax.index.day_of_year.to_numpy() - 1
    basis = np.stack([np.ones_like(doy), np.cos(2 * np.pi * doy / 365.25),
                      np.sin(2 * np.pi * doy / 365.25)], 1).astype(float)
    lags = {}
    for i in ids:
        ok = tmax[i].notna().to_numpy()
        c = np.linalg.lstsq(basis[ok], tmax[i].to_numpy()[ok], rcond=None)[0]
        peak = np.degrees(np.arctan2(c[2], c[1])) / 360 * 365.25
        lags[i] = (peak - 171 + 182) % 365.25 - 182
    lag = np.array([lags[i] for i in ids])
    assert 10 < lag.min() and lag.max() < 60, (lag.min(), lag.max())
    assert lag.std() > 5  # station-dependent, not one delay for all
    _, ang = _angles(stations, ids)
    nearest = ang.argmin(axis=1)
    r = np.corrcoef(lag, lag[nearest])[0, 1]
    assert r > 0.4, (lag.std(), r)  # neighbours lag alike
