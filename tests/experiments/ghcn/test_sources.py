"""GHCN-Daily sources against a local HTTP server on 127.0.0.1 (no internet): dead hosts then
a mirror, the record of sizes and SHA-256 written at the first fetch, one error naming every
missing file and where to place it by hand, the free-space check before any request, and the
three hosts' URLs.

References: the served bytes and hashlib's SHA-256 of them; the literal NOAA URLs (NCEI's
current ``by_year`` folder, the original code's www1.ncdc URL, the AWS ``noaa-ghcn-pds``
bucket); the hand-placement folder ``data/manual/ghcn`` a user works with."""

from __future__ import annotations

import dataclasses
import gzip
import hashlib
import json

import pytest

from deepsphere.experiments.ghcn import sources
from deepsphere.io.disk_space import NotEnoughDiskSpace
from deepsphere.io.download import ManualDownloadRequired

FAST = dict(retries=1, backoff=0.0, timeout=5.0, progress=False)
STATIONS = b"USW00094728  40.7789  -73.9692   39.6 NY NEW YORK CNTRL PK TWR\n"
YEAR = gzip.compress(b"USW00094728,20120101,TMAX,44,,,X,2400\n")


def _dead(srcs, dead):
    """The sources with every NOAA host replaced by a dead one (same paths)."""
    def move(url):
        for host in ("https://www.ncei.noaa.gov", "https://www1.ncdc.noaa.gov",
                     "https://noaa-ghcn-pds.s3.amazonaws.com"):
            url = url.replace(host, dead)
        return url

    return [dataclasses.replace(s, urls=tuple(move(u) for u in s.urls)) for s in srcs]


def test_the_three_hosts_urls_in_order():
    stations, year = sources.ghcn_sources([2012])
    assert stations.name == "ghcnd-stations.txt" and year.name == "2012.csv.gz"
    assert year.urls == (
        "https://www.ncei.noaa.gov/pub/data/ghcn/daily/by_year/2012.csv.gz",
        "https://www1.ncdc.noaa.gov/pub/data/ghcn/daily/2012.csv.gz",  # the original code's
        "https://noaa-ghcn-pds.s3.amazonaws.com/csv.gz/by_year/2012.csv.gz")
    assert stations.urls == (
        "https://www.ncei.noaa.gov/pub/data/ghcn/daily/ghcnd-stations.txt",
        "https://www1.ncdc.noaa.gov/pub/data/ghcn/daily/ghcnd-stations.txt",
        "https://noaa-ghcn-pds.s3.amazonaws.com/ghcnd-stations.txt")
    assert stations.checksum is None and year.checksum is None  # NOAA publishes none
    mirrored = sources.ghcn_sources([2010, 2011], mirrors=["http://mirror.example/g/"])
    assert [s.name for s in mirrored] == ["ghcnd-stations.txt", "2010.csv.gz", "2011.csv.gz"]
    assert mirrored[2].urls[3:] == ("http://mirror.example/g/2011.csv.gz",)


def test_dead_hosts_then_the_mirror_and_the_record(tmp_path, route_server, dead):
    server = route_server({"/m/ghcnd-stations.txt": STATIONS, "/m/2012.csv.gz": YEAR})
    raw = tmp_path / "raw"
    srcs = _dead(sources.ghcn_sources([2012], mirrors=[f"{server.url}/m"]), dead)
    assert all(u.startswith(dead) for s in srcs for u in s.urls[:3])
    paths = sources.fetch_ghcn(raw, [2012], sources=srcs, manual_dir=tmp_path / "manual",
                               **FAST)
    assert paths == {"ghcnd-stations.txt": raw / "ghcnd-stations.txt",
                     "2012.csv.gz": raw / "2012.csv.gz"}
    assert paths["ghcnd-stations.txt"].read_bytes() == STATIONS
    assert paths["2012.csv.gz"].read_bytes() == YEAR
    record = json.loads((raw / "download_record.json").read_text())
    assert record == {
        "ghcnd-stations.txt": {"size": len(STATIONS),
                               "sha256": hashlib.sha256(STATIONS).hexdigest()},
        "2012.csv.gz": {"size": len(YEAR), "sha256": hashlib.sha256(YEAR).hexdigest()}}
    assert sorted(server.requests) == ["/m/2012.csv.gz", "/m/ghcnd-stations.txt"]
    # present and recorded: a second call makes no request
    sources.fetch_ghcn(raw, [2012], sources=srcs, manual_dir=tmp_path / "manual", **FAST)
    assert len(server.requests) == 2


def test_no_host_answers_one_message_names_every_file_and_the_manual_folder(tmp_path, dead):
    srcs = _dead(sources.ghcn_sources([2011, 2012]), dead)
    with pytest.raises(ManualDownloadRequired) as err:
        sources.fetch_ghcn(tmp_path / "raw", [2011, 2012], sources=srcs,
                           manual_dir="data/manual/ghcn", **FAST)
    msg = str(err.value)
    for name in ("ghcnd-stations.txt", "2011.csv.gz", "2012.csv.gz"):
        assert f"data/manual/ghcn/{name}" in msg
    assert not (tmp_path / "raw" / "download_record.json").exists()


def test_free_space_is_checked_before_any_request(tmp_path, route_server, monkeypatch):
    import deepsphere.io.disk_space as disk_space

    server = route_server({"/m/ghcnd-stations.txt": STATIONS, "/m/2012.csv.gz": YEAR})
    monkeypatch.setattr(disk_space, "free_bytes", lambda path: 100_000_000)  # 100 MB
    srcs = [dataclasses.replace(s, urls=(f"{server.url}/m/{s.name}",))
            for s in sources.ghcn_sources([2012])]
    with pytest.raises(NotEnoughDiskSpace, match="free"):
        sources.fetch_ghcn(tmp_path / "raw", [2012], sources=srcs,
                           manual_dir=tmp_path / "manual", **FAST)
    assert server.requests == []
    # the same free space holds the station list alone (12 MB): fetched
    paths = sources.fetch_ghcn(tmp_path / "raw", [], sources=srcs[:1],
                               manual_dir=tmp_path / "manual", **FAST)
    assert paths["ghcnd-stations.txt"].read_bytes() == STATIONS
