"""The reader of GHCN-Daily's ``by_year/{YYYY}.csv.gz``: one year of observations, streamed.

The gzip file is decompressed and parsed block by block by pyarrow's streaming CSV reader with
typed columns (station id and element dictionary-encoded, date and value int32); only the ID,
DATE, ELEMENT, VALUE and Q-FLAG columns are converted. Each block is filtered (the wanted
elements, an empty Q-FLAG) and scattered into one ``(stations, days)`` float32 array per
element, so memory holds the arrays and one block, never the uncompressed year.

Units: TMIN and TMAX in tenths of °C and PRCP in tenths of mm become °C and mm; -9999 is
missing (NaN). A row with a non-empty Q-FLAG failed one of NOAA's quality checks and is dropped
(counted). A row whose station is not in the station list is dropped and counted, its id
logged (NOAA's list and yearly files are updated on different days). A malformed line (wrong
number of fields, a non-integer value, a date that is not a day of the file's year) stops the
reader with a ValueError naming the file and the line number: never a silent skip.
"""

from __future__ import annotations

import gzip
import logging
import os
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

log = logging.getLogger(__name__)

__all__ = ["COLUMNS", "ELEMENT_SCALE", "MISSING", "YearData", "read_by_year", "year_dates"]

COLUMNS = ("id", "date", "element", "value", "mflag", "qflag", "sflag", "obstime")
#: Factor from the file's integer unit to °C or mm.
ELEMENT_SCALE = {"TMIN": 0.1, "TMAX": 0.1, "PRCP": 0.1}
MISSING = -9999
_BLOCK_BYTES = 1 << 24  # 16 MiB of CSV text per parsed block


@dataclass
class YearData:
    """One year's observations of the listed stations that reported any kept value.

    ``station_ids``: ``(n_stations,)`` in station-list order; ``dates``: ``(n_days,)``
    ``datetime64[D]`` (every calendar day of the year); ``values``: ``{element: (n_stations,
    n_days) float32}`` in °C or mm, NaN where missing; ``counts``: rows read, kept, dropped
    for a quality flag, -9999 values, rows of unlisted stations, repeated observations.
    """

    year: int
    station_ids: np.ndarray
    dates: np.ndarray
    values: dict
    counts: dict = field(default_factory=dict)


def year_dates(year: int) -> np.ndarray:
    """Every calendar day of ``year``, ``datetime64[D]``."""
    return np.arange(np.datetime64(f"{year}-01-01"), np.datetime64(f"{year + 1}-01-01"))


def _fail_at(path: Path, problem, year: int | None = None) -> ValueError:
    """Locate the first malformed line with a plain scan (only on the error path) and name it."""
    number, line, why = _first_bad_line(path, year)
    if number is None:
        return ValueError(f"{path}: {problem}")
    if line is None:  # the gzip stream itself is broken
        return ValueError(f"{path}: the gzip stream is corrupt or truncated after line "
                          f"{number - 1} ({why}): delete the file and download it again")
    return ValueError(f"{path}: line {number}: {why}: {line!r} (expected ID,YYYYMMDD,ELEMENT,"
                      "VALUE,M-FLAG,Q-FLAG,S-FLAG,OBS-TIME; the file may be truncated or not "
                      "a GHCN-Daily by_year file)")


def _line_problem(line: str, year: int | None) -> str | None:
    fields = line.split(",")
    if len(fields) != len(COLUMNS):
        return f"{len(fields)} fields instead of {len(COLUMNS)}"
    date, value = fields[1], fields[3]
    if len(fields[0]) != 11:
        return f"station id {fields[0]!r} is not 11 characters"
    if not (len(date) == 8 and date.isdigit()):
        return f"date {date!r} is not YYYYMMDD"
    try:
        day = np.datetime64(f"{date[:4]}-{date[4:6]}-{date[6:]}")
    except ValueError:
        return f"date {date!r} is not a calendar day"
    if year is not None and day.astype(object).year != year:
        return f"date {date!r} is not in the file's year {year}"
    try:
        int(value)
    except ValueError:
        return f"value {value!r} is not an integer"
    return None


def _first_bad_line(path: Path, year: int | None = None):
    """``(line number, line, problem)`` of the first malformed line; ``(n, None, error)`` when
    the gzip stream breaks before line n; ``(None, "", "")`` when nothing is wrong."""
    if year is None:
        year = _year_of(path)
    number, pending = 0, None
    try:
        with gzip.open(path, "rt", encoding="latin-1", newline="") as f:
            for number, line in enumerate(f, 1):
                if pending is not None:
                    return pending
                text = line.rstrip("\r\n")
                why = _line_problem(text, year) if text else None
                if why:  # judged once the next line (or a clean end) shows it is complete
                    pending = (number, text, why)
    except (OSError, EOFError) as err:  # a truncated or corrupt gzip stream
        return number, None, str(err)
    return pending if pending is not None else (None, "", "")


def _year_of(path: Path) -> int | None:
    stem = path.name.split(".")[0]
    return int(stem) if stem.isdigit() and len(stem) == 4 else None


_MONTH_START = {leap: np.concatenate([[0], np.cumsum(
    [31, 29 if leap else 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31])]) for leap in (0, 1)}


def _day_index(date: np.ndarray, year: int) -> np.ndarray:
    """YYYYMMDD ints -> 0-based day of ``year``; -1 where the date is not a day of it."""
    leap = int(year % 4 == 0 and (year % 100 != 0 or year % 400 == 0))
    y, m, d = date // 10000, (date // 100) % 100, date % 100
    start = _MONTH_START[leap]
    ok = (y == year) & (m >= 1) & (m <= 12) & (d >= 1)
    mm = np.clip(m, 1, 12) - 1
    ok &= d <= start[mm + 1] - start[mm]
    return np.where(ok, start[mm] + d - 1, -1)


def _lookup(dictionary, value_set) -> np.ndarray:
    """Index of each dictionary entry in ``value_set`` (a pyarrow array), -1 when absent."""
    import pyarrow.compute as pc

    return pc.index_in(dictionary, value_set=value_set).fill_null(-1).to_numpy(
        zero_copy_only=False).astype(np.int64)


def _decompressed(path: Path, decompressor: str):
    """``(stream, process or None)``: the file's CSV text. ``gzip``: an external ``gzip -dc``
    (decompression runs on another core while pyarrow parses); ``python``: in-process zlib;
    ``auto``: the gzip program when it is on the PATH."""
    import shutil
    import subprocess

    import pyarrow as pa

    if decompressor not in ("auto", "gzip", "python"):
        raise ValueError(f"decompressor {decompressor!r}: use auto, gzip or python")
    program = shutil.which("gzip") if decompressor != "python" else None
    if decompressor == "gzip" and program is None:
        raise FileNotFoundError("decompressor='gzip' but no gzip program is on the PATH; "
                                "install gzip or use decompressor='python'")
    if program is None:
        log.info("%s: decompressing in-process (zlib)", path)
        return pa.CompressedInputStream(pa.OSFile(str(path)), "gzip"), None
    log.info("%s: decompressing with %s -dc in parallel with the parse", path, program)
    proc = subprocess.Popen([program, "-dc", "--", str(path)], stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE)
    return pa.PythonFile(proc.stdout, mode="r"), proc


def read_by_year(path: str | os.PathLike, station_ids: Sequence[str], year: int,
                 elements: Sequence[str] = ("TMIN", "TMAX", "PRCP"), *,
                 block_bytes: int = _BLOCK_BYTES, progress: bool = False,
                 decompressor: str = "auto") -> YearData:
    """Read one ``{year}.csv.gz`` into per-element ``(stations, days)`` arrays.

    Args:
        path: the gzip CSV (``by_year/{year}.csv.gz``).
        station_ids: the station list's ids (``formats.read_stations(...)["id"]``).
        year: the year the file holds; a date of another year is a malformed line.
        elements: which elements to keep (keys of :data:`ELEMENT_SCALE`).
        block_bytes: uncompressed bytes per parsed block (memory ~ a few times this).
        progress: a progress bar over the rows read.
        decompressor: ``auto`` (an external ``gzip -dc`` when the program exists, so that
            decompression and parsing use two cores), ``gzip`` or ``python`` (in-process).
    Returns a :class:`YearData` restricted to the stations with at least one kept value.
    """
    import pyarrow as pa
    import pyarrow.csv as pcsv

    path = Path(path)
    unknown = [e for e in elements if e not in ELEMENT_SCALE]
    if unknown:
        raise ValueError(f"elements {unknown}: the reader converts {sorted(ELEMENT_SCALE)}")
    if not path.is_file():
        raise FileNotFoundError(f"{path}: no such file; the download rule writes it")
    ids = [str(s) for s in station_ids]
    if len(set(ids)) != len(ids):
        raise ValueError("station_ids repeat an id: pass the station list's ids once each")
    codes = list(elements)
    n_days = len(year_dates(year))
    grid = np.full((len(elements), len(ids), n_days), np.nan, np.float32)
    counts = dict.fromkeys(("rows", "kept", "quality_flagged", "missing_value",
                            "unlisted_station_rows", "repeated"), 0)
    unlisted: set[str] = set()
    dictionary = pa.dictionary(pa.int32(), pa.string())
    convert = pcsv.ConvertOptions(
        column_types={"id": dictionary, "date": pa.int32(), "element": dictionary,
                      "value": pa.int32(), "qflag": dictionary},
        include_columns=["id", "date", "element", "value", "qflag"])
    tables = (pa.array(ids, pa.string()), pa.array(codes, pa.string()))
    bar = None
    if progress:
        from tqdm.auto import tqdm

        bar = tqdm(unit=" rows", unit_scale=True, desc=path.name, mininterval=2)
    stream, proc = _decompressed(path, decompressor)
    try:
        reader = pcsv.open_csv(
            stream, read_options=pcsv.ReadOptions(column_names=list(COLUMNS),
                                                  block_size=block_bytes),
            convert_options=convert)
        for batch in reader:
            _scatter(batch, grid, tables, year, counts, unlisted, path)
            if bar is not None:
                bar.update(batch.num_rows)
        if proc is not None and proc.wait() != 0:
            raise OSError(f"gzip -dc exited with {proc.returncode}: "
                          f"{proc.stderr.read().decode(errors='replace').strip()}")
    except (pa.ArrowInvalid, OSError, EOFError) as err:
        raise _fail_at(path, err, year) from None
    finally:
        stream.close()
        if proc is not None:
            if proc.poll() is None:
                proc.kill()
            proc.wait()
            proc.stdout.close()
            proc.stderr.close()
        if bar is not None:
            bar.close()
    if unlisted:
        log.warning("%s: %d rows of %d stations that are not in the station list were "
                    "dropped (e.g. %s)", path, counts["unlisted_station_rows"], len(unlisted),
                    sorted(unlisted)[:3])
    counts["unlisted_stations"] = len(unlisted)
    reported = np.flatnonzero(np.isfinite(grid).any(axis=(0, 2)))
    station_array = np.asarray(ids, dtype=object)[reported].astype(str)
    values = {e: grid[i][reported] for i, e in enumerate(elements)}
    return YearData(year, station_array, year_dates(year), values, counts)


def _scatter(batch, grid, tables, year, counts, unlisted, path) -> None:
    """Filter one parsed block and write its values into ``grid`` (element, station, day)."""
    import pyarrow.compute as pc

    n = batch.num_rows
    counts["rows"] += n
    id_col, element_col = batch.column("id"), batch.column("element")
    q_col = batch.column("qflag")
    ids, codes = tables
    element = _lookup(element_col.dictionary, codes)[
        element_col.indices.to_numpy(zero_copy_only=False)]
    q_ok = np.array([s == "" for s in q_col.dictionary.to_pylist()], bool)[
        q_col.indices.to_numpy(zero_copy_only=False)]
    wanted = element >= 0
    counts["quality_flagged"] += int(np.count_nonzero(wanted & ~q_ok))
    keep = wanted & q_ok
    date = batch.column("date").to_numpy(zero_copy_only=False)
    day = _day_index(date, year)
    if np.any(day < 0):  # every row's date must be a day of this year, wanted or not
        raise _fail_at(path, f"a date outside {year}", year)
    if not np.any(keep):
        return
    station = _lookup(id_col.dictionary, ids)[id_col.indices.to_numpy(zero_copy_only=False)]
    if np.any(keep & (station < 0)):
        drop = keep & (station < 0)
        counts["unlisted_station_rows"] += int(np.count_nonzero(drop))
        names = pc.take(id_col.dictionary,
                        np.unique(id_col.indices.to_numpy(zero_copy_only=False)[drop]))
        unlisted.update(names.to_pylist())
        keep &= station >= 0
    value = batch.column("value").to_numpy(zero_copy_only=False)[keep]
    e, s, d = element[keep], station[keep], day[keep]
    missing = value == MISSING
    counts["missing_value"] += int(np.count_nonzero(missing))
    # -9999 rows write nothing: the cell stays NaN, and never erases a value of another row
    e, s, d, value = e[~missing], s[~missing], d[~missing], value[~missing]
    scale = np.array([ELEMENT_SCALE[k] for k in codes.to_pylist()], np.float32)[e]
    # a repeat: a value whose cell already holds one, from an earlier block or from an
    # earlier row of this block (every value but the first of each cell that was empty)
    # distinct empty cells without a sort: mark each with the index of its last writer; one
    # writer per cell finds its own index back (float32 holds a block's row indices exactly)
    flat = grid.reshape(-1)
    cell = np.ravel_multi_index((e, s, d), grid.shape)
    empty = cell[~np.isfinite(flat[cell])]
    flat[empty] = np.arange(empty.size, dtype=np.float32)
    repeated = cell.size - int(np.count_nonzero(flat[empty] == np.arange(empty.size)))
    counts["repeated"] += repeated
    flat[cell] = (value * scale).astype(np.float32)
    counts["kept"] += int(np.count_nonzero(~missing))
    if repeated:
        log.warning("%s: %d observations repeat an earlier row (same station, day and "
                    "element); the later row is kept", path, repeated)
