"""deepsphere.io.download against a local HTTP server on 127.0.0.1 (no internet needed)."""

from __future__ import annotations

import hashlib
import io
import threading
import zipfile
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest

from deepsphere.io.download import (
    ChecksumMismatch,
    DownloadError,
    ManualDownloadRequired,
    Source,
    fetch,
    fetch_all,
)


def _zip_bytes(name: str, payload: bytes) -> bytes:
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w") as zf:
        zf.writestr(name, payload)
    return buf.getvalue()


GOOD = _zip_bytes("training/map_0p26_000.npy", bytes(range(256)) * 64)
OTHER = _zip_bytes("testing/map_0p31_000.npy", b"something else entirely" * 50)
MD5_GOOD = hashlib.md5(GOOD).hexdigest()
SHA_GOOD = hashlib.sha256(GOOD).hexdigest()
MD5_OTHER = hashlib.md5(OTHER).hexdigest()


class _Server:
    """A tiny HTTP server whose behaviour per path is set by the test."""

    def __init__(self):
        self.files = {"/good.zip": GOOD, "/flaky.zip": GOOD, "/cut.zip": GOOD, "/other.zip": OTHER}
        self.fail_first = {}  # path -> number of requests answered 503 first
        self.cut_first = set()  # paths whose first request sends only half of the body
        self.requests = []  # (path, Range header or None)
        self.lock = threading.Lock()
        server = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, *args):  # keep pytest output clean
                pass

            def do_GET(self):
                path = self.path.split("?")[0]
                rng = self.headers.get("Range")
                with server.lock:
                    server.requests.append((path, rng))
                    n_before = sum(p == path for p, _ in server.requests) - 1
                if path == "/forbidden.zip":
                    return self.send_error(403, "Forbidden")
                if path == "/gone.zip":
                    return self.send_error(410, "Gone")
                if path == "/login.zip":  # a gated host answering 200 with a login page
                    page = b"<html><body>Log in to request access</body></html>"
                    self.send_response(200)
                    self.send_header("Content-Type", "text/html; charset=utf-8")
                    self.send_header("Content-Length", str(len(page)))
                    self.end_headers()
                    return self.wfile.write(page)
                if path not in server.files:
                    return self.send_error(404, "Not Found")
                if n_before < server.fail_first.get(path, 0):
                    return self.send_error(503, "Service Unavailable")
                body = server.files[path]
                start = 0
                if rng:
                    start = int(rng.removeprefix("bytes=").split("-")[0])
                    if start >= len(body):
                        return self.send_error(416, "Range Not Satisfiable")
                    self.send_response(206)
                    self.send_header("Content-Range", f"bytes {start}-{len(body) - 1}/{len(body)}")
                else:
                    self.send_response(200)
                self.send_header("Content-Length", str(len(body) - start))
                self.end_headers()
                if path in server.cut_first and n_before == 0:
                    self.wfile.write(body[start : len(body) // 2])
                    self.wfile.flush()
                    self.close_connection = True
                    return
                self.wfile.write(body[start:])

        self.httpd = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.httpd.server_address[1]}"
        self.thread = threading.Thread(
            target=self.httpd.serve_forever, kwargs={"poll_interval": 0.02}, daemon=True
        )
        self.thread.start()
        self.closed = False

    def close(self):
        if not self.closed:
            self.closed = True
            self.httpd.shutdown()
            self.httpd.server_close()


@pytest.fixture
def server():
    s = _Server()
    yield s
    s.close()


def _src(urls, checksum=f"md5:{MD5_GOOD}", **kw):
    return Source(name="data.zip", urls=tuple(urls), checksum=checksum, **kw)


FAST = dict(retries=3, backoff=0.0, timeout=5.0, progress=False)


def _leftovers(directory: Path):
    return sorted(p.name for p in directory.iterdir())


def test_good_file_md5_and_sha256(server, tmp_path):
    dest = fetch(_src([f"{server.url}/good.zip"]), tmp_path / "a.zip", **FAST)
    assert dest.read_bytes() == GOOD
    assert zipfile.ZipFile(dest).namelist() == ["training/map_0p26_000.npy"]
    dest2 = fetch(_src([f"{server.url}/good.zip"], f"sha256:{SHA_GOOD}"), tmp_path / "b.zip", **FAST)
    assert dest2.read_bytes() == GOOD
    assert _leftovers(tmp_path) == ["a.zip", "b.zip"]


def test_existing_good_file_needs_no_network(server, tmp_path):
    dest = tmp_path / "data.zip"
    dest.write_bytes(GOOD)
    server.close()  # server down: any request would fail
    assert fetch(_src([f"{server.url}/good.zip"]), dest, **FAST) == dest
    assert dest.read_bytes() == GOOD


def test_wrong_checksum_download_deletes_partial(server, tmp_path):
    src = _src([f"{server.url}/other.zip"])  # serves OTHER, but we expect GOOD's md5
    with pytest.raises(ChecksumMismatch) as err:
        fetch(src, tmp_path / "data.zip", **FAST)
    msg = str(err.value)
    assert MD5_GOOD in msg and MD5_OTHER in msg and "deleted" in msg
    assert _leftovers(tmp_path) == []


@pytest.mark.parametrize("path,code", [("/forbidden.zip", 403), ("/missing.zip", 404), ("/gone.zip", 410)])
def test_gated_or_gone_is_not_retried_and_says_what_to_do(server, tmp_path, path, code):
    src = _src([f"{server.url}{path}"], gated=True, page="https://zenodo.org/record/1303272",
               instructions="Request access from the authors on the Zenodo page")
    dest = tmp_path / "sub" / "data.zip"
    with pytest.raises(ManualDownloadRequired) as err:
        fetch(src, dest, **FAST)
    msg = str(err.value)
    assert str(code) in msg
    assert "Request access from the authors" in msg and "https://zenodo.org/record/1303272" in msg
    assert str(dest.resolve()) in msg and MD5_GOOD in msg
    assert len(server.requests) == 1  # no pointless retries
    assert _leftovers(dest.parent) == []
    assert isinstance(err.value, DownloadError)


def test_retry_after_transient_failures(server, tmp_path):
    server.fail_first["/flaky.zip"] = 2
    dest = fetch(_src([f"{server.url}/flaky.zip"]), tmp_path / "data.zip", **FAST)
    assert dest.read_bytes() == GOOD
    assert len(server.requests) == 3


def test_transient_failures_exhausted_raise_download_error(server, tmp_path):
    server.fail_first["/flaky.zip"] = 100
    with pytest.raises(DownloadError) as err:
        fetch(_src([f"{server.url}/flaky.zip"]), tmp_path / "data.zip", **dict(FAST, retries=2))
    assert not isinstance(err.value, ManualDownloadRequired)
    assert "503" in str(err.value) and len(server.requests) == 3
    assert _leftovers(tmp_path) == []  # nothing received: not even a .part


def test_range_resume_after_truncated_body(server, tmp_path):
    server.cut_first.add("/cut.zip")
    dest = fetch(_src([f"{server.url}/cut.zip"]), tmp_path / "data.zip", **FAST)
    assert dest.read_bytes() == GOOD
    assert server.requests == [("/cut.zip", None), ("/cut.zip", f"bytes={len(GOOD) // 2}-")]
    assert _leftovers(tmp_path) == ["data.zip"]


def test_resume_from_existing_part_file(server, tmp_path):
    (tmp_path / "data.zip.part").write_bytes(GOOD[:1000])
    dest = fetch(_src([f"{server.url}/good.zip"]), tmp_path / "data.zip", **FAST)
    assert dest.read_bytes() == GOOD
    assert server.requests == [("/good.zip", "bytes=1000-")]


def test_complete_part_file_is_used_after_416(server, tmp_path):
    (tmp_path / "data.zip.part").write_bytes(GOOD)
    dest = fetch(_src([f"{server.url}/good.zip"]), tmp_path / "data.zip", **FAST)
    assert dest.read_bytes() == GOOD and _leftovers(tmp_path) == ["data.zip"]
    assert server.requests == [("/good.zip", f"bytes={len(GOOD)}-")]


def test_stale_part_file_restarts_from_zero(server, tmp_path):
    (tmp_path / "data.zip.part").write_bytes(GOOD + b"trailing junk")
    dest = fetch(_src([f"{server.url}/good.zip"]), tmp_path / "data.zip", **FAST)
    assert dest.read_bytes() == GOOD and _leftovers(tmp_path) == ["data.zip"]
    assert server.requests == [("/good.zip", f"bytes={len(GOOD) + 13}-"), ("/good.zip", None)]


def test_html_login_page_of_a_gated_host(server, tmp_path):
    src = _src([f"{server.url}/login.zip"], gated=True, instructions="Request access")
    with pytest.raises(ManualDownloadRequired, match="HTML page"):
        fetch(src, tmp_path / "data.zip", **FAST)
    assert _leftovers(tmp_path) == [] and len(server.requests) == 1


def test_mirror_fallback(server, tmp_path):
    src = _src([f"{server.url}/missing.zip", f"{server.url}/forbidden.zip", f"{server.url}/good.zip"])
    dest = fetch(src, tmp_path / "data.zip", **FAST)
    assert dest.read_bytes() == GOOD
    assert [p for p, _ in server.requests] == ["/missing.zip", "/forbidden.zip", "/good.zip"]


def test_hand_placed_file_is_used_without_network(server, tmp_path):
    manual = tmp_path / "manual" / "data.zip"
    manual.parent.mkdir()
    manual.write_bytes(GOOD)
    server.close()
    dest = fetch(_src([f"{server.url}/forbidden.zip"]), tmp_path / "raw" / "data.zip",
                 manual_dir=manual.parent, **FAST)
    assert dest.read_bytes() == GOOD
    assert _leftovers(dest.parent) == ["data.zip"]
    dest.unlink()  # what Snakemake does to a failed job's outputs
    assert manual.read_bytes() == GOOD  # the hand-placed file survives


@pytest.mark.parametrize("where", ["dest", "manual"])
def test_hand_placed_file_with_wrong_checksum(server, tmp_path, where):
    (tmp_path / "manual").mkdir()
    placed = tmp_path / ("data.zip" if where == "dest" else "manual/data.zip")
    placed.write_bytes(OTHER)
    with pytest.raises(ChecksumMismatch) as err:
        fetch(_src([f"{server.url}/good.zip"]), tmp_path / "data.zip",
              manual_dir=tmp_path / "manual", **FAST)
    msg = str(err.value)
    assert str(placed.resolve()) in msg and MD5_GOOD in msg and MD5_OTHER in msg
    assert "delete it" in msg
    assert placed.read_bytes() == OTHER  # the user's file is not touched
    assert server.requests == []  # decided before any network access
    if where == "manual":
        assert not (tmp_path / "data.zip").exists()


def test_wrong_size_is_reported_before_hashing(tmp_path):
    dest = tmp_path / "data.zip"
    dest.write_bytes(GOOD[:10])
    with pytest.raises(ChecksumMismatch, match=f"size is 10 bytes, expected {len(GOOD)}"):
        fetch(_src(["http://127.0.0.1:9/x"], size=len(GOOD)), dest, **FAST)


def test_fetch_all_lists_every_missing_file(server, tmp_path):
    page = "https://zenodo.org/record/1303272"
    sources = [
        Source("README.md", (f"{server.url}/good.zip",), f"md5:{MD5_GOOD}"),
        Source("training.zip", (f"{server.url}/forbidden.zip",), f"md5:{MD5_OTHER}", gated=True,
               page=page, instructions="Request access"),
        Source("testing.zip", (f"{server.url}/forbidden.zip",), f"md5:{'0' * 32}", gated=True,
               page=page, instructions="Request access"),
    ]
    with pytest.raises(ManualDownloadRequired) as err:
        fetch_all(sources, tmp_path, **FAST)
    msg = str(err.value)
    assert str((tmp_path / "training.zip").resolve()) in msg and MD5_OTHER in msg
    assert str((tmp_path / "testing.zip").resolve()) in msg and "0" * 32 in msg
    assert msg.count("Request access") == 1
    assert _leftovers(tmp_path) == ["README.md"]  # the non-gated file was still fetched


def test_bad_source_spec_is_rejected():
    with pytest.raises(ValueError, match="md5:<32 hex digits>"):
        Source("x", ("http://127.0.0.1/x",), "md5:abc")
    with pytest.raises(TypeError, match="sequence of URLs"):
        Source("x", "http://127.0.0.1/x", f"md5:{MD5_GOOD}")


# --------------------------------------------------------------------------- the cosmo rule's entry
# rule cosmo_download calls deepsphere.experiments.cosmo.sources.fetch_cosmo(raw_dir, manual_dir=...).
def _cosmo_sources(server, path="/good.zip", checksum=f"md5:{MD5_GOOD}"):
    return (Source("training.zip", (f"{server.url}{path}",), checksum, gated=True,
                   instructions="Request access on the record page", page="https://zenodo.org/r"),)


def test_fetch_cosmo_good_file(server, tmp_path):
    from deepsphere.experiments.cosmo.sources import fetch_cosmo

    out = fetch_cosmo(tmp_path / "raw", manual_dir=tmp_path / "manual",
                      sources=_cosmo_sources(server), **FAST)
    assert out["training.zip"].read_bytes() == GOOD
    assert _leftovers(tmp_path / "raw") == ["training.zip"]


def test_fetch_cosmo_bad_checksum_leaves_nothing(server, tmp_path):
    from deepsphere.experiments.cosmo.sources import fetch_cosmo

    with pytest.raises(ChecksumMismatch, match="training.zip"):
        fetch_cosmo(tmp_path / "raw", manual_dir=tmp_path / "manual",
                    sources=_cosmo_sources(server, "/other.zip"), **FAST)
    assert not (tmp_path / "raw").exists() or _leftovers(tmp_path / "raw") == []


@pytest.mark.parametrize("path", ["/forbidden.zip", "/login.zip"])
def test_fetch_cosmo_refused_names_the_manual_place(server, tmp_path, path):
    from deepsphere.experiments.cosmo.sources import fetch_cosmo

    manual = tmp_path / "manual"
    with pytest.raises(ManualDownloadRequired) as err:
        fetch_cosmo(tmp_path / "raw", manual_dir=manual, sources=_cosmo_sources(server, path),
                    **FAST)
    message = str(err.value)
    assert str((manual / "training.zip").resolve()) in message  # exactly where to put it
    assert MD5_GOOD in message and "Request access" in message
    assert not (tmp_path / "raw").exists() or _leftovers(tmp_path / "raw") == []


def test_fetch_cosmo_uses_a_verified_hand_placed_file(server, tmp_path):
    from deepsphere.experiments.cosmo.sources import fetch_cosmo

    manual = tmp_path / "manual"
    manual.mkdir()
    (manual / "training.zip").write_bytes(GOOD)
    server.close()  # no network needed
    out = fetch_cosmo(tmp_path / "raw", manual_dir=manual,
                      sources=_cosmo_sources(server, "/forbidden.zip"), **FAST)
    assert out["training.zip"].read_bytes() == GOOD


def test_fetch_cosmo_refuses_a_wrong_hand_placed_file(server, tmp_path):
    from deepsphere.experiments.cosmo.sources import fetch_cosmo

    manual = tmp_path / "manual"
    manual.mkdir()
    (manual / "training.zip").write_bytes(OTHER)
    with pytest.raises(ChecksumMismatch, match="placed by hand"):
        fetch_cosmo(tmp_path / "raw", manual_dir=manual,
                    sources=_cosmo_sources(server, "/forbidden.zip"), **FAST)
    assert not (tmp_path / "raw" / "training.zip").exists()
