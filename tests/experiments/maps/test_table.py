"""The maps table: targets, splits and files read from the CSV, and every bad-input case named
by file, column and line (a user's CSV, as the issue lists them)."""

from __future__ import annotations

import numpy as np
import pytest

from deepsphere.experiments.maps.table import read_table


@pytest.fixture
def folder(tmp_path):
    maps = tmp_path / "maps"
    maps.mkdir()
    for name in ("a", "b", "c", "d"):
        (maps / f"{name}.fits").write_bytes(b"")
        for channel in ("I", "Q"):
            (maps / f"{name}_{channel}.npy").write_bytes(b"")
    return maps


def write(tmp_path, text):
    path = tmp_path / "maps.csv"
    path.write_text(text)
    return path


def test_classification_regression_and_splits(tmp_path, folder):
    csv = write(tmp_path, "file,kind,amp,omega,split\n"
                          "a.fits,lens,1.5,0.3,train\nb.fits,flat,2.0,0.2,val\n"
                          "c.fits,lens,0.5,0.25,TEST\nd.fits,flat,1.0,0.31,train\n")
    table = read_table(csv, folder=folder, task="classification", target="kind",
                       split_column="split")
    assert table.class_names == ["flat", "lens"] and table.targets.tolist() == [1, 0, 1, 0]
    assert table.split.tolist() == ["train", "val", "test", "train"]
    assert table.files == [[str(folder / f"{n}.fits")] for n in "abcd"]
    table = read_table(csv, folder=folder, task="regression", target=["amp", "omega"])
    np.testing.assert_array_equal(table.targets, [[1.5, 0.3], [2.0, 0.2], [0.5, 0.25],
                                                  [1.0, 0.31]])
    assert table.split is None and table.target_names == ["amp", "omega"]


def test_one_file_per_channel_by_pattern(tmp_path, folder):
    csv = write(tmp_path, "id,amp\na,1\nb,2\n")
    table = read_table(csv, folder=folder, task="regression", target="amp", file_column="id",
                       channels={"pattern": "{id}_{channel}.npy", "names": ["I", "Q"]})
    assert table.files[1] == [str(folder / "b_I.npy"), str(folder / "b_Q.npy")]


@pytest.mark.parametrize(("text", "kwargs", "message"), [
    ("file,amp\na.fits,1\n", {"target": "omega"},
     r"no column 'omega' \(maps.target\); its columns are \['file', 'amp'\]"),
    ("file,amp\na.fits,1\nb.fits,high\n", {"target": "amp"},
     r"line 3: 'amp' is 'high', not a number"),
    ("file,amp\na.fits,1\nb.fits,\n", {"target": "amp"}, r"line 3: 'amp' is '', not a number"),
    ("file,amp\na.fits,1\ne.fits,2\n", {"target": "amp"},
     r"1 listed file\(s\) do not exist .*e\.fits"),
    ("file,amp,split\na.fits,1,train\nb.fits,2,tset\nc.fits,3,test\n",
     {"target": "amp", "split_column": "split"}, r"line 3: split 'tset' is not one of"),
    ("file,amp,split\na.fits,1,train\nb.fits,2,test\n",
     {"target": "amp", "split_column": "split"}, r"the 'val' split has no maps"),
    ("file,amp\na.fits,1\na.fits,2\n", {"target": "amp"}, r"'a.fits' appears on several lines"),
    ("file,kind\na.fits,x\nb.fits,x\n", {"target": "kind", "task": "classification"},
     r"has 1 class\(es\) \['x'\]"),
])
def test_bad_tables_are_named(tmp_path, folder, text, kwargs, message):
    kwargs = {"task": "regression", **kwargs}
    with pytest.raises(ValueError, match=rf"maps.table: .*maps\.csv:(.|\n)*{message}"):
        read_table(write(tmp_path, text), folder=folder, **kwargs)


def test_a_missing_table_or_folder_is_named(tmp_path, folder):
    with pytest.raises(ValueError, match=r"maps.table: .*absent\.csv: no such file"):
        read_table(tmp_path / "absent.csv", folder=folder, task="regression", target="a")
    csv = write(tmp_path, "file,amp\na.fits,1\n")
    with pytest.raises(ValueError, match=r"maps.folder: .*nowhere: no such folder"):
        read_table(csv, folder=tmp_path / "nowhere", task="regression", target="amp")
