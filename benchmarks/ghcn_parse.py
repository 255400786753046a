"""GHCN-Daily by_year parsing: our reader against ``zcat`` (the decompression bound) and pandas.

One command: ``python benchmarks/ghcn_parse.py`` (37,000,000 rows, the size of a real year;
``--small``: 300,000 rows, seconds). Writes ``benchmarks/results/ghcn_parse.md``.

Generates once, cached under ``data/benchmarks/ghcn/{rows}-rows/`` (regenerated when missing or
when its ``meta.json`` differs from the request), a synthetic ``by_year/{year}.csv.gz`` of
``--rows`` rows and the matching ``ghcnd-stations.txt``
(:func:`deepsphere.experiments.ghcn.formats.write_stations`): about one station per 925 rows
(40,000 for a real year) with realistic 11-character ids (``US1COBO0012``, ``USC00123456``,
``USW00094728``, ``CA001012055``, ``ASN00001000``, ``AEM00041194``...), sorted by date, then
station, then element, like NOAA's files. Each element is carried by a fixed set of stations
(TMAX/TMIN/TOBS by the same ones, SNOW/SNWD together, TAVG/wind/weather types by the
"first-order" ones), each station reports on a given day with one probability, and random rows
are dropped to hit ``--rows`` exactly; the element mix follows a real year (:data:`MIX`).
Values are integers in NOAA's units (temperatures from the latitude and the season, mostly-zero
precipitation and snow, -9999 in 0.05 % of the rows), M-FLAG mostly empty (T, D, P), Q-FLAG
empty but in 0.2 % of the rows, S-FLAG and OBS-TIME (empty or ``0700``-like) per station. The
text is built in chunks of days (numpy -> pyarrow table -> ``pyarrow.csv.write_csv``, no header,
no quoting) in a worker thread while the main thread compresses the previous chunk with zlib
(level 6, one gzip member, as ``gzip -6``).

Then measures, each in its own child process (the file read once beforehand, so page-cached):
``zcat FILE > /dev/null``; our parser,
``deepsphere.experiments.ghcn.by_year.read_by_year(path, station_ids, year,
elements=("TMIN", "TMAX", "PRCP"))``; and a plain ``pandas.read_csv(path, header=None,
names=[...])`` (``--skip-pandas``: not). Wall time: the whole ``zcat`` process, and the call
alone for the Python children (interpreter start and imports excluded); peak memory: the child
process's ``ru_maxrss`` (``os.wait4``), so the Python rows include the interpreter, the imports
and the station list (~0.1-0.2 GiB). A child whose RSS passes ``--memory-limit-gib`` (16) is
killed and reported "over the limit". Targets (issue): the parser within 3x of zcat's wall time
and under 4 GB (4e9 bytes) peak.
"""

from __future__ import annotations

import argparse
import concurrent.futures
import datetime
import json
import os
import platform
import subprocess
import sys
import tempfile
import time
import zlib
from pathlib import Path

import numpy as np

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent
GENERATOR_VERSION = 1
DEFAULT_ROWS, SMALL_ROWS = 37_000_000, 300_000
ROWS_PER_STATION = 925  # 37M rows / 40,000 stations
COLUMNS = ["id", "date", "element", "value", "mflag", "qflag", "sflag", "obstime"]
ELEMENTS = ("TMIN", "TMAX", "PRCP")  # what the parser is asked for

#: Fraction of the rows per element (a real year, rounded): PRCP 34 %, TMAX/TMIN 13 %,
#: SNOW 11 %, SNWD 9 %, TAVG 5 %, TOBS 4 %, the rest 11 %.
MIX = {
    "TMAX": 0.13, "TMIN": 0.13, "TOBS": 0.04, "PRCP": 0.34, "SNOW": 0.11, "SNWD": 0.09,
    "TAVG": 0.05, "WESF": 0.015, "WESD": 0.015, "DAPR": 0.01, "MDPR": 0.01, "AWND": 0.008,
    "WSF2": 0.005, "WSF5": 0.005, "WDF2": 0.003, "WDF5": 0.003, "WT01": 0.01, "WT03": 0.005,
    "WT04": 0.002, "WT05": 0.002, "WT06": 0.002, "WT08": 0.005, "WT11": 0.002, "WT16": 0.008,
}
#: Elements whose stations coincide (the same ranking of stations decides who carries them).
GROUPS = {"TMAX": 0, "TMIN": 0, "TOBS": 0, "SNOW": 1, "SNWD": 1, "WESF": 1, "WESD": 1,
          "TAVG": 2, "AWND": 2, "WSF2": 2, "WSF5": 2, "WDF2": 2, "WDF5": 2, "PRCP": 3,
          "DAPR": 4, "MDPR": 4}  # WT*: group 2 as well (first-order stations report them)
MFLAGS, MFLAG_P = ["", "T", "D", "P"], [0.94, 0.03, 0.02, 0.01]
QFLAGS = [""] + list("DGIKLMNORSTWXZ")
SFLAGS, SFLAG_P = ["7", "S", "W", "X", "0", "E", "N"], [0.25, 0.2, 0.05, 0.05, 0.05, 0.1, 0.3]
OBSTIMES = ["", "0700", "0800", "0600", "1700", "1800", "1600", "2400", "0900"]
OBSTIME_P = [0.55, 0.2, 0.08, 0.04, 0.04, 0.04, 0.02, 0.02, 0.01]
COUNTRIES = ["AE", "AG", "AR", "BR", "CH", "EZ", "FI", "FR", "GM", "IN", "IT", "JA", "KZ",
             "MX", "NO", "RS", "SF", "SP", "SW", "UK", "UP"]
STATES = ["AK", "AL", "AR", "AZ", "CA", "CO", "CT", "FL", "GA", "IA", "ID", "IL", "IN", "KS",
          "KY", "LA", "MA", "MD", "ME", "MI", "MN", "MO", "MS", "MT", "NC", "ND", "NE", "NM",
          "NV", "NY", "OH", "OK", "OR", "PA", "SC", "SD", "TN", "TX", "UT", "VA", "WA", "WI"]


# --------------------------------------------------------------------------- generation


def _letters(rng, n, k):
    return ["".join(w) for w in rng.choice(list("ABCDEFGHIJKLMNOPQRSTUVWXYZ"), (n, k))]


def make_stations(n: int, rng) -> dict:
    """``n`` stations, sorted by id: ``id, lat, lon, elev, state, name`` columns (lists/arrays).

    Id families (shares): CoCoRaHS ``US1`` + state + county + 4 digits (30 %), co-op ``USC00``
    (20 %), ``USW000`` (3 %), RAWS ``USR0000`` (4 %), SNOTEL ``USS00`` (2 %), ``CA00`` (8 %),
    ``ASN000`` (12 %), other countries ``XXM000``/``XX000`` (21 %).
    """
    ids: set[str] = set()
    while len(ids) < n:
        m = max(64, int(1.2 * (n - len(ids))))
        kind = rng.choice(8, m, p=[0.30, 0.20, 0.03, 0.04, 0.02, 0.08, 0.12, 0.21])
        d = rng.integers(0, 10**7, m)
        st, co = rng.choice(STATES, m), _letters(rng, m, 4)
        cc = rng.choice(COUNTRIES, m)
        for i in range(m):
            k, x = kind[i], int(d[i])
            ids.add([f"US1{st[i]}{co[i][:2]}{x % 10**4:04d}", f"USC00{x % 10**6:06d}",
                     f"USW000{x % 10**5:05d}", f"USR0000{co[i]}",
                     f"USS00{x % 100:02d}{co[i][0]}{x // 100 % 100:02d}{co[i][1]}",
                     f"CA00{x:07d}", f"ASN000{x % 10**5:05d}",
                     f"{cc[i]}M000{x % 10**5:05d}" if x % 3 else f"{cc[i]}000{x % 10**6:06d}"][k])
    ids_list = sorted(rng.choice(sorted(ids), n, replace=False).tolist())
    prefix = np.array([s[:2] for s in ids_list])
    lat = rng.uniform(-60, 72, n)
    lon = rng.uniform(-180, 180, n)
    us, ca, au = prefix == "US", prefix == "CA", prefix == "AS"
    lat[us], lon[us] = rng.uniform(25, 49, us.sum()), rng.uniform(-125, -67, us.sum())
    lat[ca], lon[ca] = rng.uniform(43, 70, ca.sum()), rng.uniform(-140, -55, ca.sum())
    lat[au], lon[au] = rng.uniform(-40, -12, au.sum()), rng.uniform(115, 153, au.sum())
    state = [s[3:5] if s.startswith("US1") else (rng.choice(STATES) if s[:2] == "US" else "")
             for s in ids_list]
    return {"id": ids_list, "lat": np.round(lat, 4), "lon": np.round(lon, 4),
            "elev": np.round(rng.uniform(0, 3000, n), 1), "state": state,
            "name": [f"SYNTHETIC STATION {i}" for i in range(n)]}


class Plan:
    """Who reports what, which rows are dropped: everything but the per-row values."""

    def __init__(self, rows: int, n_stations: int, year: int, seed: int):
        rng = np.random.default_rng([seed, 0])
        self.year, self.seed, self.rows = year, seed, rows
        self.days = (datetime.date(year + 1, 1, 1) - datetime.date(year, 1, 1)).days
        self.elements = list(MIX)
        fractions = np.array([MIX[e] for e in self.elements])
        fractions /= fractions.sum()
        per_station_day = 1.01 * rows / (self.days * n_stations)  # 1 % extra, dropped below
        self.p_report = max(0.6, fractions.max() * per_station_day / 0.97)
        if self.p_report > 1:
            raise ValueError(f"{n_stations} stations cannot give {rows} rows in {self.days} "
                             "days with this element mix: ask for more stations")
        carry = fractions * per_station_day / self.p_report  # fraction of stations per element
        ranks = np.argsort(rng.random((5, n_stations)), axis=1)  # one station order per group
        self.carries = np.zeros((n_stations, len(self.elements)), bool)
        for j, e in enumerate(self.elements):
            group = GROUPS.get(e, 2)
            self.carries[ranks[group][:round(carry[j] * n_stations)], j] = True
        # the reporting probability that gives the 1 % extra with the rounded station sets
        self.p_report = 1.01 * rows / (self.days * self.carries.sum())
        if self.p_report > 1:
            raise ValueError(f"{n_stations} stations cannot give {rows} rows: ask for more")
        for _attempt in range(100):  # practically always the first
            report = rng.random((self.days, n_stations)) < self.p_report
            per_day = report.astype(np.int64) @ self.carries.sum(1)
            if per_day.sum() >= rows:
                break
        else:
            raise RuntimeError("could not draw enough rows")
        self.report, self.per_day = report, per_day
        self.start = np.concatenate([[0], np.cumsum(per_day)])
        excess = int(self.start[-1]) - rows
        self.drop = np.sort(rng.choice(int(self.start[-1]), excess, replace=False))
        self.sflag = rng.choice(len(SFLAGS), n_stations, p=SFLAG_P).astype(np.int8)
        self.obstime = rng.choice(len(OBSTIMES), n_stations, p=OBSTIME_P).astype(np.int8)

    def chunks(self, days_per_chunk: int):
        return [(d, min(d + days_per_chunk, self.days))
                for d in range(0, self.days, days_per_chunk)]

    def rows_of(self, d0: int, d1: int):
        """``(day, station, element)`` index arrays of days ``[d0, d1)``, file order."""
        days, stations, elements = [], [], []
        for d in range(d0, d1):
            r = np.flatnonzero(self.report[d])
            i, e = np.nonzero(self.carries[r])
            days.append(np.full(len(i), d, np.int16))
            stations.append(r[i].astype(np.int32))
            elements.append(e.astype(np.int8))
        day, station, element = (np.concatenate(a) for a in (days, stations, elements))
        lo, hi = np.searchsorted(self.drop, [self.start[d0], self.start[d1]])
        keep = np.ones(len(day), bool)
        keep[self.drop[lo:hi] - self.start[d0]] = False
        return day[keep], station[keep], element[keep]


def _values(rng, day, element, lat, elements, year_days):
    """Integer values in NOAA's units for each row (see the module docstring)."""
    n = len(day)
    names = np.array(elements)
    value = np.zeros(n, np.int32)
    season = np.cos(2 * np.pi * (day - 15) / year_days)
    base = 270 - 4.0 * np.abs(lat) - np.sign(lat) * 4.0 * np.abs(lat) * season
    temp = base + rng.normal(0, 35, n)
    offsets = {"TMAX": 55, "TMIN": -55, "TAVG": 0, "TOBS": 15}
    scales = {"PRCP": (0.35, 60), "SNOW": (0.10, 50), "SNWD": (0.20, 150), "WESF": (0.10, 10),
              "WESD": (0.15, 40), "MDPR": (1.0, 100), "AWND": (1.0, 30)}
    u, x = rng.random(n), rng.exponential(1.0, n)
    for j, name in enumerate(names):
        m = element == j
        if not m.any():
            continue
        if name in offsets:
            value[m] = np.rint(temp[m] + offsets[name])
        elif name in scales:
            p, s = scales[name]
            value[m] = np.where(u[m] < p, np.rint(s * x[m]), 0)
        elif name == "DAPR":
            value[m] = 2 + (x[m] * 2).astype(np.int32)
        elif name.startswith("WSF"):
            value[m] = 50 + np.rint(80 * x[m])
        elif name.startswith("WDF"):
            value[m] = 10 * (1 + (u[m] * 36).astype(np.int32))
        else:  # WT**: weather types, value 1
            value[m] = 1
    value[rng.random(n) < 0.0005] = -9999
    return value


def _chunk_text(plan: Plan, lat, ids, d0: int, d1: int, chunk: int):
    """The CSV text of days ``[d0, d1)``, as a pyarrow buffer; and the seconds it took."""
    import pyarrow as pa
    import pyarrow.csv as pcsv

    t = time.perf_counter()
    rng = np.random.default_rng([plan.seed, 1, chunk])
    day, station, element = plan.rows_of(d0, d1)
    n = len(day)
    date0 = datetime.date(plan.year, 1, 1)
    dates = np.array([int((date0 + datetime.timedelta(days=int(d))).strftime("%Y%m%d"))
                      for d in range(plan.days)], np.int32)

    def dictionary(index, values):
        return pa.DictionaryArray.from_arrays(pa.array(index), pa.array(values, pa.string()))

    qflag = np.where(rng.random(n) < 0.002, rng.integers(1, len(QFLAGS), n), 0).astype(np.int8)
    table = pa.table({
        "id": dictionary(station, ids),
        "date": pa.array(dates[day]),
        "element": dictionary(element, plan.elements),
        "value": pa.array(_values(rng, day, element, lat[station], plan.elements, plan.days)),
        "mflag": dictionary(rng.choice(len(MFLAGS), n, p=MFLAG_P).astype(np.int8), MFLAGS),
        "qflag": dictionary(qflag, QFLAGS),
        "sflag": dictionary(plan.sflag[station], SFLAGS),
        "obstime": dictionary(plan.obstime[station], OBSTIMES),
    })
    sink = pa.BufferOutputStream()
    pcsv.write_csv(table, sink, pcsv.WriteOptions(include_header=False, quoting_style="none",
                                                  batch_size=1 << 16))
    return sink.getvalue(), np.bincount(element, minlength=len(plan.elements)), \
        time.perf_counter() - t


def generate(folder: Path, rows: int, year: int, seed: int, stations: int | None = None,
             days_per_chunk: int = 8) -> dict:
    """Write ``by_year/{year}.csv.gz``, ``ghcnd-stations.txt`` and ``meta.json`` (last: it marks
    a complete set) into ``folder``; return the meta."""
    from deepsphere.experiments.ghcn.formats import write_stations
    from deepsphere.io.atomic import atomic_path, atomic_write_json

    t0 = time.perf_counter()
    n_st = stations or max(50, round(rows / ROWS_PER_STATION))
    (folder / "meta.json").unlink(missing_ok=True)
    table = make_stations(n_st, np.random.default_rng([seed, 2]))
    write_stations(folder / "ghcnd-stations.txt", table)
    plan = Plan(rows, n_st, year, seed)
    ids, lat = table["id"], np.asarray(table["lat"])
    counts = np.zeros(len(plan.elements), np.int64)
    raw = zipped = 0
    build = compress = 0.0
    path = folder / "by_year" / f"{year}.csv.gz"
    path.parent.mkdir(parents=True, exist_ok=True)
    chunks = plan.chunks(days_per_chunk)
    with atomic_path(path) as tmp, open(tmp, "wb") as fh, \
            concurrent.futures.ThreadPoolExecutor(1) as pool:
        z = zlib.compressobj(6, zlib.DEFLATED, 31)  # wbits 31: a gzip member
        futures = [pool.submit(_chunk_text, plan, lat, ids, a, b, k)
                   for k, (a, b) in enumerate(chunks[:2])]
        for k in range(len(chunks)):
            buf, c, seconds = futures[k].result()
            futures[k] = None
            if k + 2 < len(chunks):  # keep the worker one chunk ahead
                futures.append(pool.submit(_chunk_text, plan, lat, ids, *chunks[k + 2], k + 2))
            t = time.perf_counter()
            out = z.compress(buf)
            fh.write(out)
            compress += time.perf_counter() - t
            build += seconds
            counts += c
            raw += buf.size
            zipped += len(out)
        out = z.flush()
        fh.write(out)
        zipped += len(out)
    meta = {"generator": GENERATOR_VERSION, "rows": rows, "stations": n_st, "year": year,
            "seed": seed, "bytes": raw, "gz_bytes": zipped,
            "elements": dict(zip(plan.elements, counts.tolist(), strict=True)),
            "seconds": round(time.perf_counter() - t0, 1), "build_seconds": round(build, 1),
            "compress_seconds": round(compress, 1)}
    if counts.sum() != rows:
        raise AssertionError(f"generated {counts.sum()} rows, not {rows}")
    atomic_write_json(folder / "meta.json", meta)
    return meta


def ensure_data(folder: Path, rows: int, year: int, seed: int, stations: int | None = None):
    """``(csv.gz path, stations path, meta, generated now?)``; generates unless ``folder``
    holds a complete set for the same request."""
    want = {"generator": GENERATOR_VERSION, "rows": rows, "year": year, "seed": seed}
    path, st = folder / "by_year" / f"{year}.csv.gz", folder / "ghcnd-stations.txt"
    try:
        meta = json.loads((folder / "meta.json").read_text())
        ok = (all(meta.get(k) == v for k, v in want.items()) and path.exists() and st.exists()
              and (stations is None or meta["stations"] == stations)
              and path.stat().st_size == meta["gz_bytes"])
    except (OSError, ValueError, KeyError):
        ok = False
    if ok:
        return path, st, meta, False
    return path, st, generate(folder, rows, year, seed, stations), True


# --------------------------------------------------------------------------- measurement


def _rss_bytes(pid: int) -> int:
    try:
        for line in Path(f"/proc/{pid}/status").read_text().splitlines():
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) * 1024
    except (OSError, ValueError):
        pass
    return 0


#: Runs a command and writes its wall time, ``ru_maxrss`` and exit code as JSON. A separate
#: small process, because Linux carries the RSS high-water mark of the process that forks (or
#: vforks: Python's subprocess) over into the child's ``ru_maxrss``: started straight from this
#: script, zcat would report this script's memory. Here it carries the launcher's (~10 MB).
LAUNCHER = r"""
import json, os, signal, sys, threading, time
limit, result, cmd = float(sys.argv[1]), sys.argv[2], sys.argv[3:]
t = time.perf_counter()
pid = os.fork()
if pid == 0:
    try:
        os.execvp(cmd[0], cmd)
    finally:
        os._exit(127)
pidfd, done, over = os.pidfd_open(pid), threading.Event(), []
def rss():
    try:
        with open(f"/proc/{pid}/status") as fh:
            return next(int(x.split()[1]) * 1024 for x in fh if x.startswith("VmRSS:"))
    except (OSError, StopIteration, ValueError):
        return 0
def watch():
    while not done.wait(0.05):
        if rss() > limit:
            over.append(True)
            try:
                signal.pidfd_send_signal(pidfd, signal.SIGKILL)
            except ProcessLookupError:
                pass
            return
watcher = threading.Thread(target=watch, daemon=True)
watcher.start()
_, status, usage = os.wait4(pid, 0)
wall = time.perf_counter() - t
done.set()
watcher.join()
with open(result, "w") as fh:
    json.dump({"wall": wall, "peak": usage.ru_maxrss * 1024, "over": bool(over),
               "rc": os.waitstatus_to_exitcode(status)}, fh)
"""


def run_child(cmd: list[str], limit_bytes: float, **popen) -> dict:
    """Run ``cmd`` (through :data:`LAUNCHER`): ``wall`` seconds, ``peak`` bytes (its
    ``ru_maxrss``, from ``os.wait4``), ``rc``; ``over`` when its RSS passed ``limit_bytes``
    (then it was killed)."""
    with tempfile.TemporaryDirectory(prefix="ghcn-launch-") as tmp:
        result = Path(tmp) / "run.json"
        subprocess.run([sys.executable, "-I", "-S", "-c", LAUNCHER, str(limit_bytes),
                        str(result), *cmd], check=True, **popen)
        return json.loads(result.read_text())


def child(args) -> None:
    """In the child process: run one Python method and write its result JSON."""
    import resource

    result: dict = {}
    if args.child == "parser":
        import importlib

        from deepsphere.experiments.ghcn.formats import read_stations

        module, name = args.parser.split(":")
        read_by_year = getattr(importlib.import_module(module), name)
        station_ids = list(read_stations(args.stations_file)["id"])
        result["rss_before"] = _rss_bytes(os.getpid())
        t = time.perf_counter()
        out = read_by_year(args.file, station_ids, args.year, elements=ELEMENTS)
        result["wall"] = time.perf_counter() - t
        result["stations_in"] = len(station_ids)
        result["shapes"] = {e: list(np.shape(v)) for e, v in out.values.items()}
        result["dtypes"] = {e: str(np.asarray(v).dtype) for e, v in out.values.items()}
        result["finite"] = {e: int(np.isfinite(v).sum()) for e, v in out.values.items()}
        result["counts"] = {str(k): (v if isinstance(v, int | float | str) else
                                     repr(v)[:200]) for k, v in dict(out.counts).items()}
    else:
        import pandas as pd

        result["rss_before"] = _rss_bytes(os.getpid())
        t = time.perf_counter()
        df = pd.read_csv(args.file, header=None, names=COLUMNS)
        result["wall"] = time.perf_counter() - t
        result["rows"] = len(df)
        result["dtypes"] = {c: str(t) for c, t in df.dtypes.items()}
    result["peak_self"] = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024
    Path(args.result).write_text(json.dumps(result))


def measure(path: Path, stations: Path, year: int, *, parser: str, pandas: bool,
            limit_bytes: float) -> dict:
    """The three methods, each in its own child process."""
    with open(path, "rb") as fh:  # page cache
        while fh.read(1 << 24):
            pass
    env = dict(os.environ)
    env["PYTHONPATH"] = os.pathsep.join(filter(None, [str(ROOT / "src"),
                                                      env.get("PYTHONPATH")]))
    out = {"zcat": run_child(["zcat", str(path)], limit_bytes, stdout=subprocess.DEVNULL)}
    methods = ["parser"] + (["pandas"] if pandas else [])
    for method in methods:
        with tempfile.TemporaryDirectory(prefix="ghcn-parse-") as tmp:
            result = Path(tmp) / "result.json"
            cmd = [sys.executable, str(Path(__file__).resolve()), "--child", method,
                   "--file", str(path), "--stations-file", str(stations), "--year", str(year),
                   "--parser", parser, "--result", str(result)]
            r = run_child(cmd, limit_bytes, env=env)
            r["process_wall"] = r.pop("wall")
            if result.exists():
                r.update(json.loads(result.read_text()))
            out[method] = r
    out["zcat"]["process_wall"] = out["zcat"]["wall"]
    return out


# --------------------------------------------------------------------------- report


def _versions() -> str:
    import pandas as pd
    import pyarrow as pa

    try:
        gz = subprocess.run(["gzip", "--version"], capture_output=True, text=True,
                            check=False).stdout.splitlines()[0]
    except (OSError, IndexError):
        gz = "gzip ?"
    return (f"Python {platform.python_version()}, numpy {np.__version__}, pandas "
            f"{pd.__version__}, pyarrow {pa.__version__}, {gz} (zcat)")


def report(args, argv, meta, generated, m, started, load) -> str:
    from deepsphere.runtime.hardware import hardware_label

    gib, rows = 2**30, meta["rows"]
    zcat = m["zcat"]["wall"]
    names = {"zcat": "`zcat FILE > /dev/null` (decompression bound)",
             "parser": f"our parser `{args.parser}` (TMIN, TMAX, PRCP)",
             "pandas": "`pandas.read_csv(path, header=None, names=[...])`"}
    gen = (f"generated in this run in {meta['seconds']:.0f} s" if generated else
           f"cached; it was generated in {meta['seconds']:.0f} s")
    mix = ", ".join(f"{e} {100 * c / rows:.1f} %" for e, c in
                    sorted(meta["elements"].items(), key=lambda kv: -kv[1])[:8])
    lines = [
        f"Command: `python benchmarks/ghcn_parse.py {' '.join(argv)}`".rstrip(),
        f"({started:%Y-%m-%d %H:%M} UTC, {hardware_label()}, shared: 1-min load "
        f"{load[0]:.1f} before / {load[1]:.1f} after; {_versions()}).",
        "",
        f"File: synthetic by_year `{meta['year']}.csv.gz`, {rows:,} rows, {meta['stations']:,} "
        f"stations, {meta['bytes'] / 1e6:,.0f} MB of text, {meta['gz_bytes'] / 1e6:,.0f} MB "
        f"gzipped ({meta['bytes'] / meta['gz_bytes']:.1f}x); {gen} (text built in a worker "
        f"thread: {meta['build_seconds']:.0f} s; zlib level 6 in the main thread: "
        f"{meta['compress_seconds']:.0f} s). Mix: {mix}, ...",
        "",
        "Page-cached; one run of each, each in its own process. Wall: the zcat process; for "
        "Python, the call alone (interpreter start and imports excluded). Peak: the process's "
        "`ru_maxrss` (Python: including the interpreter, imports and, for the parser, the "
        "station list).",
        "",
        "| method | wall s | peak GiB | x zcat | rows/s | target | status |",
        "|---|---|---|---|---|---|---|",
    ]
    for method in ["zcat", "parser", "pandas"]:
        if method not in m:
            continue
        r = m[method]
        target = ("wall <= 3x zcat, peak < 4 GB" if method == "parser" else "–")
        if r["over"]:
            lines.append(f"| {names[method]} | over the limit (killed at "
                         f"{args.memory_limit_gib:g} GiB RSS after {r['process_wall']:.0f} s) "
                         f"| > {args.memory_limit_gib:g} | – | – | {target} | "
                         f"{'FAIL' if method == 'parser' else '–'} |")
            continue
        if r["rc"] != 0 or "wall" not in r:
            lines.append(f"| {names[method]} | failed (exit {r['rc']}) | – | – | – | {target} | "
                         f"{'FAIL' if method == 'parser' else '–'} |")
            continue
        wall, peak = r["wall"], r["peak"]
        status = "–"
        if method == "parser":
            status = "PASS" if wall <= 3 * zcat and peak < 4e9 else "FAIL"
        lines.append(f"| {names[method]} | {wall:.2f} | {peak / gib:.2f} | "
                     f"{wall / zcat:.1f} | {rows / wall:,.0f} | {target} | {status} |")
    p = m["parser"]
    if "shapes" in p:
        lines += ["", f"Parser output ({p['stations_in']:,} listed stations): " + ", ".join(
            f"{e} {tuple(s)} {p['dtypes'][e]}, {p['finite'][e]:,} finite"
            for e, s in p["shapes"].items())
            + " (the file holds " + ", ".join(f"{e} {meta['elements'].get(e, 0):,}"
                                               for e in ELEMENTS) + " rows); counts: "
            + ", ".join(f"{k} {v}" for k, v in p["counts"].items()) + "."]
    if "pandas" in m and "dtypes" in m["pandas"]:
        lines += ["", "pandas dtypes: " + ", ".join(f"{c} {t}" for c, t in
                                                    m["pandas"]["dtypes"].items()) + "."]
    return "\n".join(lines) + "\n"


def run(argv=None) -> tuple[str, dict, dict]:
    """Parse ``argv``, generate or reuse the data, measure, write the table: ``(table, meta,
    measurements)``; in a ``--child``, run that child and return empty results."""
    from deepsphere.io.atomic import atomic_write_text

    argv = list(sys.argv[1:] if argv is None else argv)
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--rows", type=int, default=None, help=f"default {DEFAULT_ROWS:,}")
    p.add_argument("--small", action="store_true", help=f"{SMALL_ROWS:,} rows (seconds)")
    p.add_argument("--stations", type=int, default=None,
                   help=f"default: one per {ROWS_PER_STATION} rows (40,000 for 37M rows)")
    p.add_argument("--year", type=int, default=2010)
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--skip-pandas", action="store_true")
    p.add_argument("--data", default=None,
                   help="cache folder (default data/benchmarks/ghcn/{rows}-rows)")
    p.add_argument("--parser", default="deepsphere.experiments.ghcn.by_year:read_by_year",
                   help="module:function with read_by_year's signature")
    p.add_argument("--memory-limit-gib", type=float, default=16.0,
                   help="a child whose RSS passes this is killed")
    p.add_argument("--out", default=str(HERE / "results" / "ghcn_parse.md"))
    p.add_argument("--child", choices=["parser", "pandas"], help=argparse.SUPPRESS)
    p.add_argument("--file", help=argparse.SUPPRESS)
    p.add_argument("--stations-file", help=argparse.SUPPRESS)
    p.add_argument("--result", help=argparse.SUPPRESS)
    args = p.parse_args(argv)
    if args.child:
        child(args)
        return "", {}, {}
    if args.small and args.rows is not None:
        p.error("--small and --rows exclude each other")
    rows = SMALL_ROWS if args.small else (args.rows or DEFAULT_ROWS)
    folder = Path(args.data) if args.data else ROOT / "data" / "benchmarks" / "ghcn" / \
        f"{rows}-rows"
    started = datetime.datetime.now(datetime.UTC)
    path, stations, meta, generated = ensure_data(folder, rows, args.year, args.seed,
                                                  args.stations)
    load_before = os.getloadavg()[0]
    m = measure(path, stations, args.year, parser=args.parser, pandas=not args.skip_pandas,
                limit_bytes=args.memory_limit_gib * 2**30)
    text = report(args, argv, meta, generated, m, started, (load_before, os.getloadavg()[0]))
    atomic_write_text(args.out, text)
    return text, meta, m


def main(argv=None) -> int:
    text = run(argv)[0]
    if text:
        print(text)
    return 0


if __name__ == "__main__":
    sys.exit(main())
