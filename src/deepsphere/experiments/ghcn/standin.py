"""Stand-in GHCN-Daily data in the real on-disk formats (the real archive cannot be fetched here).

:func:`write_standin` writes ``ghcnd-stations.txt`` and one ``{YYYY}.csv.gz`` per year into
``out_dir`` (formats: :mod:`deepsphere.experiments.ghcn.formats`), rows ordered by date, then
station id, then element (as the real files), each file atomically; gzip without a name and
with ``mtime=0``, so the same seed gives the same bytes.

Stations (``n_stations``): Gaussian blobs on the continents, dense in North America and
Europe, medium in East Asia, sparse in South America, Africa and Australia; ids like
``USC00123456``, ``USW00012345``, ``FR000007650``, ``ASN00012345``; elevation 0-3000 m, a sum
of Gaussian mountain ranges plus noise (1 % unknown, -999.9: their temperature uses 0 m).

Temperature (TMAX, TMIN, tenths of degC), per station and day::

    T = 28 - 40 sin^2(lat) + 20 sin(lat) cos(2 pi (doy - 171 - lag) / 365.25)
        - 6.5 elev_km + weather + noise

    TMAX, TMIN = T +- DTR / 2 + N(0, 0.5),  DTR 6-12 per station + N(0, 0.7) per day

``lag``: 15 days after the solstice inland to 50 days on the coasts (stations at the edge
of their continent's cloud, two standard deviations out): in spring the interior is warmer
than its coastal neighbours, in autumn colder, which only neighbouring stations together show.

``weather``: a sum of Gaussian weather systems ``a sin(pi age / life) exp(-(1 - <x, c>) /
r^2)`` (|a| 4-10 degC, either sign, life 4-10 days, ~48 alive at a time) whose centres ``c``
drift eastwards by 8-15 degrees of longitude a day (about 1000 km at mid-latitudes) with a
little meridional wander. Their radius ``r`` is seasonal, 5 degrees at the local summer
solstice to 15 at the winter one (times 0.8-1.2): it follows the sun, while the temperature
lags it by 15 to 50 days. So a station's anomaly tomorrow is its western neighbours' anomaly
today, and the size of one day's weather systems tells the season.

Precipitation (PRCP, tenths of mm): a station rains where it lies inside a rain cell (a
spherical cap moving eastwards like the weather, alive 1-3 days). Cells are born at a rate
that keeps the expected covered fraction of each hemisphere at ``1 - exp(-n A) = p_rain``
(0.25) whatever the cell area ``A``: in a hemisphere's winter few large frontal cells
(radius 7 degrees, many neighbouring stations rain together), in its summer many small
convective ones (1.2 degrees, smaller than the station spacing: isolated rain). A station's
rain probability is the same in all seasons; amounts are exponential, mean 5 mm (0 with
M-FLAG ``T``, trace, and a few dry days too).

Other elements: SNOW and SNWD (mm; half of the US and Canadian stations; snow where it rains
below 0.5 degC, a melting snow pack) and TAVG (35 % of the other stations). 10 % of the
stations report only PRCP, 6 % have one or two gaps of 2-20 weeks without rows. Scattered
values are -9999 (``missing_fraction``); ``qflag_fraction`` of the rows carry a Q-FLAG with
an implausible value (|T| >= 70 degC, PRCP >= 300 mm, ...). S-FLAG per station, OBS-TIME
(``0700``...) for some stations, blank for the others and for TAVG.
"""

from __future__ import annotations

import gzip
import os
import sys
from pathlib import Path

import numpy as np

from deepsphere.experiments.ghcn.formats import write_stations
from deepsphere.io.atomic import atomic_write_bytes

__all__ = ["ELEMENTS", "MISSING", "QFLAGS", "STATIONS_FILE", "write_standin"]

STATIONS_FILE = "ghcnd-stations.txt"
ELEMENTS = ("TMAX", "TMIN", "PRCP", "SNOW", "SNWD", "TAVG")  # row order within a station-day
MISSING = -9999
QFLAGS = "DGIKLMNORSTWXZ"
DEFAULT_YEARS = (2010, 2011, 2012, 2013)
N_STATIONS = 300
MISSING_FRACTION = 0.002  # of the rows: value -9999
QFLAG_FRACTION = 0.003  # of the rows: a Q-FLAG and an implausible value
P_RAIN = 0.25

# (country codes, network characters, lat, lon, lat sd, lon sd, weight, S-FLAGs), degrees
_CLUSTERS = (
    (("US",), "CCCW", 39.0, -95.0, 5.5, 13.0, 0.34, "777HX0"),
    (("CA",), "0", 50.0, -100.0, 3.5, 15.0, 0.06, "CC"),
    (("FR", "GM", "UK", "SP", "IT", "PL", "SW"), "0E", 49.0, 10.0, 5.0, 10.0, 0.25, "EES"),
    (("CH", "JA", "KS"), "0M", 35.0, 115.0, 6.0, 12.0, 0.13, "SS0"),
    (("BR", "AR"), "0M", -20.0, -55.0, 9.0, 7.0, 0.07, "SS0"),
    (("SF", "KE", "NG", "CG"), "0M", 2.0, 22.0, 11.0, 10.0, 0.07, "SS"),
    (("AS",), "N", -29.0, 140.0, 6.0, 9.0, 0.08, "a"),
)
# mountain ranges: (lat, lon, lat sd, lon sd, height m)
_MOUNTAINS = ((40, -110, 6, 5, 2200), (37, -81, 4, 3, 700), (46.5, 10, 1.5, 3, 1800),
              (33, 92, 5, 12, 3000), (45, 105, 5, 10, 1300), (-20, -67, 10, 2.5, 3000),
              (3, 37, 8, 4, 1800), (-27, 26, 5, 6, 1300), (-30, 150, 8, 2, 600))
_OBS_TIMES = ("0700", "0700", "0800", "1700", "1800", "2400")
_SOLSTICE_DOY = 171  # 0-based day of the northern summer solstice (21 June)
# the seasonal cycle lags the solstice by 15 days inland to 50 days on the coasts (thermal
# inertia of the sea): in spring the interior is warmer than its coastal neighbours, in autumn
# colder, which only a comparison of neighbouring stations shows
_LAG_DAYS = (15.0, 50.0)
_LAPSE = 6.5  # degC per km
_NOISE = 0.5  # degC, independent per value
_T_ALIVE, _T_LIFE, _T_AMPLITUDE = 48, (4.0, 10.0), (4.0, 10.0)  # weather systems
_T_SPEED, _T_WANDER = (8.0, 15.0), 1.0  # degrees of longitude / latitude per day
_T_RADIUS = (5.0, 15.0)  # degrees, at the local summer / winter solstice
_R_RADIUS, _R_LIFE, _R_LAT = (1.2, 7.0), 3, 75.0  # rain cells, summer/winter; days; band
_PAD = 15  # days simulated before the first year (spin-up)
_GZIP_LEVEL = 6  # gzip's default: 9 is 3x slower for 2 % smaller files


def _unit(lat, lon) -> np.ndarray:
    la, lo = np.radians(lat), np.radians(lon)
    return np.stack([np.cos(la) * np.cos(lo), np.cos(la) * np.sin(lo), np.sin(la)], axis=-1)


def _winter(lat, doy):
    """+1 at a hemisphere's winter solstice, -1 at its summer solstice, ~0 at the equator.
    The size of weather systems follows the sun (the jet stream's strength), while the
    temperature lags it by a month (thermal inertia): so the spatial arrangement of one
    day's weather tells whether the season is warming or cooling, which a station's own
    temperature cannot."""
    return -np.tanh(np.asarray(lat) / 10.0) * np.cos(2 * np.pi * (doy - _SOLSTICE_DOY) / 365.25)


def _stations(rng: np.random.Generator, n: int) -> dict:
    """The station table (sorted by id): ``id, lat, lon, elev`` (m, -999.9 unknown), ``state,
    name, wmo`` (str) and ``cluster`` (int), ``sflag``, ``obstime`` (str)."""
    weights = np.array([c[6] for c in _CLUSTERS])
    cl = rng.choice(len(_CLUSTERS), n, p=weights / weights.sum())
    spec = [_CLUSTERS[c] for c in cl]
    lat = np.clip([rng.normal(s[2], s[4]) for s in spec], -45, 68)
    lon_raw = np.array([rng.normal(s[3], s[5]) for s in spec])
    lon = (lon_raw + 180) % 360 - 180
    # maritime-ness: stations at the edge of their continent's cloud are "coastal" (0 inland,
    # 1 at two standard deviations and beyond); it sets the lag of their seasonal cycle
    radius = np.hypot((lat - [s[2] for s in spec]) / [s[4] for s in spec],
                      (lon_raw - [s[3] for s in spec]) / [s[5] for s in spec])
    maritime = np.clip(radius / 2, 0, 1)
    elev = 30 + np.abs(rng.normal(0, 120, n))
    for mlat, mlon, slat, slon, h in _MOUNTAINS:
        elev += h * np.exp(-0.5 * (((lat - mlat) / slat) ** 2 + ((lon - mlon) / slon) ** 2))
    elev = np.round(np.clip(elev * rng.uniform(0.7, 1.1, n), 0, 3000), 1)
    elev[rng.random(n) < 0.01] = -999.9
    ids, wmo, sflag, obstime, state = [], [], [], [], [""] * n
    for s in spec:
        while True:
            cc, net = rng.choice(list(s[0])), rng.choice(list(s[1]))
            number = rng.integers(3000, 99999) if net in "WN0" else rng.integers(10**4, 10**6)
            sid = f"{cc}{net}{number:08d}"
            if sid not in ids:
                break
        ids.append(sid)
        wmo.append(f"{rng.integers(10000, 99999)}" if net in "WM" else "")
        sflag.append("X" if net == "W" else rng.choice(list(s[7])))
        timed = cc in ("US", "CA") and net != "W" and rng.random() < 0.7
        obstime.append(rng.choice(_OBS_TIMES) if timed else "")
    us = [i for i, sid in enumerate(ids) if sid.startswith("US")]
    for i in us:  # a state by longitude band, west to east
        state[i] = ("CA", "CO", "KS", "IL", "NY")[int(np.digitize(lon[i], (-115, -105, -95, -85)))]
    order = np.argsort(ids, kind="stable")
    table = {"id": ids, "lat": np.round(lat, 4), "lon": np.round(lon, 4), "elev": elev,
             "state": state, "wmo": wmo, "cluster": cl, "maritime": maritime, "sflag": sflag, "obstime": obstime,
             "name": [f"STANDIN {sid[:2]} {i:04d}" for i, sid in enumerate(ids)]}
    return {k: [v[i] for i in order] if isinstance(v, list) else np.asarray(v)[order]
            for k, v in table.items()}


def _weather(rng: np.random.Generator, xyz: np.ndarray, doy: np.ndarray) -> np.ndarray:
    """Moving Gaussian weather systems at the stations ``xyz (N, 3)``: degC ``(N, days)``."""
    n_days, (life_lo, life_hi) = len(doy), _T_LIFE
    n = rng.poisson(_T_ALIVE / np.mean(_T_LIFE) * (n_days + life_hi))
    birth = np.sort(rng.uniform(-life_hi, n_days, n))
    life = rng.uniform(life_lo, life_hi, n)
    lat0 = np.degrees(np.arcsin(rng.uniform(np.sin(np.radians(-70)), np.sin(np.radians(75)), n)))
    lon0, speed = rng.uniform(-180, 180, n), rng.uniform(*_T_SPEED, n)
    wander = rng.normal(0, _T_WANDER, n)
    amp = rng.choice([-1.0, 1.0], n) * rng.uniform(*_T_AMPLITUDE, n)
    size = rng.uniform(0.8, 1.2, n)
    mid, half = np.mean(_T_RADIUS), np.diff(_T_RADIUS)[0] / 2
    out = np.empty((len(xyz), n_days))
    for t in range(n_days):
        k = slice(np.searchsorted(birth, t - life_hi), np.searchsorted(birth, t, side="right"))
        age = t - birth[k]
        lat = np.clip(lat0[k] + wander[k] * age, -85, 85)
        centre = _unit(lat, lon0[k] + speed[k] * age)
        r = np.radians(size[k] * (mid + half * _winter(lat, doy[t])))
        env = np.sin(np.pi * np.clip(age / life[k], 0, 1))
        out[:, t] = np.exp(-(1 - xyz @ centre.T) / r**2) @ (amp[k] * env)
    return out


def _rain(rng: np.random.Generator, xyz: np.ndarray, doy: np.ndarray, p_rain: float):
    """Whether each station lies in a rain cell, ``(N, days)`` bool (see the module doc)."""
    n_days = len(doy)
    log_mid, log_half = np.mean(np.log(_R_RADIUS)), np.diff(np.log(_R_RADIUS))[0] / 2
    band = np.sin(np.radians(_R_LAT))
    births, cells = [], []
    for t in range(n_days):
        for hemi in (1.0, -1.0):
            radius = np.exp(log_mid + log_half * _winter(hemi * 45, doy[t]))
            alive = -np.log1p(-p_rain) * band / (1 - np.cos(np.radians(radius)))
            m = rng.poisson(alive / ((1 + _R_LIFE) / 2))  # life 1.._R_LIFE days
            lat = hemi * np.degrees(np.arcsin(rng.uniform(0, band, m)))
            cells.append(np.stack([lat, rng.uniform(-180, 180, m), rng.uniform(*_T_SPEED, m),
                                   rng.integers(1, _R_LIFE + 1, m),
                                   radius * rng.uniform(0.85, 1.15, m)], axis=1))
            births.append(np.full(m, t))
    birth, (lat, lon0, speed, life, radius) = np.concatenate(births), np.concatenate(cells).T
    cos_r = np.cos(np.radians(radius))
    out = np.zeros((len(xyz), n_days), dtype=bool)
    for t in range(n_days):
        k = slice(np.searchsorted(birth, t - _R_LIFE + 1), np.searchsorted(birth, t, "right"))
        age = t - birth[k]
        on = age < life[k]
        centre = _unit(lat[k][on], (lon0[k] + speed[k] * age)[on])
        out[:, t] = (xyz @ centre.T > cos_r[k][on]).any(axis=1)
    return out


def _implausible(rng: np.random.Generator, element: str, n: int) -> np.ndarray:
    if element in ("TMAX", "TMIN", "TAVG"):
        choices = np.stack([np.full(n, 9999), rng.integers(-999, -799, n),
                            rng.integers(700, 1000, n)])
        return choices[rng.integers(0, 3, n), np.arange(n)]
    return rng.integers(3000 if element != "SNWD" else 5000, 10000, n)


def _observations(rng, st, doy, weather, rain, missing_fraction, qflag_fraction) -> dict:
    """Per element: ``value`` int (N, days), ``present``, ``mflag`` ('', T, P) and ``qflag``
    (0: none, i: ``QFLAGS[i - 1]``) arrays (N, days)."""
    n, n_days = weather.shape
    shape = (n, n_days)
    lat, elev = st["lat"][:, None], np.where(st["elev"] < -999, 0.0, st["elev"])[:, None]
    lag = _LAG_DAYS[0] + (_LAG_DAYS[1] - _LAG_DAYS[0]) * st["maritime"][:, None]
    phase = 2 * np.pi * (doy[None, :] - _SOLSTICE_DOY - lag) / 365.25
    s = np.sin(np.radians(lat))
    tmean = 28 - 40 * s**2 + 20 * s * np.cos(phase) - _LAPSE * elev / 1000 + weather
    dtr = rng.uniform(6, 12, (n, 1)) + rng.normal(0, 0.7, shape)
    tmax = tmean + dtr / 2 + rng.normal(0, _NOISE, shape)
    tmin = tmean - dtr / 2 + rng.normal(0, _NOISE, shape)
    prcp = np.where(rain, np.rint(rng.exponential(50.0, shape)), 0)
    trace = (rain & (prcp == 0)) | (~rain & (rng.random(shape) < 0.03))
    snow = np.where(tmean < 0.5, prcp, 0)  # mm of snow ~ tenths of mm of water
    depth = np.zeros(shape)
    for t in range(n_days):  # a pack that settles 5 % a day and melts 8 mm / degC above 0
        prev = depth[:, t - 1] if t else 0
        depth[:, t] = np.maximum(0, 0.95 * prev + snow[:, t] - 8 * np.maximum(tmean[:, t], 0))
    values = {"TMAX": np.rint(10 * tmax), "TMIN": np.rint(10 * tmin), "PRCP": prcp,
              "SNOW": snow, "SNWD": np.rint(depth), "TAVG": np.rint(5 * (tmax + tmin))}

    us_ca = np.array([i[:2] in ("US", "CA") for i in st["id"]])
    prcp_only = rng.random(n) < 0.10
    reports = {"PRCP": np.ones(n, bool), "TMAX": ~prcp_only, "TMIN": ~prcp_only,
               "SNOW": us_ca & ~prcp_only & (rng.random(n) < 0.5),
               "TAVG": ~us_ca & ~prcp_only & (rng.random(n) < 0.35)}
    reports["SNWD"] = reports["SNOW"]
    gap = np.zeros(shape, bool)
    for i in np.flatnonzero(rng.random(n) < 0.06):
        for _ in range(rng.integers(1, 3)):
            start = rng.integers(0, n_days)
            gap[i, start:start + rng.integers(14, 141)] = True
    out = {}
    for e in ELEMENTS:
        present = reports[e][:, None] & ~gap
        value = values[e].astype(np.int64)
        mflag = np.zeros(shape, np.int8)
        if e == "PRCP":
            mflag[trace] = 1
            mflag[(value == 0) & ~trace & (rng.random(shape) < 0.003)] = 2  # P: presumed zero
        u = rng.random(shape)
        missing = present & (u < missing_fraction)
        flagged = present & ~missing & (u >= missing_fraction) & (u < missing_fraction
                                                                    + qflag_fraction)
        value[missing] = MISSING
        value[flagged] = _implausible(rng, e, int(flagged.sum()))
        mflag[missing | flagged] = 0
        qflag = np.where(flagged, rng.integers(1, len(QFLAGS) + 1, shape), 0)
        out[e] = {"value": value, "present": present, "mflag": mflag, "qflag": qflag}
    out["_stations"] = {"prcp_only": int(prcp_only.sum()), "with_gaps": int(gap.any(1).sum()),
                        "snow": int(reports["SNOW"].sum()), "tavg": int(reports["TAVG"].sum())}
    return out


def _year_text(st, dates, obs, days: slice) -> tuple[str, dict]:
    """The CSV text of the days ``days`` (date, station, element order) and its counts."""
    parts = []
    for ei, e in enumerate(ELEMENTS):
        o = {k: v[:, days] for k, v in obs[e].items()}
        s, d = np.nonzero(o["present"])
        parts.append((d, s, np.full(len(s), ei), o["value"][s, d], o["mflag"][s, d],
                      o["qflag"][s, d]))
    day, sta, ele, val, mfl, qfl = (np.concatenate(x) for x in zip(*parts, strict=True))
    order = np.lexsort((ele, sta, day))
    day, sta, ele, val, mfl, qfl = (x[order] for x in (day, sta, ele, val, mfl, qfl))
    ids, sflag = np.array(st["id"], object), np.array(st["sflag"], object)
    obstime = np.array(st["obstime"], object)[sta]
    obstime[ele == ELEMENTS.index("TAVG")] = ""
    sfl = sflag[sta]
    sfl[ele == ELEMENTS.index("TAVG")] = "S"
    date = np.array([str(x).replace("-", "") for x in dates[days]], object)
    cols = (ids[sta], date[day], np.array(ELEMENTS, object)[ele], val,
            np.array(["", "T", "P"], object)[mfl], np.array(["", *QFLAGS], object)[qfl],
            sfl, obstime)
    text = "".join([f"{a},{b},{c},{v},{m},{q},{f},{t}\n"
                    for a, b, c, v, m, q, f, t in zip(*(x.tolist() for x in cols), strict=True)])
    counts = {"rows": {e: int((ele == i).sum()) for i, e in enumerate(ELEMENTS)},
              "qflag_rows": int((qfl > 0).sum()), "missing_values": int((val == MISSING).sum()),
              "dates": int(len(date))}
    return text, counts


def write_standin(out_dir: str | os.PathLike, *, years=DEFAULT_YEARS, n_stations: int = N_STATIONS,
                  seed: int = 0, missing_fraction: float = MISSING_FRACTION,
                  qflag_fraction: float = QFLAG_FRACTION, progress: bool = True) -> dict:
    """Write ``ghcnd-stations.txt`` and ``{year}.csv.gz`` for each of ``years`` into
    ``out_dir`` (see the module doc); return a JSON-able record of what was written:
    parameters, station counts, rows per element, rows with a Q-FLAG, -9999 values, files.

    The years are simulated as one continuous period (first to last); the same arguments give
    byte-identical files.
    """
    years = sorted({int(y) for y in years})
    if not years or n_stations < 2 or seed < 0:
        raise ValueError(f"years={years}, n_stations={n_stations}, seed={seed}: pass at least "
                         "one year, two stations and a non-negative seed.")
    if not (0 <= missing_fraction and 0 <= qflag_fraction and missing_fraction
            + qflag_fraction < 0.5):
        raise ValueError(f"missing_fraction={missing_fraction}, qflag_fraction="
                         f"{qflag_fraction}: pass small non-negative fractions.")
    out_dir = Path(out_dir)
    rng = [np.random.default_rng([int(seed), k]) for k in range(4)]
    st = _stations(rng[0], n_stations)
    write_stations(out_dir / STATIONS_FILE, st)
    dates = np.arange(np.datetime64(f"{years[0]}-01-01") - _PAD,
                      np.datetime64(f"{years[-1] + 1}-01-01"))
    doy = (dates - dates.astype("datetime64[Y]")).astype(np.int64)
    xyz = _unit(st["lat"], st["lon"])
    weather = _weather(rng[1], xyz, doy)[:, _PAD:]
    rain = _rain(rng[2], xyz, doy, P_RAIN)[:, _PAD:]
    dates, doy = dates[_PAD:], doy[_PAD:]
    obs = _observations(rng[3], st, doy, weather, rain, missing_fraction, qflag_fraction)
    year_of = dates.astype("datetime64[Y]").astype(np.int64) + 1970
    record = {
        "generator": __name__, "seed": int(seed), "years": years,
        "parameters": {"n_stations": n_stations, "missing_fraction": missing_fraction,
                       "qflag_fraction": qflag_fraction, "p_rain": P_RAIN,
                       "lapse_degC_per_km": _LAPSE, "weather_radius_deg": list(_T_RADIUS),
                       "weather_speed_deg_lon_per_day": list(_T_SPEED),
                       "rain_radius_deg": list(_R_RADIUS)},
        "stations": {"n": n_stations, "north": int((st["lat"] >= 0).sum()),
                     "south": int((st["lat"] < 0).sum()), **obs["_stations"]},
        "rows": {e: 0 for e in ELEMENTS}, "qflag_rows": 0, "missing_values": 0,
        "per_year": {}, "files": [STATIONS_FILE],
    }
    for year in years:
        idx = np.flatnonzero(year_of == year)
        text, counts = _year_text(st, dates, obs, slice(idx[0], idx[-1] + 1))
        name = f"{year}.csv.gz"
        data = gzip.compress(text.encode("ascii"), _GZIP_LEVEL, mtime=0)
        atomic_write_bytes(out_dir / name, data)
        record["per_year"][str(year)] = counts
        for e in ELEMENTS:
            record["rows"][e] += counts["rows"][e]
        record["qflag_rows"] += counts["qflag_rows"]
        record["missing_values"] += counts["missing_values"]
        record["files"].append(name)
        if progress:
            print(f"ghcn stand-in: wrote {out_dir / name} ({sum(counts['rows'].values())} rows)",
                  file=sys.stderr)
    return record
