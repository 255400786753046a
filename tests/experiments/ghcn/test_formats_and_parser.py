"""GHCN-Daily's two file formats: the fixed-width station list and the by_year CSV.gz reader.

References: station lines written by hand in NOAA's column layout (readme.txt: ID 1-11, LAT
13-20, LON 22-30, ELEV 32-37, STATE 39-40, NAME 42-71, GSN 73-75, HCN/CRN 77-79, WMO 81-85),
and a by_year file written by hand whose values, units (tenths of °C / mm), flags and counts
are worked out below line by line.
"""

from __future__ import annotations

import gzip

import numpy as np
import pytest

from deepsphere.experiments.ghcn.by_year import read_by_year
from deepsphere.experiments.ghcn.formats import format_station_line, read_stations

# ----------------------------------------------------------------------------- station list
ACW = "ACW00011604  17.1167  -61.7833   10.1    ST JOHNS COOLIDGE FLD"
USW = ("USW00094728  40.7789  -73.9692   39.6 NY NEW YORK CNTRL PK TWR              "
       "HCN 72506")
AYW = "AYW00090001 -90.0000    0.0000 -999.9    AMUNDSEN-SCOTT"
ASN = ("ASN00015590 -23.7951  133.8890  546.0    ALICE SPRINGS AIRPORT          GSN     "
       "94326")
STATION_LINES = [ACW, USW, AYW, ASN]
IDS = ["ACW00011604", "USW00094728", "AYW00090001", "ASN00015590"]


def test_the_hand_written_lines_follow_noaas_columns():
    """The fixture itself, checked against the readme's 1-based columns."""
    assert USW[0:11] == "USW00094728" and USW[12:20] == " 40.7789"
    assert USW[21:30] == " -73.9692" and USW[31:37] == "  39.6" and USW[38:40] == "NY"
    assert USW[41:71].rstrip() == "NEW YORK CNTRL PK TWR" and USW[76:79] == "HCN"
    assert USW[80:85] == "72506" and len(USW) == 85
    assert ASN[72:75] == "GSN" and ASN[76:79] == "   " and ASN[80:85] == "94326"
    assert AYW[31:37] == "-999.9" and AYW[41:] == "AMUNDSEN-SCOTT"
    assert ACW[41:] == "ST JOHNS COOLIDGE FLD"


def test_read_stations_gives_the_hand_known_values(tmp_path):
    path = tmp_path / "ghcnd-stations.txt"
    path.write_text("\n".join(STATION_LINES) + "\n")
    st = read_stations(path)
    assert list(st["id"]) == IDS
    np.testing.assert_array_equal(st["lat"], [17.1167, 40.7789, -90.0, -23.7951])
    np.testing.assert_array_equal(st["lon"], [-61.7833, -73.9692, 0.0, 133.889])
    assert st["elev"][0] == 10.1 and st["elev"][1] == 39.6 and st["elev"][3] == 546.0
    assert np.isnan(st["elev"][2])  # -999.9: unknown
    assert list(st["state"]) == ["", "NY", "", ""]
    assert list(st["name"]) == ["ST JOHNS COOLIDGE FLD", "NEW YORK CNTRL PK TWR",
                                "AMUNDSEN-SCOTT", "ALICE SPRINGS AIRPORT"]
    assert list(st["gsn"]) == ["", "", "", "GSN"]
    assert list(st["hcn_crn"]) == ["", "HCN", "", ""]
    assert list(st["wmo"]) == ["", "72506", "", "94326"]


@pytest.mark.parametrize("bad,number,words", [
    ("ACW00011604  17.1167", 3, "characters"),  # cut before LON
    ("USW00094728  4O.7789  -73.9692   39.6 NY NEW YORK", 3, "not numbers"),  # letter O
    (USW, 3, "already listed at line 2"),
])
def test_bad_station_lines_name_the_file_and_the_line(tmp_path, bad, number, words):
    path = tmp_path / "ghcnd-stations.txt"
    path.write_text("\n".join([ACW, USW, bad, AYW]) + "\n")
    with pytest.raises(ValueError) as err:
        read_stations(path)
    msg = str(err.value)
    assert f"{path}: line {number}" in msg and words in msg


def test_format_station_line_writes_noaas_layout_and_reads_back(tmp_path):
    assert format_station_line("USW00094728", 40.7789, -73.9692, 39.6, "NY",
                               "NEW YORK CNTRL PK TWR", "", "HCN", "72506") == USW
    assert format_station_line("AYW00090001", -90.0, 0.0, -999.9,
                               name="AMUNDSEN-SCOTT") == AYW
    rows = [("ACW00011604", 17.1167, -61.7833, 10.1, "", "ST JOHNS COOLIDGE FLD", "", "", ""),
            ("ASN00015590", -23.7951, 133.889, 546.0, "", "ALICE SPRINGS AIRPORT", "GSN", "",
             "94326"),
            ("CA001012475", 48.4333, -123.3167, -1.5, "BC", "VICTORIA", "", "", "71799")]
    path = tmp_path / "stations.txt"
    path.write_text("\n".join(format_station_line(*r) for r in rows) + "\n")
    st = read_stations(path)
    for i, r in enumerate(rows):
        assert tuple(st.iloc[i][["id", "lat", "lon", "elev", "state", "name", "gsn", "hcn_crn",
                                 "wmo"]]) == r


# ----------------------------------------------------------------------------- by_year reader
A, B, D = "ACW00011604", "USW00094728", "ASN00015590"  # C = AYW00090001 never reports
YEAR_LINES = [
    f"{B},20120101,TMAX,44,,,X,2400",      # B, day 0: 4.4 °C
    f"{B},20120101,TMIN,-56,,,X,2400",     # B, day 0: -5.6 °C
    f"{B},20120101,PRCP,25,T,,X,0700",     # B, day 0: 2.5 mm (M-FLAG T does not drop it)
    f"{B},20120229,TMAX,-9999,,,X,",       # B, day 59: missing value
    f"{B},20120229,TMIN,12,,G,X,",         # B, day 59: Q-FLAG G, dropped although plausible
    f"{B},20120229,SNOW,0,,,X,",           # not an element we read
    f"{A},20120229,TMAX,301,,,S,",         # A, day 59 (29 February): 30.1 °C
    f"{A},20121231,TMIN,218,,,S,0800",     # A, day 365 (31 December): 21.8 °C
    f"{A},20120301,PRCP,0,,,S,",           # A, day 60 (1 March): 0.0 mm, a value
    f"{A},20120301,TAVG,250,H,,S,",        # not an element we read
    f"{B},20120102,PRCP,3,,,X,0700",       # B, day 1: 0.3 mm
    "ZZW00000001,20120105,TMAX,100,,,X,",  # a station not in the list
    f"{D},20120615,TMAX,-9999,,,a,",       # D: only a missing value...
    f"{D},20120615,TMIN,80,,I,a,",         # ...and a flagged one: D does not report
]


def _gz(path, lines):
    path.parent.mkdir(parents=True, exist_ok=True)
    with gzip.open(path, "wt") as f:
        f.write("\n".join(lines) + "\n")
    return path


@pytest.mark.parametrize("decompressor", ["python", "auto"])
def test_read_by_year_gives_the_hand_worked_values(tmp_path, decompressor):
    path = _gz(tmp_path / "2012.csv.gz", YEAR_LINES)
    data = read_by_year(path, IDS, 2012, decompressor=decompressor)
    assert list(data.station_ids) == [A, B]  # station-list order, only those with a value
    assert len(data.dates) == 366
    assert data.dates[0] == np.datetime64("2012-01-01")
    assert data.dates[59] == np.datetime64("2012-02-29")
    assert data.dates[-1] == np.datetime64("2012-12-31")
    assert np.all(np.diff(data.dates) == np.timedelta64(1, "D"))
    expected = {e: np.full((2, 366), np.nan) for e in ("TMIN", "TMAX", "PRCP")}
    expected["TMAX"][0, 59] = 30.1
    expected["TMAX"][1, 0] = 4.4
    expected["TMIN"][0, 365] = 21.8
    expected["TMIN"][1, 0] = -5.6
    expected["PRCP"][0, 60] = 0.0
    expected["PRCP"][1, 0] = 2.5
    expected["PRCP"][1, 1] = 0.3
    assert sorted(data.values) == sorted(expected)
    for e, want in expected.items():
        assert data.values[e].shape == (2, 366)
        np.testing.assert_allclose(data.values[e], want, rtol=0, atol=1e-5)  # NaN where NaN
    # 14 rows; wanted elements: all but SNOW and TAVG (12); Q-flagged among them: B TMIN 0229
    # and D TMIN (2); of the 10 left, 1 is the unlisted station's; of the 9, 2 are -9999
    assert {k: data.counts[k] for k in ("rows", "quality_flagged", "unlisted_station_rows",
                                        "missing_value", "kept", "repeated")} == {
        "rows": 14, "quality_flagged": 2, "unlisted_station_rows": 1, "missing_value": 2,
        "kept": 7, "repeated": 0}
    assert data.counts["unlisted_stations"] == 1


@pytest.mark.parametrize("block_bytes", [1 << 20, 64])  # one block; about a line a block
def test_a_repeated_observation_keeps_the_later_row_and_is_counted(tmp_path, block_bytes):
    lines = [f"{A},20120105,TMAX,100,,,S,", f"{A},20120106,TMAX,50,,,S,",
             f"{A},20120105,TMAX,120,,,S,", f"{A},20120105,TMAX,110,,,S,"]
    path = _gz(tmp_path / "2012.csv.gz", lines)
    data = read_by_year(path, IDS, 2012, elements=("TMAX",), decompressor="python",
                        block_bytes=block_bytes)
    assert data.values["TMAX"][0, 4] == pytest.approx(11.0)  # the last of the three
    assert data.values["TMAX"][0, 5] == pytest.approx(5.0)
    assert data.counts["repeated"] == 2 and data.counts["kept"] == 4


GOOD = [f"{A},20120101,TMAX,301,,,S,", f"{B},20120101,TMIN,-56,,,X,2400"]
MALFORMED = {  # name: (lines, 1-based number of the bad line)
    "seven_fields": (GOOD + [f"{B},20120102,TMAX,44,,,X"] + GOOD, 3),
    "non_integer_value": (GOOD * 2 + [f"{B},20120102,TMAX,4x4,,,X,"] + GOOD, 5),
    "date_of_another_year": (GOOD + [f"{B},20110101,TMAX,44,,,X,"] + GOOD, 3),
    "impossible_date": (GOOD * 3 + [f"{B},20120230,TMAX,44,,,X,"], 7),
}


@pytest.mark.parametrize("decompressor", ["python", "auto"])
@pytest.mark.parametrize("case", sorted(MALFORMED))
def test_a_malformed_line_is_named_by_file_and_number(tmp_path, case, decompressor):
    lines, number = MALFORMED[case]
    path = _gz(tmp_path / case / "2012.csv.gz", lines)
    with pytest.raises(ValueError) as err:
        read_by_year(path, IDS, 2012, decompressor=decompressor)
    msg = str(err.value)
    assert str(path) in msg and f"line {number}:" in msg, msg


@pytest.mark.parametrize("decompressor", ["python", "auto"])
def test_a_truncated_gzip_file_is_named_truncated(tmp_path, decompressor):
    rng = np.random.default_rng(0)  # varied values: the compressed file is not tiny
    lines = [f"{B},2012{1 + d // 28:02d}{1 + d % 28:02d},TMAX,{v},,,X,0700"
             for d, v in enumerate(rng.integers(-300, 400, 300))]
    whole = _gz(tmp_path / "whole" / "2012.csv.gz", lines).read_bytes()
    assert len(whole) > 1000
    path = tmp_path / "2012.csv.gz"
    path.write_bytes(whole[:len(whole) // 2])
    with pytest.raises(ValueError, match="truncated") as err:
        read_by_year(path, IDS, 2012, decompressor=decompressor)
    assert str(path) in str(err.value)
