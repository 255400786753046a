"""Mirrors added per file (``with_mirrors``), sources with no known checksum, and dead hosts
(connection refused on a closed port of 127.0.0.1), against a local HTTP server."""

from __future__ import annotations

import socket
import urllib.error

import pytest

from deepsphere.io._http import Transient, Unreachable, _unreachable
from deepsphere.io.download import (
    ChecksumMismatch,
    ManualDownloadRequired,
    RetryableDownloadError,
    Source,
    fetch,
    fetch_all,
    verify_files,
    with_mirrors,
)

FAST = dict(retries=2, backoff=0.0, timeout=5.0, progress=False)
BODY = b"mesh archive bytes " * 200  # 3800 bytes


@pytest.fixture
def server(route_server):
    return route_server({"/ok/f.zip": BODY, "/busy/f.zip": 503, "/gated/f.zip": 403})


def _src(*urls, checksum=None, size=None):
    return Source("f.zip", tuple(urls), checksum, size=size)


# --------------------------------------------------------------------------- with_mirrors
def test_mirrors_per_file_and_base_urls_come_after_the_originals():
    a = Source("a.zip", ("http://h/a.zip",), None)
    b = Source("b.csv", ("http://h/b.csv",), None)
    per_file = with_mirrors([a, b], {"b.csv": ["http://m1/b.csv", "http://h/b.csv"]})
    assert [s.urls for s in per_file] == [("http://h/a.zip",), ("http://h/b.csv", "http://m1/b.csv")]
    bases = with_mirrors([a, b], ["http://m1/data/", "http://m2"])
    assert bases[0].urls == ("http://h/a.zip", "http://m1/data/a.zip", "http://m2/a.zip")
    assert bases[1].urls == ("http://h/b.csv", "http://m1/data/b.csv", "http://m2/b.csv")
    assert with_mirrors([a], None) == [a] and with_mirrors([a], {}) == [a]


def test_mirrors_for_an_unknown_file_or_as_one_string_are_refused():
    a = Source("a.zip", ("http://h/a.zip",), None)
    with pytest.raises(ValueError, match=r"unknown file\(s\) \['a.zp'\]; the files are \['a.zip'\]"):
        with_mirrors([a], {"a.zp": ["http://m/a.zip"]})
    with pytest.raises(TypeError, match="not one string"):
        with_mirrors([a], "http://m")
    with pytest.raises(TypeError, match=r"mirrors\['a.zip'\] must be a list of URLs"):
        with_mirrors([a], {"a.zip": "http://m/a.zip"})


# --------------------------------------------------------------------------- no checksum known
def test_source_without_checksum_is_downloaded_and_said_to_have_none(server, tmp_path):
    assert _src("http://h/f.zip").algorithm is None and _src("http://h/f.zip").hexdigest is None
    dest = fetch(_src(f"{server.url}/ok/f.zip"), tmp_path / "f.zip", **FAST)
    assert dest.read_bytes() == BODY
    with pytest.raises(ManualDownloadRequired, match="no checksum recorded, size not recorded"):
        fetch(_src(f"{server.url}/gated/f.zip"), tmp_path / "g" / "f.zip", **FAST)


def test_without_checksum_a_known_size_is_still_checked(server, tmp_path):
    with pytest.raises(ChecksumMismatch, match=f"size is {len(BODY)} bytes, expected 10 bytes"):
        fetch(_src(f"{server.url}/ok/f.zip", size=10), tmp_path / "f.zip", **FAST)
    assert list(tmp_path.iterdir()) == []  # the partial file was deleted
    (tmp_path / "f.zip").write_bytes(b"x" * 10)
    assert verify_files([_src("http://h/f.zip", size=10)], tmp_path) == [tmp_path / "f.zip"]
    with pytest.raises(ChecksumMismatch, match="size is 10 bytes, expected 11"):
        verify_files([_src("http://h/f.zip", size=11)], tmp_path)


def test_without_checksum_a_hand_placed_file_is_taken(dead, tmp_path):
    manual = tmp_path / "manual"
    manual.mkdir()
    (manual / "f.zip").write_bytes(BODY)
    dest = fetch(_src(f"{dead}/f.zip"), tmp_path / "raw" / "f.zip", manual_dir=manual, **FAST)
    assert dest.read_bytes() == BODY
    dest.unlink()
    assert (manual / "f.zip").read_bytes() == BODY


def test_without_checksum_or_size_a_complete_part_cannot_be_told_so_it_restarts(server, tmp_path):
    (tmp_path / "f.zip.part").write_bytes(BODY)  # the server answers 416 to its Range
    dest = fetch(_src(f"{server.url}/ok/f.zip"), tmp_path / "f.zip", **FAST)
    assert dest.read_bytes() == BODY
    assert server.ranges == [("/ok/f.zip", f"bytes={len(BODY)}-"), ("/ok/f.zip", None)]


def test_with_size_only_a_complete_part_is_used(server, tmp_path):
    (tmp_path / "f.zip.part").write_bytes(BODY)
    dest = fetch(_src(f"{server.url}/ok/f.zip", size=len(BODY)), tmp_path / "f.zip", **FAST)
    assert dest.read_bytes() == BODY and server.ranges == [("/ok/f.zip", f"bytes={len(BODY)}-")]


def test_bad_checksum_text_is_still_refused():
    with pytest.raises(ValueError, match=r"or be None if unknown"):
        Source("x", ("http://h/x",), "crc:1234")
    with pytest.raises(ValueError, match="size -1 must be >= 0"):
        Source("x", ("http://h/x",), None, size=-1)


# --------------------------------------------------------------------------- dead hosts
def test_connection_refused_is_unreachable_and_a_missing_host_name_too():
    refused = urllib.error.URLError(ConnectionRefusedError(111, "Connection refused"))
    no_name = urllib.error.URLError(socket.gaierror(socket.EAI_NONAME, "Name or service not known"))
    offline = urllib.error.URLError(socket.gaierror(socket.EAI_AGAIN, "Temporary failure"))
    timeout = urllib.error.URLError(TimeoutError("timed out"))
    assert _unreachable(refused) and _unreachable(no_name)
    assert not _unreachable(offline) and not _unreachable(timeout)
    assert issubclass(Unreachable, Transient)  # retried like any transient failure


def test_a_dead_host_everywhere_is_manual_after_its_retries(dead, tmp_path):
    (tmp_path / "f.zip.part").write_bytes(BODY[:100])  # an earlier interrupted download
    with pytest.raises(ManualDownloadRequired, match="every URL refused") as err:
        fetch(_src(f"{dead}/a/f.zip", f"{dead}/b/f.zip"), tmp_path / "f.zip",
              manual_dir=tmp_path / "manual", **FAST)
    msg = str(err.value)
    assert msg.count("(3 attempt(s)) (unreachable: no server answered") == 2
    assert f"{dead}/a/f.zip" in msg and f"{dead}/b/f.zip" in msg
    assert str((tmp_path / "manual" / "f.zip").resolve()) in msg
    assert (tmp_path / "f.zip.part").read_bytes() == BODY[:100]  # kept: the host may come back


def test_a_dead_original_and_a_live_mirror(server, dead, tmp_path):
    dest = fetch(_src(f"{dead}/f.zip", f"{server.url}/ok/f.zip"), tmp_path / "f.zip", **FAST)
    assert dest.read_bytes() == BODY and server.ranges == [("/ok/f.zip", None)]


def test_a_dead_original_and_a_busy_mirror_is_retryable(server, dead, tmp_path):
    with pytest.raises(RetryableDownloadError, match="retrying later may work") as err:
        fetch_all([_src(f"{dead}/f.zip", f"{server.url}/busy/f.zip")], tmp_path, **FAST)
    assert not isinstance(err.value, ManualDownloadRequired)
    assert "unreachable" in str(err.value) and "HTTP 503" in str(err.value)
