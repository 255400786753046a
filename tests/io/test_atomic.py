"""Atomic writes: complete or absent, with the permissions a plain open() would give."""

import os

import pytest

from deepsphere.io.atomic import atomic_path, atomic_write_json, atomic_write_text


def test_a_written_file_has_the_umask_permissions(tmp_path):
    mask = os.umask(0o022)
    os.umask(mask)
    path = atomic_write_text(tmp_path / "sub" / "a.txt", "hello")
    assert path.read_text() == "hello"
    assert path.stat().st_mode & 0o777 == 0o666 & ~mask


def test_a_failed_write_leaves_nothing_and_keeps_the_old_file(tmp_path):
    target = tmp_path / "a.json"
    atomic_write_json(target, {"x": 1})
    with pytest.raises(RuntimeError, match="boom"), atomic_path(target) as tmp:
        tmp.write_text("half")
        raise RuntimeError("boom")
    assert target.read_text() == '{\n  "x": 1\n}\n'
    assert sorted(p.name for p in tmp_path.iterdir()) == ["a.json"]


def test_staged_entries_replace_folders_files_and_links_and_clashes_are_refused(tmp_path):
    from deepsphere.io.atomic import install_staged, refuse_existing, staging_directory

    dest = tmp_path / "out"
    (dest / "a").mkdir(parents=True)
    (dest / "a" / "old.txt").write_text("old")
    (dest / "b.txt").write_text("old")
    (dest / "c").symlink_to(tmp_path)  # a link is replaced, never followed
    (dest / "stale").write_text("x")
    with pytest.raises(FileExistsError, match=r"b\.txt.*already exist"):
        refuse_existing(dest, ["a", "b.txt", "new"], overwrite=False)
    assert [p.name for p in refuse_existing(dest, ["a", "new"], overwrite=True)] == ["a"]
    with staging_directory(dest) as tmp:
        (tmp / "a").mkdir()
        (tmp / "a" / "new.txt").write_text("new")
        (tmp / "b.txt").write_text("new")
        (tmp / "c").write_text("new")
        out = install_staged(tmp, dest, ["a", "b.txt", "c"], remove=["stale"])
    assert sorted(p.name for p in dest.iterdir()) == ["a", "b.txt", "c"]
    assert [p.name for p in (dest / "a").iterdir()] == ["new.txt"]
    assert (dest / "c").read_text() == "new" and not (dest / "c").is_symlink()
    assert out == {n: dest / n for n in ("a", "b.txt", "c")} and tmp_path.is_dir()
