"""Hand-placed files and gated-vs-transient failures, as a new user of the cosmo workflow meets them.

A local HTTP server on 127.0.0.1 stands in for Zenodo: each path answers a fixed status (403 for
a gated record, 503 for an overloaded mirror) or serves bytes. The references are hand-computed
checksums and sizes of the served bytes and the paths the user works with.
"""

from __future__ import annotations

import hashlib

import pytest

from deepsphere.experiments.cosmo.sources import fetch_cosmo
from deepsphere.io.download import (
    ChecksumMismatch,
    DownloadError,
    ManualDownloadRequired,
    RetryableDownloadError,
    Source,
    fetch,
    fetch_all,
)

FAST = dict(retries=2, backoff=0.0, timeout=5.0, progress=False)
FILES = {"README.md": b"# the record's readme\n", "training.zip": b"T" * 3000,
         "testing.zip": b"t" * 1234}


@pytest.fixture
def zenodo(route_server):
    """The gated record: every file answers 403."""
    return route_server({f"/{name}": 403 for name in FILES})


def _sources(server, names=FILES):
    return tuple(
        Source(name, (f"{server.url}/{name}",), f"md5:{hashlib.md5(FILES[name]).hexdigest()}",
               size=len(FILES[name]), gated=True, instructions="Request access on the record page",
               page="https://zenodo.org/record/1303272")
        for name in names
    )


def test_user_places_two_of_three_files_then_the_third(zenodo, tmp_path):
    raw, manual = tmp_path / "data/raw/cosmo/zenodo", tmp_path / "data/manual/cosmo"
    manual.mkdir(parents=True)
    for name in ("README.md", "training.zip"):
        (manual / name).write_bytes(FILES[name])
    sources = _sources(zenodo)

    with pytest.raises(ManualDownloadRequired, match=r"1 file\(s\) cannot be downloaded") as err:
        fetch_cosmo(raw, manual_dir=manual, sources=sources, **FAST)
    msg = str(err.value)
    # the missing file, where to put it, its size and md5; the placed ones are not listed
    assert f"{(manual / 'testing.zip').resolve()}\n" in msg
    assert f"md5 {hashlib.md5(FILES['testing.zip']).hexdigest()}, 1234 bytes" in msg
    assert "403" in msg and "Request access on the record page" in msg
    assert "README.md" not in msg and "training.zip" not in msg
    assert str(raw.resolve()) not in msg  # never a rule output path
    assert [e.source.name for e in err.value.missing] == ["testing.zip"]
    assert zenodo.requests == ["/testing.zip"]  # the placed files needed no network

    for out in raw.iterdir():  # Snakemake deletes a failed job's outputs
        out.unlink()
    assert {p.name: p.read_bytes() for p in manual.iterdir()} == {
        n: FILES[n] for n in ("README.md", "training.zip")}  # the hand-placed files survive

    (manual / "testing.zip").write_bytes(FILES["testing.zip"])
    out = fetch_cosmo(raw, manual_dir=manual, sources=sources, **FAST)
    assert {n: p.read_bytes() for n, p in out.items()} == FILES
    assert sorted(p.name for p in raw.iterdir()) == sorted(FILES)  # no temporary left
    assert {p.name: p.read_bytes() for p in manual.iterdir()} == FILES  # untouched
    assert zenodo.requests == ["/testing.zip"]


def test_every_missing_file_is_listed(zenodo, tmp_path):
    manual = tmp_path / "manual"
    with pytest.raises(ManualDownloadRequired, match=r"3 file\(s\)") as err:
        fetch_cosmo(tmp_path / "raw", manual_dir=manual, sources=_sources(zenodo), **FAST)
    msg = str(err.value)
    for name, data in FILES.items():
        assert f"{(manual / name).resolve()}\n" in msg
        assert f"md5 {hashlib.md5(data).hexdigest()}, {len(data)} bytes" in msg
    assert msg.count("Request access on the record page") == 1
    assert not manual.exists()  # nothing is ever created there


def test_wrong_hand_placed_file_is_named_with_the_other_missing_ones(zenodo, tmp_path):
    manual = tmp_path / "manual"
    manual.mkdir()
    (manual / "training.zip").write_bytes(b"not the archive")
    with pytest.raises(ChecksumMismatch, match="placed by hand") as err:
        fetch_cosmo(tmp_path / "raw", manual_dir=manual, sources=_sources(zenodo), **FAST)
    msg = str(err.value)
    assert "its size is 15 bytes, expected 3000 bytes" in msg
    assert str((manual / "README.md").resolve()) in msg  # still listed as missing
    assert (manual / "training.zip").read_bytes() == b"not the archive"  # not ours to delete


def test_manual_dir_must_not_be_the_download_folder(zenodo, tmp_path):
    with pytest.raises(ValueError, match="folder of its own"):
        fetch_cosmo(tmp_path / "raw", manual_dir=tmp_path / "raw", sources=_sources(zenodo),
                    **FAST)


# --------------------------------------------------------------------------- gated vs transient
@pytest.fixture
def mirrors(route_server):
    return route_server({"/gated/f.zip": 403, "/busy/f.zip": 503, "/gone/f.zip": 410,
                         "/ok/f.zip": FILES["training.zip"]})


def _one(server, *prefixes):
    return Source("f.zip", tuple(f"{server.url}/{p}/f.zip" for p in prefixes),
                  f"md5:{hashlib.md5(FILES['training.zip']).hexdigest()}", size=3000, gated=True)


def test_gated_primary_and_busy_mirror_is_retryable_not_manual(mirrors, tmp_path):
    with pytest.raises(RetryableDownloadError) as err:
        fetch(_one(mirrors, "gated", "busy"), tmp_path / "raw" / "f.zip",
              manual_dir=tmp_path / "manual", **FAST)
    assert not isinstance(err.value, ManualDownloadRequired)
    assert isinstance(err.value, DownloadError)
    msg = str(err.value)
    assert "retrying later may work" in msg and "Re-run the same command later" in msg
    assert f"{mirrors.url}/gated/f.zip answered HTTP 403" in msg
    assert f"{mirrors.url}/busy/f.zip answered HTTP 503" in msg
    assert "temporary; 3 failed attempt(s)" in msg  # 1 + retries attempts of the busy mirror
    assert str((tmp_path / "manual" / "f.zip").resolve()) in msg  # the alternative, never raw/
    assert str((tmp_path / "raw").resolve()) not in msg
    assert mirrors.requests.count("/gated/f.zip") == 1  # a refusal is not retried


def test_gated_and_gone_everywhere_is_manual(mirrors, tmp_path):
    with pytest.raises(ManualDownloadRequired, match="every URL refused") as err:
        fetch(_one(mirrors, "gated", "gone"), tmp_path / "f.zip", **FAST)
    assert "HTTP 403" in str(err.value) and "HTTP 410" in str(err.value)
    assert "retry" not in str(err.value).lower()


def test_one_transient_file_makes_the_whole_report_retryable(mirrors, tmp_path):
    md5 = _one(mirrors, "ok").checksum
    sources = [Source("a.zip", _one(mirrors, "gated").urls, md5),
               Source("b.zip", _one(mirrors, "busy").urls, md5),
               Source("c.zip", _one(mirrors, "busy", "ok").urls, md5)]
    with pytest.raises(RetryableDownloadError) as err:
        fetch_all(sources, tmp_path / "raw", manual_dir=tmp_path / "manual", **FAST)
    verdicts = {m.source.name: m.transient for m in err.value.missing}
    assert verdicts == {"a.zip": False, "b.zip": True}  # c.zip came from the second mirror
    msg = str(err.value)
    assert "a.zip (every URL refused it)" in msg and "b.zip (temporary failure: retry)" in msg
    assert (tmp_path / "raw" / "c.zip").read_bytes() == FILES["training.zip"]
