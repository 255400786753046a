"""Climate sources against a local HTTP server on 127.0.0.1 (no internet): the archive (dead
host, mirror, resume of an interrupted download, free-space check, hand placement of the zip or
of the unpacked folder) and the split lists (md5, sizes, names, overlap).

References: the served bytes, hashlib's md5 of the lists we serve, the literal original URLs,
and the hand-placement paths ``data/manual/climate/<name>`` a user works with."""

from __future__ import annotations

import dataclasses
import hashlib

import pytest

from deepsphere.experiments.climate import sources
from deepsphere.io.disk_space import NotEnoughDiskSpace
from deepsphere.io.download import ChecksumMismatch, ManualDownloadRequired

FAST = dict(retries=1, backoff=0.0, timeout=5.0, progress=False)
ARCHIVE = b"PK fake climate archive " * 4000


def _names(split, n, offset=0):
    return [f"data-21{10 + (i % 5):02d}-0{1 + i % 9}-{1 + i % 28:02d}-0{i % 8}-{1 + (offset + i) % 6}"
            f"-mesh.npz" for i in range(offset, offset + n)]


def _list(names) -> bytes:
    return ("\n".join(names) + "\n").encode()


def _moved(srcs, base):
    """The sources with their original host replaced by ``base`` (same paths)."""
    return [dataclasses.replace(s, urls=tuple(
        u.replace("http://island.me.berkeley.edu", base)
        .replace("https://raw.githubusercontent.com", base) for u in s.urls)) for s in srcs]


def test_the_original_urls_and_md5s_are_recorded():
    (archive,) = sources.archive_sources()
    assert archive.urls == ("http://island.me.berkeley.edu/ugscnn/data/climate_sphere_l5.zip",)
    assert archive.checksum is None  # none is published: recorded at the first fetch
    lists = sources.split_sources()
    assert [s.name for s in lists] == ["train.txt", "val.txt", "test.txt"]
    assert [s.checksum for s in lists] == ["md5:e378012691ea2178997c62a4bc9df5fb",
                                          "md5:500ef3a1fc3997773af115e7db1e788c",
                                          "md5:3dbdddd279d4c1b9318a8194d58f6085"]
    assert all(sources.SPLITS_COMMIT in s.urls[0] for s in lists)
    assert sources.SPLIT_SIZES == {"train": 43916, "val": 6274, "test": 12548}


def test_dead_host_then_mirror_and_resume_of_a_partial_file(tmp_path, route_server, dead):
    server = route_server({"/m/climate_sphere_l5.zip": ARCHIVE})
    raw = tmp_path / "raw"
    raw.mkdir()
    part = raw / "climate_sphere_l5.zip.part"
    part.write_bytes(ARCHIVE[:30000])  # an interrupted earlier download
    path = sources.fetch_archive(raw, manual_dir=tmp_path / "manual", archive_bytes=1,
                                 sources=_moved(sources.archive_sources(), dead),
                                 mirrors=[f"{server.url}/m"], **FAST)
    assert path.read_bytes() == ARCHIVE
    assert ("/m/climate_sphere_l5.zip", "bytes=30000-") in server.ranges  # continued, not redone
    assert not part.exists()


def test_no_source_answers_one_message_names_both_hand_placements(tmp_path, dead):
    with pytest.raises(ManualDownloadRequired) as err:
        sources.fetch_archive(tmp_path / "raw", manual_dir="data/manual/climate",
                              archive_bytes=1, sources=_moved(sources.archive_sources(), dead),
                              **FAST)
    msg = str(err.value)
    assert "data/manual/climate/climate_sphere_l5.zip" in msg
    assert "data/manual/climate/data_5_all" in msg


def test_free_space_is_checked_before_any_request(tmp_path, route_server):
    server = route_server({"/m/climate_sphere_l5.zip": ARCHIVE})
    with pytest.raises(NotEnoughDiskSpace, match="free"):
        sources.fetch_archive(tmp_path / "raw", manual_dir=tmp_path / "manual",
                              archive_bytes=1e18, mirrors=[f"{server.url}/m"],
                              sources=_moved(sources.archive_sources(), server.url), **FAST)
    assert server.requests == []


def test_hand_placed_zip_is_taken_without_network(tmp_path, dead):
    manual = tmp_path / "manual"
    manual.mkdir()
    (manual / "climate_sphere_l5.zip").write_bytes(ARCHIVE)
    path = sources.fetch_archive(tmp_path / "raw", manual_dir=manual, archive_bytes=1e18,
                                 sources=_moved(sources.archive_sources(), dead), **FAST)
    assert path.read_bytes() == ARCHIVE
    assert (manual / "climate_sphere_l5.zip").exists()  # never moved or deleted


def test_hand_placed_unpacked_folder_is_found(tmp_path):
    assert sources.manual_maps_dir(tmp_path) is None
    folder = tmp_path / "data_5_all"
    folder.mkdir()
    (folder / "notes.txt").write_text("x")
    assert sources.manual_maps_dir(tmp_path) is None  # no map file in it
    (folder / _names("train", 1)[0]).write_bytes(b"")
    assert sources.manual_maps_dir(tmp_path) == folder


def _split_sources(base, lists):
    return [dataclasses.replace(s, urls=(f"{base}/{s.name}",),
                                checksum=f"md5:{hashlib.md5(lists[s.name[:-4]]).hexdigest()}")
            for s in sources.split_sources()]


def test_split_lists_are_md5_checked_and_read(tmp_path, route_server):
    names = {"train": _names("train", 6), "val": _names("val", 2, 6), "test": _names("test", 3, 8)}
    lists = {k: _list(v) for k, v in names.items()}
    server = route_server({f"/l/{k}.txt": v for k, v in lists.items()})
    paths = sources.fetch_split_lists(tmp_path, manual_dir=tmp_path / "manual",
                                      sources=_split_sources(f"{server.url}/l", lists),
                                      expected_sizes={"train": 6, "val": 2, "test": 3}, **FAST)
    assert {k: sources.read_split_list(p) for k, p in paths.items()} == names
    # a list that differs from its md5 is refused
    bad = dict(lists, val=_list(names["val"][:1]))
    server2 = route_server({f"/l/{k}.txt": v for k, v in bad.items()})
    srcs = _split_sources(f"{server2.url}/l", lists)
    with pytest.raises(ChecksumMismatch, match="val.txt"):
        sources.fetch_split_lists(tmp_path / "b", manual_dir=tmp_path / "manual", sources=srcs,
                                  **FAST)


def test_split_list_checks(tmp_path):
    path = tmp_path / "train.txt"
    path.write_bytes(_list(_names("train", 3)))
    with pytest.raises(ValueError, match="3 names, expected 4"):
        sources.read_split_list(path, 4)
    path.write_bytes(_list(_names("train", 3) + ["README.md"]))
    with pytest.raises(ValueError, match="line 4"):
        sources.read_split_list(path)
    path.write_bytes(_list(_names("train", 2) * 2))
    with pytest.raises(ValueError, match="listed twice"):
        sources.read_split_list(path)
    with pytest.raises(ValueError, match="share 1 map"):
        sources.check_disjoint({"train": _names("train", 3), "test": _names("train", 3)[2:]})
