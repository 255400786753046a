"""ModelNet40 and SHREC'17 sources against a local HTTP server on 127.0.0.1 (no internet).

The original hosts are stood in for by a closed port of 127.0.0.1 (every connection refused,
as a dead host), mirrors by the local server. References: the literal original URLs, the
served bytes, and the hand-placement paths ``data/manual/shrec17/<name>`` a user works with.
"""

from __future__ import annotations

import dataclasses
import hashlib
import json

import pytest

from deepsphere.experiments.shapes import sources as shapes
from deepsphere.io.download import (
    ChecksumMismatch,
    DownloadError,
    ManualDownloadRequired,
    RetryableDownloadError,
)

FAST = dict(retries=2, backoff=0.0, timeout=5.0, progress=False)
NAMES = ("train_perturbed.zip", "val_perturbed.zip", "test_perturbed.zip",
         "train.csv", "val.csv", "test.csv")
DATA = {name: f"{name} contents\n".encode() * (i + 1) for i, name in enumerate(NAMES)}
MODELNET = b"PK fake ModelNet40 archive" * 100


@pytest.fixture
def mirror(route_server):
    routes = {f"/mirror/{n}": d for n, d in DATA.items()}
    routes |= {f"/busy/{n}": 503 for n in NAMES}
    routes |= {"/mn/ModelNet40.zip": MODELNET, "/mn-busy/ModelNet40.zip": 503}
    return route_server(routes)


def _at(sources, base):
    """The recorded sources with their original host moved to ``base`` (same paths)."""
    return [dataclasses.replace(s, urls=tuple(u.replace("http://3dvision.princeton.edu", base)
                                              .replace("http://modelnet.cs.princeton.edu", base)
                                              for u in s.urls)) for s in sources]


@pytest.fixture
def layout(tmp_path):
    return tmp_path / "data/raw/shapes/shrec17", tmp_path / "data/manual/shrec17"


# --------------------------------------------------------------------------- the recorded sources
def test_the_original_urls_are_recorded_without_a_checksum():
    mn = shapes.modelnet40_sources()
    assert [(s.name, s.urls, s.checksum) for s in mn] == [
        ("ModelNet40.zip", ("http://modelnet.cs.princeton.edu/ModelNet40.zip",), None)]
    shrec = shapes.shrec17_sources()
    assert [s.name for s in shrec] == list(NAMES)
    assert [s.urls for s in shrec] == [(f"http://3dvision.princeton.edu/ms/shrec17-data/{n}",)
                                       for n in NAMES]
    assert all(s.checksum is None and s.size is None for s in shrec)
    assert "offline since 2019" in shrec[0].instructions


def test_config_mirrors_come_after_the_original():
    per_file = shapes.shrec17_sources({"test.csv": ["https://m.example/labels/test.csv"]})
    assert per_file[-1].urls == ("http://3dvision.princeton.edu/ms/shrec17-data/test.csv",
                                 "https://m.example/labels/test.csv")
    assert all(len(s.urls) == 1 for s in per_file[:-1])
    bases = shapes.modelnet40_sources(["https://a.example/mn", "https://b.example/"])
    assert bases[0].urls[1:] == ("https://a.example/mn/ModelNet40.zip",
                                 "https://b.example/ModelNet40.zip")
    with pytest.raises(ValueError, match=r"unknown file\(s\) \['test_perturbed.csv'\]"):
        shapes.shrec17_sources({"test_perturbed.csv": ["https://m.example/x"]})


# --------------------------------------------------------------------------- SHREC'17
def test_a_mirror_answers_after_the_dead_original(mirror, dead, layout):
    raw, manual = layout
    out = shapes.fetch_shrec17(raw, manual_dir=manual, sources=_at(shapes.shrec17_sources(), dead),
                               mirrors=[f"{mirror.url}/mirror"], **FAST)
    assert {n: p.read_bytes() for n, p in out.items()} == DATA
    assert sorted(mirror.requests) == sorted(f"/mirror/{n}" for n in NAMES)
    record = json.loads((raw / shapes.RECORD_NAME).read_text())
    assert record == {n: {"size": len(d), "sha256": hashlib.sha256(d).hexdigest()}
                      for n, d in DATA.items()}
    assert sorted(p.name for p in raw.iterdir()) == sorted([*NAMES, shapes.RECORD_NAME])
    assert shapes.verify_shrec17(raw) == [raw / n for n in NAMES]  # no network
    assert not manual.exists()


def test_every_source_dead_is_one_manual_message_naming_every_file(dead, layout,
                                                                  new_dead_host):
    raw, manual = layout
    second_dead = new_dead_host()
    with pytest.raises(ManualDownloadRequired, match=r"6 file\(s\) cannot be downloaded") as err:
        shapes.fetch_shrec17(raw, manual_dir=manual, sources=_at(shapes.shrec17_sources(), dead),
                             mirrors=[second_dead], **FAST)
    msg = str(err.value)
    assert [m.source.name for m in err.value.missing] == list(NAMES)
    for name in NAMES:
        place = (manual / name).resolve()
        assert f"{place}\n         no checksum recorded, size not recorded\n" \
               f"         from {dead}/ms/shrec17-data/{name}" in msg
        assert str(place).endswith(f"data/manual/shrec17/{name}")
        assert f"{second_dead}/{name}" in msg  # the mirror's failure is named too
    assert msg.count("offline since 2019") == 1  # the instructions once, not per file
    assert "unreachable" in msg and "retry" not in msg.lower()
    assert not manual.exists() and not list(raw.glob("*"))  # nothing written


def test_hand_placed_files_are_taken_and_never_deleted(mirror, dead, layout):
    raw, manual = layout
    manual.mkdir(parents=True)
    placed = ("test_perturbed.zip", "test.csv")
    for name in placed:
        (manual / name).write_bytes(DATA[name])
    out = shapes.fetch_shrec17(raw, manual_dir=manual, sources=_at(shapes.shrec17_sources(), dead),
                               mirrors={n: [f"{mirror.url}/mirror/{n}"] for n in NAMES
                                        if n not in placed}, **FAST)
    assert {n: p.read_bytes() for n, p in out.items()} == DATA
    assert not any(p.endswith(placed) for p in mirror.requests)  # taken without network
    for path in raw.iterdir():  # what Snakemake does to a failed job's outputs
        path.unlink()
    assert {p.name: p.read_bytes() for p in manual.iterdir()} == {n: DATA[n] for n in placed}


def test_a_transient_503_is_retryable_not_manual(mirror, dead, layout):
    raw, manual = layout
    with pytest.raises(RetryableDownloadError, match="some failures look temporary") as err:
        shapes.fetch_shrec17(raw, manual_dir=manual, sources=_at(shapes.shrec17_sources(), dead),
                             mirrors=[f"{mirror.url}/busy"], **FAST)
    assert not isinstance(err.value, ManualDownloadRequired)
    assert isinstance(err.value, DownloadError)
    msg = str(err.value)
    assert "HTTP 503" in msg and "Re-run the same command later" in msg
    assert msg.count("(temporary failure: retry)") == 6
    assert mirror.requests.count("/busy/train.csv") == 3  # 1 + retries attempts


def test_manual_dir_must_not_be_the_download_folder(layout):
    raw, _ = layout
    with pytest.raises(ValueError, match="folder of its own"):
        shapes.fetch_shrec17(raw, manual_dir=raw, **FAST)


# --------------------------------------------------------------------------- ModelNet40
def test_modelnet40_from_a_mirror_records_its_size_and_is_verified(mirror, dead, tmp_path):
    raw = tmp_path / "data/raw/shapes/modelnet40"
    out = shapes.fetch_modelnet40(raw, manual_dir=tmp_path / "data/manual/modelnet40",
                                  sources=_at(shapes.modelnet40_sources(), dead),
                                  mirrors=[f"{mirror.url}/mn"], **FAST)
    assert out["ModelNet40.zip"].read_bytes() == MODELNET
    record = json.loads((raw / shapes.RECORD_NAME).read_text())
    assert record["ModelNet40.zip"]["size"] == len(MODELNET)
    assert shapes.verify_modelnet40(raw) == [raw / "ModelNet40.zip"]

    (raw / "ModelNet40.zip").write_bytes(MODELNET[:-1])  # changed after the download
    with pytest.raises(ChecksumMismatch, match=f"expected {len(MODELNET)} bytes"):
        shapes.verify_modelnet40(raw)
    with pytest.raises(ChecksumMismatch, match="recorded at the first fetch"):
        shapes.fetch_modelnet40(raw, manual_dir=tmp_path / "data/manual/modelnet40",
                                mirrors=[f"{mirror.url}/mn"], **FAST)


def test_modelnet40_dead_everywhere_names_its_manual_place(dead, tmp_path):
    manual = tmp_path / "data/manual/modelnet40"
    with pytest.raises(ManualDownloadRequired, match=r"1 file\(s\) cannot be downloaded") as err:
        shapes.fetch_modelnet40(tmp_path / "raw", manual_dir=manual,
                                sources=_at(shapes.modelnet40_sources(), dead), **FAST)
    msg = str(err.value)
    assert f"{(manual / 'ModelNet40.zip').resolve()}\n" in msg
    assert f"from {dead}/ModelNet40.zip" in msg and "no checksum is published" in msg


def test_modelnet40_busy_mirror_is_retryable(mirror, dead, tmp_path):
    with pytest.raises(RetryableDownloadError, match="retrying later may work"):
        shapes.fetch_modelnet40(tmp_path / "raw", manual_dir=tmp_path / "manual",
                                sources=_at(shapes.modelnet40_sources(), dead),
                                mirrors=[f"{mirror.url}/mn-busy"], **FAST)


def test_verify_before_any_download_says_so(tmp_path):
    with pytest.raises(FileNotFoundError, match="run the download step first"):
        shapes.verify_shrec17(tmp_path)
    (tmp_path / shapes.RECORD_NAME).write_text("[1, 2]")
    with pytest.raises(ChecksumMismatch, match="not a readable download record"):
        shapes.verify_modelnet40(tmp_path)
