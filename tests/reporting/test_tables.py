"""deepsphere.reporting.tables: the paper's column aligned with ours by key; missing shown as empty / '–'."""

import numpy as np
import pandas as pd
import pytest

from deepsphere.reporting import checks, tables


def _frames():
    ours = pd.DataFrame({"model": ["b", "a", "c"], "n": [2, 1, 3], "acc": [0.8, 0.9, 0.7]})
    paper = pd.DataFrame(
        {"model": ["a", "b", "d"], "n": [1.0, 2.0, 4.0], "accuracy": [0.95, 0.5, 0.6]}
    )
    return ours, paper


def test_paper_column_is_aligned_by_key_not_by_position():
    ours, paper = _frames()
    out = tables.paper_vs_ours(ours, paper, ["model", "n"], ["acc"], paper_values=["accuracy"])
    assert list(out.columns[:5]) == ["model", "n", "acc_paper", "acc_ours", "acc_ratio"]
    by = out.set_index("model")
    assert by.loc["a", "acc_paper"] == 0.95 and by.loc["a", "acc_ours"] == 0.9
    assert by.loc["b", "acc_ratio"] == pytest.approx(0.8 / 0.5)
    assert np.isnan(by.loc["c", "acc_paper"]) and np.isnan(by.loc["c", "acc_ratio"])
    assert np.isnan(by.loc["d", "acc_ours"])  # paper-only rows kept


def test_missing_numbers_are_empty_in_csv_and_dash_in_markdown(tmp_path):
    ours, paper = _frames()
    out = tables.paper_vs_ours(ours, paper, ["model", "n"], ["acc"], paper_values=["accuracy"])
    tables.write_table(out, tmp_path / "t.csv", tmp_path / "t.md", title="T", notes=["a note"])
    back = pd.read_csv(tmp_path / "t.csv")
    assert back.set_index("model")["acc_paper"].isna().to_dict() == {
        "a": False, "b": False, "c": True, "d": False}  # fmt: skip
    csv_line = next(
        line for line in (tmp_path / "t.csv").read_text().splitlines() if line.startswith("c,")
    )
    assert csv_line == "c,3,,0.7,"
    md = (tmp_path / "t.md").read_text()
    assert md.startswith("# T\n") and "- a note" in md
    row_c = next(line for line in md.splitlines() if line.startswith("| c |"))
    assert row_c == "| c | 3 | – | 0.7 | – |"


def test_verdict_has_an_all_row(tmp_path):
    results = [checks.Check("x", True, "ok"), checks.Check("y", False, "too slow")]
    frame = checks.write_verdict(results, tmp_path / "v.csv", tmp_path / "v.md")
    assert frame.iloc[-1].tolist() == ["ALL", False, "1/2 checks passed"]
    assert "| y | FAIL | too slow |" in (tmp_path / "v.md").read_text()
    assert checks.verdict_frame([checks.Check("x", True)]).iloc[-1]["passed"]


@pytest.mark.parametrize(
    "ours,paper,keys,match",
    [
        (pd.DataFrame({"k": [1, 1], "v": [1, 2]}), pd.DataFrame({"k": [1], "v": [1]}), ["k"],
         r"ours table repeats keys \['k'\]"),
        (pd.DataFrame({"k": [1], "v": [1]}), pd.DataFrame({"k": [1], "w": [1]}), ["k"],
         r"paper table lacks column\(s\) \['v'\]"),
        (pd.DataFrame({"k": [1], "v": [1]}), pd.DataFrame({"k": [1], "v": [1]}), [],
         "need at least one key"),
    ],
)
def test_bad_tables_raise_value_error(ours, paper, keys, match):
    with pytest.raises(ValueError, match=match):
        tables.paper_vs_ours(ours, paper, keys, ["v"])
