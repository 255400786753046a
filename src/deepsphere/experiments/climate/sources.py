"""Where the climate data come from: Jiang et al.'s level-5 icosahedral maps and the split lists.

- ``climate_sphere_l5.zip`` (about 30 GB; unpacks to ``data_5_all/``, 62,738 files
  ``data-YYYY-MM-DD-HH-R-mesh.npz``) from UGSCNN's host :data:`ARCHIVE_URL`, which is reported
  dead: the URL is kept as the original, the config may give mirrors, and when nothing answers
  one :class:`~deepsphere.io.download.ManualDownloadRequired` says where to put the zip, or the
  unpacked ``data_5_all/`` folder, by hand (``data/manual/climate/``). No checksum is published:
  the size and SHA-256 are recorded at the first fetch (:mod:`deepsphere.io.download_record`).
  The download resumes a ``.part`` file with HTTP ``Range`` after an interruption, shows its
  progress, and checks the free disk space before it starts.
- ``train.txt``, ``val.txt``, ``test.txt`` (43,916 / 6,274 / 12,548 names): deepsphere-tf1's
  lists at the pinned commit :data:`SPLITS_COMMIT`, checked against their md5s
  (:data:`SPLIT_MD5`), then against their sizes, names, duplicates and overlap
  (:func:`read_split_list`). The issue asks for them to ship with the project; this machine
  cannot reach their host, so they are fetched once (or placed by hand) instead, and the md5s
  hold them to the same bytes.
"""

from __future__ import annotations

import os
import re
from collections.abc import Mapping, Sequence
from pathlib import Path

from deepsphere.io.disk_space import ensure_download_space
from deepsphere.io.download import Source, fetch_all, with_mirrors
from deepsphere.io.download_record import fetch_recorded

__all__ = [
    "ARCHIVE",
    "ARCHIVE_PAGE",
    "MAPS_FOLDER",
    "check_disjoint",
    "ARCHIVE_URL",
    "MANUAL_DIR",
    "MAP_NAME",
    "SPLITS",
    "SPLIT_MD5",
    "SPLIT_SIZES",
    "SPLITS_COMMIT",
    "archive_sources",
    "fetch_archive",
    "fetch_split_lists",
    "manual_maps_dir",
    "read_split_list",
    "split_sources",
]

ARCHIVE = "climate_sphere_l5.zip"
ARCHIVE_URL = f"http://island.me.berkeley.edu/ugscnn/data/{ARCHIVE}"  # reported dead
ARCHIVE_PAGE = "https://github.com/maxjiang93/ugscnn"
MAPS_FOLDER = "data_5_all"
MANUAL_DIR = Path("data/manual/climate")
SPLITS = ("train", "val", "test")
SPLITS_COMMIT = "05b21ca9197998f522815208f522f3089a9beff1"
SPLITS_BASE = ("https://raw.githubusercontent.com/deepsphere/deepsphere-tf1/"
               f"{SPLITS_COMMIT}/data/climate")
SPLIT_MD5 = {"train": "e378012691ea2178997c62a4bc9df5fb",
             "val": "500ef3a1fc3997773af115e7db1e788c",
             "test": "3dbdddd279d4c1b9318a8194d58f6085"}
SPLIT_SIZES = {"train": 43916, "val": 6274, "test": 12548}
#: ``data-YYYY-MM-DD-HH-R-mesh.npz`` (HH: the 3-hourly step 00..07, R: the run).
MAP_NAME = re.compile(r"^data-\d{4}-\d{2}-\d{2}-\d{2}-\d+-mesh\.npz$")

def _archive_how(manual_dir) -> str:
    return (
        f"{ARCHIVE} (Jiang et al. 2019, UGSCNN; about 30 GB, no checksum published) was served "
        f"by {ARCHIVE_URL.split('/ugscnn')[0]}, which no longer answers. Copy it from someone "
        "who kept it, or give mirrors in the config (climate.download.mirrors). Instead of the "
        f"zip you may place the unpacked folder: {Path(manual_dir) / MAPS_FOLDER}/ holding the "
        "data-YYYY-MM-DD-HH-R-mesh.npz files (it is used in place, nothing is copied). UGSCNN "
        "page")


_SPLITS_HOW = ("The split lists of deepsphere-tf1 (data/climate/<split>.txt at commit "
               f"{SPLITS_COMMIT[:7]}); copy them from a clone of that repository. Repository")


def archive_sources(mirrors=None, manual_dir=MANUAL_DIR) -> list[Source]:
    """``[climate_sphere_l5.zip]``: the original URL first, then the ``mirrors``; its
    instructions name ``manual_dir`` for the unpacked folder."""
    source = Source(ARCHIVE, (ARCHIVE_URL,), None, instructions=_archive_how(manual_dir),
                    page=ARCHIVE_PAGE)
    return with_mirrors([source], mirrors)


def split_sources(mirrors=None) -> list[Source]:
    """The three split lists at :data:`SPLITS_COMMIT`, md5-checked."""
    sources = [Source(f"{s}.txt", (f"{SPLITS_BASE}/{s}.txt",), f"md5:{SPLIT_MD5[s]}",
                      instructions=_SPLITS_HOW,
                      page="https://github.com/deepsphere/deepsphere-tf1")
               for s in SPLITS]
    return with_mirrors(sources, mirrors)


def manual_maps_dir(manual_dir: str | os.PathLike = MANUAL_DIR) -> Path | None:
    """The hand-placed unpacked folder ``manual_dir/data_5_all`` if it holds map files."""
    folder = Path(manual_dir) / MAPS_FOLDER
    if folder.is_dir() and any(MAP_NAME.match(p.name) for p in folder.iterdir()):
        return folder
    return None


def fetch_archive(raw_dir: str | os.PathLike, *, manual_dir=MANUAL_DIR, mirrors=None,
                  archive_bytes: float = 30e9, sources: Sequence[Source] | None = None,
                  retries: int = 3, progress: bool = True, **fetch_kwargs) -> Path:
    """Make ``raw_dir`` hold ``climate_sphere_l5.zip`` (download, or the hand-placed copy);
    return its path. Before any request, the free space of ``raw_dir`` must hold
    ``archive_bytes`` (less what a ``.part`` of an interrupted download already holds).

    Raises ManualDownloadRequired (nothing answered: the message says where to put the zip or
    the unpacked folder), RetryableDownloadError, ChecksumMismatch, NotEnoughDiskSpace.
    """
    raw_dir = Path(raw_dir)
    sources = (archive_sources(mirrors, manual_dir) if sources is None
               else with_mirrors(sources, mirrors))
    ensure_download_space(raw_dir, {ARCHIVE: archive_bytes}, manual_dir=manual_dir,
                          what=f"downloading {ARCHIVE}")
    paths = fetch_recorded(sources, raw_dir, manual_dir, retries=retries, progress=progress,
                           **fetch_kwargs)
    return paths[ARCHIVE]


def fetch_split_lists(raw_dir: str | os.PathLike, *, manual_dir=MANUAL_DIR, mirrors=None,
                      sources: Sequence[Source] | None = None, retries: int = 3,
                      expected_sizes: Mapping[str, int] | None = SPLIT_SIZES,
                      **fetch_kwargs) -> dict[str, Path]:
    """Make ``raw_dir`` hold ``{train,val,test}.txt`` (md5-checked), read each once to check
    it (:func:`read_split_list`); returns ``{split: path}``."""
    sources = split_sources(mirrors) if sources is None else with_mirrors(sources, mirrors)
    paths = fetch_all(sources, raw_dir, manual_dir=manual_dir, retries=retries, **fetch_kwargs)
    out = {p.stem: p for p in paths}
    names = {s: read_split_list(p, None if expected_sizes is None else expected_sizes.get(s))
             for s, p in out.items()}
    check_disjoint(names)
    return out


def read_split_list(path: str | os.PathLike, expected: int | None = None) -> list[str]:
    """The map file names of a split list (one per line); a malformed name, a repeated one, or
    a count other than ``expected`` is a ValueError naming the file and the line."""
    path = Path(path)
    names = [line.strip() for line in path.read_text(encoding="utf-8").splitlines()]
    names = [n for n in names if n]
    for i, name in enumerate(names, 1):
        if not MAP_NAME.match(name):
            raise ValueError(f"{path}: line {i} ({name!r}) is not a map file name "
                             "data-YYYY-MM-DD-HH-R-mesh.npz: is this a split list?")
    if len(set(names)) != len(names):
        seen, dup = set(), None
        for n in names:
            if n in seen:
                dup = n
                break
            seen.add(n)
        raise ValueError(f"{path}: {dup!r} is listed twice: a split list names each map once")
    if expected is not None and len(names) != expected:
        raise ValueError(f"{path}: {len(names)} names, expected {expected}: the list is "
                         "truncated or not the original one; delete it and rerun")
    return names


def check_disjoint(names: Mapping[str, Sequence[str]]) -> None:
    """Raise ValueError if a map is listed in two splits."""
    splits = list(names)
    for i, a in enumerate(splits):
        for b in splits[i + 1:]:
            common = sorted(set(names[a]) & set(names[b]))
            if common:
                raise ValueError(f"splits {a} and {b} share {len(common)} map(s), e.g. "
                                 f"{common[0]}: the splits must be disjoint")
