"""Where GHCN-Daily comes from: the station list and one ``{year}.csv.gz`` per configured year.

Three hosts serve the same files, tried in this order (the config may add mirrors):

- NOAA NCEI, the current location: ``https://www.ncei.noaa.gov/pub/data/ghcn/daily/``
  (``ghcnd-stations.txt`` and ``by_year/{year}.csv.gz``);
- the URL of the original code, ``https://www1.ncdc.noaa.gov/pub/data/ghcn/daily/`` (NCDC's old
  host name; the original fetched ``{year}.csv.gz`` from the folder itself);
- the public cloud copy of NOAA's Open Data Dissemination program, the ``noaa-ghcn-pds``
  bucket on AWS (``csv.gz/by_year/{year}.csv.gz``, the station list at its root).

A year is about 200 MB compressed (1.2 GB of CSV, ~37 million rows). NOAA revises the files
daily and publishes no checksum: the size and SHA-256 of each file are recorded at its first
fetch (:mod:`deepsphere.io.download_record`) and later runs are held to them. A download shows
its progress and continues an interrupted ``.part`` file with HTTP ``Range``; free disk space
is checked before the first request. When no host answers, one error names every missing
file and where to place it by hand (``data/manual/ghcn/``).
"""

from __future__ import annotations

import os
from collections.abc import Sequence
from pathlib import Path

from deepsphere.io.disk_space import ensure_download_space
from deepsphere.io.download import Source, with_mirrors
from deepsphere.io.download_record import fetch_recorded

__all__ = ["HOSTS", "MANUAL_DIR", "STATIONS", "YEAR_BYTES", "fetch_ghcn", "ghcn_sources",
           "year_file"]

STATIONS = "ghcnd-stations.txt"
MANUAL_DIR = Path("data/manual/ghcn")
PAGE = "https://www.ncei.noaa.gov/products/land-based-station/global-historical-climatology-network-daily"
#: (host, station-list URL, year URL pattern), in the order tried.
HOSTS = (
    ("NOAA NCEI", "https://www.ncei.noaa.gov/pub/data/ghcn/daily/ghcnd-stations.txt",
     "https://www.ncei.noaa.gov/pub/data/ghcn/daily/by_year/{year}.csv.gz"),
    ("NOAA NCDC (the original code's URL)",
     "https://www1.ncdc.noaa.gov/pub/data/ghcn/daily/ghcnd-stations.txt",
     "https://www1.ncdc.noaa.gov/pub/data/ghcn/daily/{year}.csv.gz"),
    ("NOAA Open Data on AWS", "https://noaa-ghcn-pds.s3.amazonaws.com/ghcnd-stations.txt",
     "https://noaa-ghcn-pds.s3.amazonaws.com/csv.gz/by_year/{year}.csv.gz"),
)
YEAR_BYTES = 250e6  # an allowance per year's csv.gz (the issue: about 200 MB), not measured
STATIONS_BYTES = 12e6  # an allowance for ghcnd-stations.txt, not measured


def year_file(year: int) -> str:
    return f"{int(year)}.csv.gz"


_HOW = ("GHCN-Daily is public; when no host answers (a firewall, an outage), download the "
        "files on another machine from any of: " + ", ".join(h[0] for h in HOSTS)
        + ". NOAA's page")


def ghcn_sources(years: Sequence[int], mirrors=None) -> list[Source]:
    """The station list, then one source per year; each with the three hosts' URLs, then the
    ``mirrors`` (base URLs holding the files under their names, or ``{file: [URL, ...]}``)."""
    sources = [Source(STATIONS, tuple(h[1] for h in HOSTS), None, instructions=_HOW, page=PAGE)]
    sources += [Source(year_file(y), tuple(h[2].format(year=int(y)) for h in HOSTS), None,
                       instructions=_HOW, page=PAGE) for y in years]
    return with_mirrors(sources, mirrors)


def fetch_ghcn(raw_dir: str | os.PathLike, years: Sequence[int], *, manual_dir=MANUAL_DIR,
               mirrors=None, sources: Sequence[Source] | None = None, retries: int = 3,
               progress: bool = True, **fetch_kwargs) -> dict[str, Path]:
    """Make ``raw_dir`` hold ``ghcnd-stations.txt`` and ``{year}.csv.gz`` for each year
    (downloaded, or linked from ``manual_dir``); returns ``{file name: path}``.

    Before any request the free space of ``raw_dir`` must hold the missing files (less what
    their ``.part`` files already hold). Raises ManualDownloadRequired, RetryableDownloadError,
    ChecksumMismatch (a file differs from the size and SHA-256 recorded at its first fetch) or
    NotEnoughDiskSpace.
    """
    raw_dir, manual_dir = Path(raw_dir), Path(manual_dir)
    sources = (ghcn_sources(years, mirrors) if sources is None
               else with_mirrors(sources, mirrors))
    ensure_download_space(
        raw_dir, {s.name: STATIONS_BYTES if s.name == STATIONS else YEAR_BYTES for s in sources},
        manual_dir=manual_dir, what="downloading GHCN-Daily")
    return fetch_recorded(sources, raw_dir, manual_dir, retries=retries, progress=progress,
                          **fetch_kwargs)
