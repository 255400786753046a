"""deepsphere.experiments.sphere.tables: the study's result frames, against hand-worked frames.

Values are binary fractions (0.25, 0.625, ...) so that every ratio on a boundary is exact.
"""

import math

import numpy as np
import pandas as pd
import pytest

from deepsphere.experiments.sphere import tables
from deepsphere.experiments.sphere.width_search import WidthSearch
from deepsphere.reporting.tables import write_table


def _curves(rows):
    """Our equivariance curves from ``(graph, nside, ell, error)`` rows (error_squared = e^2)."""
    df = pd.DataFrame(rows, columns=["graph", "nside", "ell", "error"])
    df["error_squared"] = df["error"] ** 2
    return df


def _paper_eq(rows):
    return pd.DataFrame(rows, columns=["graph", "nside", "ell", "error"]).assign(in_figure=True)


# --------------------------------------------------------------------------------------------
# equivariance
# --------------------------------------------------------------------------------------------
EQ_PAPER = _paper_eq([
    ("v1", 32, 10, 0.25),  # ours 0.625: ratio 2.5 > 2, not within; ell < ell_min
    ("v1", 32, 20, 0.5),  # ours 0.25: ratio 1/2, the lower bound: within
    ("v1", 32, 30, 0.125),  # ours 0.25: ratio 2, the upper bound: within
    ("v1", 32, 40, 1.0),  # ours 0.4375: ratio just under 1/2: not within
    ("v1", 32, 50, 0.5),  # no result of ours: stays, empty
])  # fmt: skip
EQ_OURS = _curves([
    ("v1", 32, 10, 0.625),
    ("v1", 32, 20, 0.25),
    ("v1", 32, 30, 0.25),
    ("v1", 32, 40, 0.4375),
])  # fmt: skip


def _eq_table(**kw):
    table, notes = tables.equivariance_table(EQ_OURS, factor=2.0, ell_min=20, paper=EQ_PAPER, **kw)
    return table.set_index("ell"), notes


def test_equivariance_ratio_and_within_factor_bounds():
    table, _ = _eq_table()
    np.testing.assert_array_equal(
        table.loc[[10, 20, 30, 40], "error_ratio"], [2.5, 0.5, 2.0, 0.4375]
    )
    assert table.loc[10, "within_x2"] == False  # noqa: E712 (2.5 > 2)
    assert table.loc[20, "within_x2"] == True  # noqa: E712 (0.5 = 1/2, bound included)
    assert table.loc[30, "within_x2"] == True  # noqa: E712 (2 = 2, bound included)
    assert table.loc[40, "within_x2"] == False  # noqa: E712 (0.4375 < 1/2)


def test_equivariance_criterion_applies_from_ell_min_included():
    table, notes = _eq_table()
    assert table["criterion_applies"].to_dict() == {10: "no", 20: "yes", 30: "yes", 40: "yes",
                                                    50: "yes"}  # fmt: skip
    assert "within_x2: ours/paper in [1/2, 2]; the acceptance applies for ell >= 20." in notes


def test_equivariance_paper_row_without_ours_stays_empty(tmp_path):
    table, notes = _eq_table()
    row = table.loc[50]
    assert row["error_paper"] == 0.5
    assert all(pd.isna(row[c]) for c in ("error_ours", "error_ratio", "error_squared_ours",
                                         "within_x2"))  # fmt: skip
    assert table.loc[20, "error_squared_ours"] == 0.0625
    write_table(table.reset_index(), tmp_path / "t.csv")
    lines = (tmp_path / "t.csv").read_text().splitlines()
    assert lines[0] == ("ell,graph,nside,error_paper,error_ours,error_ratio,error_squared_ours,"
                        "within_x2,criterion_applies")  # fmt: skip
    assert lines[-1] == "50,v1,32,0.5,,,,,yes"


def test_equivariance_default_paper_is_restricted_to_our_nsides():
    paper = tables.paper_equivariance_error([32])
    assert set(paper["nside"]) == {32} and set(paper["graph"]) == {"v1", "knn8", "knn20", "knn40"}
    ours = _curves([("v1", 32, 10, 0.5)])
    table, _ = tables.equivariance_table(ours, factor=2.0, ell_min=20)
    assert set(table["nside"]) == {32} and len(table) == len(paper)
    row = table[(table["graph"] == "v1") & (table["ell"] == 10)].iloc[0]
    assert row["error_ratio"] == pytest.approx(0.5 / 0.5222740239788759)  # the paper's Fig. 2


# --------------------------------------------------------------------------------------------
# kernel widths
# --------------------------------------------------------------------------------------------
def _search_rows(nside, k, best, grid_argmin):
    return [(nside, k, "grid", grid_argmin, 1.0), (nside, k, "grid_argmin", grid_argmin, 0.5),
            (nside, k, "best", best, 0.25)]  # fmt: skip


KW_PAPER = pd.DataFrame(
    [(32, 8, 0.5, 0.125, "table"), (32, 20, 0.5, 0.125, "table"), (32, 40, 0.5, 0.125, "table"),
     (32, 60, 1.0, 0.25, "table"), (64, 8, 0.25, 0.0625, "table")],
    columns=["nside", "k", "sigma", "t", "source"],
)  # fmt: skip


def _kw_table(rtol=0.25):
    rows = (_search_rows(32, 8, 0.625, 0.5) + _search_rows(32, 20, 0.375, 0.5)
            + _search_rows(32, 40, 0.640625, 0.5))  # fmt: skip
    searches = pd.DataFrame(rows, columns=["nside", "k", "kind", "sigma", "error"])
    searches["t"] = searches["sigma"] / 4
    table, notes = tables.kernel_widths_table(searches, rtol=rtol, paper=KW_PAPER)
    return table, notes


def _kw_table32(rtol=0.25):
    table, notes = _kw_table(rtol)
    return table[table["nside"] == 32].set_index("k"), notes


def test_kernel_width_within_rtol_bounds():
    table, _ = _kw_table32()
    np.testing.assert_array_equal(table.loc[[8, 20, 40], "sigma_ratio"], [1.25, 0.75, 1.28125])
    assert table.loc[8, "within_25%"] == True  # noqa: E712 (+25%: the bound, included)
    assert table.loc[20, "within_25%"] == True  # noqa: E712 (-25%: the bound, included)
    assert table.loc[40, "within_25%"] == False  # noqa: E712 (+28%)
    assert table.loc[8, "t_ours"] == 0.625 / 4 and table.loc[8, "t_paper"] == 0.125
    tight, _ = _kw_table32(rtol=0.2)
    assert "within_20%" in tight.columns and not tight.loc[[8, 20, 40], "within_20%"].any()


def test_kernel_width_paper_rows_without_ours_stay_empty_at_every_nside():
    """Every row the paper has (the paper config's table must not drop any)."""
    full, notes = _kw_table()
    keys = sorted(map(tuple, full[["nside", "k"]].to_numpy().tolist()))
    assert keys == sorted(map(tuple, KW_PAPER[["nside", "k"]].to_numpy().tolist()))
    assert full.loc[full["nside"] == 64, "sigma_ours"].isna().all()
    table = full[full["nside"] == 32].set_index("k")
    assert list(table.index) == [8, 20, 40, 60]
    row = table.loc[60]
    assert row["sigma_paper"] == 1.0 and row["t_paper"] == 0.25
    assert all(pd.isna(row[c]) for c in ("sigma_ours", "sigma_ratio", "t_ours", "within_25%"))
    assert list(table.columns) == ["nside", "sigma_paper", "sigma_ours", "sigma_ratio", "t_paper",
                                   "t_ours", "t_ratio", "within_25%"]  # fmt: skip
    assert any("bounded local refinement" in n for n in notes)


def test_kernel_widths_figure_frames():
    table, _ = _kw_table32()
    ours, paper = tables.kernel_widths_figure_frames(table.reset_index())
    assert list(ours.columns) == ["nside", "k", "t_ours"] and list(ours["k"]) == [8, 20, 40]
    assert paper["nside"].min() >= 32 and {"nside", "k", "t"} <= set(paper.columns)


def test_v1_heuristic_table(monkeypatch):
    monkeypatch.setattr(tables, "paper_v1_heuristic_t", lambda: {1: 0.66699})
    v1 = tables.v1_heuristic_table([1, 2])
    assert list(v1.columns) == ["nside", "t_ours", "t_paper"] and list(v1["nside"]) == [1, 2]
    assert v1.loc[0, "t_ours"] == pytest.approx(0.66699, rel=1e-4)  # the paper's stored value
    assert v1.loc[0, "t_paper"] == 0.66699 and math.isnan(v1.loc[1, "t_paper"])
    assert v1.loc[1, "t_ours"] == pytest.approx(0.19177, rel=1e-4)


# --------------------------------------------------------------------------------------------
# per-job frames
# --------------------------------------------------------------------------------------------
def test_width_search_frame():
    res = WidthSearch(np.array([0.25, 0.5, 1.0]), np.array([3.0, 1.0, 2.0]), 0.5, 0.625, 0.75,
                      False)  # fmt: skip
    out = tables.width_search_frame(res, nside=32, k=8)
    assert list(out.columns) == ["nside", "k", "kind", "sigma", "error", "t", "at_edge"]
    assert list(out["kind"]) == ["grid"] * 3 + ["grid_argmin", "best"]
    np.testing.assert_array_equal(out["sigma"], [0.25, 0.5, 1.0, 0.5, 0.625])
    np.testing.assert_array_equal(out["error"], [3.0, 1.0, 2.0, 1.0, 0.75])
    np.testing.assert_allclose(out["t"], out["sigma"] ** 2 / (4 * np.log(2)), rtol=1e-12)
    assert (out["nside"] == 32).all() and (out["k"] == 8).all() and not out["at_edge"].any()


def test_label_curve_puts_graph_and_nside_first_and_rotation_last():
    curve = pd.DataFrame({"ell": [10, 20], "error": [0.5, 0.25]})
    out = tables.label_curve(curve, graph="knn8", nside=32, rotation="haar")
    assert list(out.columns) == ["graph", "nside", "ell", "error", "rotation"]
    assert list(out["graph"]) == ["knn8"] * 2 and list(out["rotation"]) == ["haar"] * 2
    assert list(curve.columns) == ["ell", "error"]  # the input is left alone


# --------------------------------------------------------------------------------------------
# filtering speed
# --------------------------------------------------------------------------------------------
SPEED_PAPER = pd.DataFrame(
    {"nside": [1024, 1024], "method": ["graph", "sh"], "K": [5, None], "lmax_factor": [None, 2],
     "patch_fraction": [1, 1], "seconds": [4.0, 20.0]}
).astype({"K": "Int64", "lmax_factor": "Int64"})  # fmt: skip


def _speeds():
    return pd.DataFrame(
        {"nside": [64, 1024, 1024], "method": ["graph", "graph", "sh"], "K": [5.0, 5.0, None],
         "lmax_factor": [None, None, 2.0], "patch_fraction": [1, 1, 1],
         "n_vertices": [49152, 12582912, 12582912], "threads": [2, 2, 2],
         "seconds_min": [0.5, 2.0, 40.0], "seconds_median": [0.75, 2.5, 50.0]}
    )  # fmt: skip


def test_filtering_speed_row_the_paper_lacks_is_kept_empty(tmp_path):
    table, notes = tables.filtering_speed_table(_speeds(), paper=SPEED_PAPER)
    assert len(table) == 3
    at64 = table[table["nside"] == 64].iloc[0]
    assert at64["seconds_ours"] == 0.5 and pd.isna(at64["seconds_paper"])
    assert pd.isna(at64["seconds_ratio"]) and at64["seconds_median"] == 0.75
    big = table[table["nside"] == 1024].set_index("method")
    assert big.loc["graph", "seconds_ratio"] == 0.5 and big.loc["sh", "seconds_ratio"] == 2.0
    assert big.loc["sh", "n_vertices"] == 12582912 and str(table["K"].dtype) == "Int64"
    write_table(table, tmp_path / "s.csv")
    assert "64,graph,5,,1,,0.5,,0.75,49152,2" in (tmp_path / "s.csv").read_text().splitlines()
    assert any("empty = no paper number" in n for n in notes)


def test_filtering_speed_paper_row_without_ours_stays():
    speeds = _speeds()[lambda d: d["method"] == "graph"]
    table, _ = tables.filtering_speed_table(speeds, paper=SPEED_PAPER)
    sh = table[table["method"] == "sh"].iloc[0]
    assert sh["seconds_paper"] == 20.0 and pd.isna(sh["seconds_ours"]) and pd.isna(sh["threads"])


# --------------------------------------------------------------------------------------------
# acceptance
# --------------------------------------------------------------------------------------------
ACCEPTANCE = {"error_nsides": [32], "ell_min": 20, "error_factor": 2.0, "width_k": 8,
              "width_nsides": [32], "width_rtol": 0.25, "speed_nside_min": 256}  # fmt: skip


def _acceptance_tables():
    eq = pd.DataFrame(
        [("v1", 32, 20, 0.5, 0.75), ("knn8", 32, 20, 0.25, 0.25), ("knn20", 32, 20, 0.125, 0.125),
         ("knn40", 32, 20, 0.0625, 0.0625), ("v1", 32, 10, 0.5, 5.0)],
        columns=["graph", "nside", "ell", "error_paper", "error_ours"],
    )  # fmt: skip
    kw = pd.DataFrame({"nside": [32], "k": [8], "sigma_paper": [0.5], "sigma_ours": [0.6]})
    fs = pd.DataFrame({"nside": [256, 256], "method": ["graph", "sh"], "seconds_ours": [0.1, 0.2]})
    return eq, kw, fs


def test_acceptance_checks_use_the_config_section():
    checks = tables.acceptance_checks(*_acceptance_tables(), ACCEPTANCE)
    assert len(checks) == 4 + 1 + 1 + 2 and all(c.passed for c in checks), checks
    # ell 10 (ratio 10) is below ell_min; with ell_min 10 it counts and fails
    strict = tables.acceptance_checks(*_acceptance_tables(), {**ACCEPTANCE, "ell_min": 10})
    assert [c.name for c in strict if not c.passed] == ["equivariance nside=32 v1 within x2"]
    tight = tables.acceptance_checks(*_acceptance_tables(), {**ACCEPTANCE, "width_rtol": 0.1})
    assert [c.name for c in tight if not c.passed] == ["kernel width nside=32 k=8 within 10%"]
    late = tables.acceptance_checks(*_acceptance_tables(), {**ACCEPTANCE, "speed_nside_min": 512})
    assert [c.passed for c in late][-1] is False
