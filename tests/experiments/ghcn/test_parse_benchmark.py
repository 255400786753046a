"""benchmarks/ghcn_parse.py: the synthetic by_year file (checked independently with pandas),
its cache, and the harness end to end in ``--small`` mode (a stand-in parser, then the real
one)."""

from __future__ import annotations

import importlib.util
import textwrap
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from deepsphere.experiments.ghcn.formats import read_stations

ROOT = Path(__file__).resolve().parents[3]
_spec = importlib.util.spec_from_file_location("ghcn_parse_benchmark",
                                               ROOT / "benchmarks" / "ghcn_parse.py")
bench = importlib.util.module_from_spec(_spec)
_spec.loader.exec_module(bench)

YEAR, SMALL = 2010, bench.SMALL_ROWS


def _read(path) -> pd.DataFrame:
    return pd.read_csv(path, header=None, names=bench.COLUMNS, dtype=str,
                       keep_default_na=False)


@pytest.fixture(scope="module")
def small(tmp_path_factory):
    """The ``--small`` file: ``(csv.gz, stations, meta, frame of the file as strings)``."""
    folder = tmp_path_factory.mktemp("ghcn-small")
    path, stations, meta, generated = bench.ensure_data(folder, SMALL, YEAR, 0)
    assert generated
    return path, stations, meta, _read(path)


def test_generated_file_has_the_real_layout_and_element_mix(small):
    path, stations, meta, df = small
    assert len(df) == SMALL == meta["rows"]
    mix = df["element"].value_counts(normalize=True)
    for element, fraction in bench.MIX.items():
        assert mix.get(element, 0) == pytest.approx(fraction, abs=0.01 + 0.05 * fraction), \
            element
    assert set(mix.index) == set(bench.MIX)
    assert df["element"].value_counts().to_dict() == meta["elements"]
    # one observation per (station, day, element); sorted by date, then station
    assert not df.duplicated(["id", "date", "element"]).any()
    order = df["date"] + df["id"]
    assert (order.to_numpy()[1:] >= order.to_numpy()[:-1]).all()
    listed = read_stations(stations)
    assert len(listed) == meta["stations"] == round(SMALL / bench.ROWS_PER_STATION)
    assert set(df["id"]) <= set(listed["id"]) and df["id"].str.len().eq(11).all()
    days = pd.to_datetime(df["date"], format="%Y%m%d")
    assert days.dt.year.eq(YEAR).all() and days.nunique() == 365
    value = pd.to_numeric(df["value"])
    assert 0 < (value == -9999).mean() < 0.002
    assert 0.001 < (df["qflag"] != "").mean() < 0.004
    assert (df["mflag"] == "").mean() > 0.9 and set(df["mflag"]) <= {"", "T", "D", "P"}
    assert set(df["sflag"]) <= set(bench.SFLAGS)
    assert df["obstime"].str.fullmatch(r"|\d{4}").all() and (df["obstime"] == "").any()
    tmax = value[(df["element"] == "TMAX") & (value != -9999)]
    assert -600 < tmax.min() and tmax.max() < 600  # tenths of a degree


def test_cache_is_reused_and_regenerated_for_another_size(tmp_path):
    *_, meta, generated = bench.ensure_data(tmp_path, 20_000, YEAR, 0)
    assert generated and meta["rows"] == 20_000
    *_, again, generated = bench.ensure_data(tmp_path, 20_000, YEAR, 0)
    assert not generated and again == meta
    path, _, meta, generated = bench.ensure_data(tmp_path, 21_000, YEAR, 0)
    assert generated and len(_read(path)) == 21_000
    (tmp_path / "meta.json").write_text("{")  # a broken marker: generate again
    assert bench.ensure_data(tmp_path, 21_000, YEAR, 0)[3]


STANDIN = '''
from types import SimpleNamespace
import numpy as np
import pandas as pd

def read_by_year(path, station_ids, year, elements=("TMIN", "TMAX", "PRCP")):
    df = pd.read_csv(path, header=None, usecols=[0, 1, 2, 3])
    day = (pd.to_datetime(df[1].astype(str)) - pd.Timestamp(year, 1, 1)).dt.days.to_numpy()
    row = pd.Index(list(station_ids)).get_indexer(df[0])
    values = {}
    for e in elements:
        m = (df[2] == e).to_numpy()
        values[e] = np.full((len(station_ids), 365), np.nan, np.float32)
        values[e][row[m], day[m]] = df[3].to_numpy()[m]
    return SimpleNamespace(values=values, counts={"rows": len(df)})
'''


def _run(tmp_path, *extra):
    out = tmp_path / "table.md"
    text, meta, m = bench.run(["--small", "--data", str(tmp_path / "data"), "--out", str(out),
                               *extra])
    assert out.read_text() == text
    return text, meta, m


def _table_rows(text):
    return [line for line in text.splitlines() if line.startswith("| ") and "---" not in line]


@pytest.mark.slow
def test_small_run_with_a_stand_in_parser_and_the_memory_guard(tmp_path, monkeypatch):
    (tmp_path / "standin_reader.py").write_text(textwrap.dedent(STANDIN))
    monkeypatch.setenv("PYTHONPATH", str(tmp_path))
    text, meta, m = _run(tmp_path, "--parser", "standin_reader:read_by_year")
    rows = _table_rows(text)
    assert len(rows) == 4 and rows[0].startswith("| method")
    assert [r.split("|")[1].strip().split()[0] for r in rows[1:]] == [
        "`zcat", "our", "`pandas.read_csv(path,"]
    assert rows[2].rstrip(" |").endswith(("PASS", "FAIL"))
    assert m["pandas"]["rows"] == SMALL and m["zcat"]["rc"] == 0
    assert m["parser"]["shapes"] == {e: [meta["stations"], 365] for e in bench.ELEMENTS}
    assert all(m[k]["peak"] > 0 and m[k]["wall"] > 0 for k in ("zcat", "parser", "pandas"))
    # zcat's peak is its own (plus the small launcher's), not this process's
    assert m["zcat"]["peak"] < 64 * 2**20
    # a child over the memory limit is killed and reported, not waited for
    text, _, m = _run(tmp_path, "--parser", "standin_reader:read_by_year", "--skip-pandas",
                      "--memory-limit-gib", "0.03")
    assert m["parser"]["over"] and "over the limit" in text and "pandas" not in m
    assert len(_table_rows(text)) == 3


def _real_parser_missing() -> str | None:
    try:
        from deepsphere.experiments.ghcn import by_year
    except ImportError as err:
        return f"deepsphere.experiments.ghcn.by_year does not import: {err}"
    if not hasattr(by_year, "read_by_year"):
        return "deepsphere.experiments.ghcn.by_year has no read_by_year yet"
    return None


@pytest.mark.slow
@pytest.mark.skipif(_real_parser_missing() is not None, reason=str(_real_parser_missing()))
def test_small_run_with_the_real_parser(tmp_path, small):
    text, meta, m = _run(tmp_path, "--skip-pandas")
    rows = _table_rows(text)
    assert len(rows) == 3 and "read_by_year" in rows[2]
    assert rows[2].rstrip(" |").endswith(("PASS", "FAIL"))
    parser = m["parser"]
    assert parser["rc"] == 0 and not parser["over"]
    # what the parser must find, from the file itself: rows of the three elements with an
    # empty Q-FLAG and a value other than -9999; stations with at least one of them
    df = small[3]  # the same generator, request and seed as the run's file: the same file
    timing = ("seconds", "build_seconds", "compress_seconds")
    assert {k: v for k, v in meta.items() if k not in timing} == \
        {k: v for k, v in small[2].items() if k not in timing}
    kept = df[df["element"].isin(bench.ELEMENTS) & (df["qflag"] == "")
              & (df["value"] != "-9999")]
    stations = kept["id"].nunique()
    assert stations <= meta["stations"]
    for e in bench.ELEMENTS:
        assert parser["shapes"][e] in ([stations, 365], [meta["stations"], 365]), e
        assert parser["dtypes"][e] == "float32"
        assert parser["finite"][e] == int(np.count_nonzero(kept["element"] == e)), e
