"""zip_tree: deterministic archives of nested folders, unpacked back by unpack_archives."""

from __future__ import annotations

import os
import zipfile

from deepsphere.io.archives import unpack_archives, zip_tree


def test_zip_tree_is_deterministic_and_round_trips(tmp_path):
    tree = tmp_path / "Data"
    (tree / "b" / "c").mkdir(parents=True)
    (tree / "a.txt").write_text("one")
    (tree / "b" / "c" / "d.txt").write_text("two")
    first = zip_tree(tree, tmp_path / "1.zip").read_bytes()
    os.utime(tree / "a.txt", (0, 0))  # timestamps do not enter the archive
    assert zip_tree(tree, tmp_path / "2.zip").read_bytes() == first
    with zipfile.ZipFile(tmp_path / "1.zip") as zf:
        assert zf.namelist() == ["Data/a.txt", "Data/b/c/d.txt"]
    out = unpack_archives([tmp_path / "1.zip"], tmp_path / "out")
    assert [p.name for p in out] == ["Data"]
    assert (tmp_path / "out/Data/b/c/d.txt").read_text() == "two"
