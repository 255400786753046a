"""Where the shapes data come from: ModelNet40 and SHREC'17 (perturbed), with mirrors and
manual placement, on top of :mod:`deepsphere.io.download` (retries, resumable ``Range``
downloads with progress bars, atomic renames, one error listing every missing file).

- ModelNet40 (Wu et al. 2015): one archive, ``ModelNet40.zip``, from the ModelNet page.
- SHREC'17 (Savva et al. 2017), the perturbed (randomly rotated) ShapeNet Core55 subset as the
  original code fetched it: ``{train,val,test}_perturbed.zip`` and ``{train,val}.csv``, plus
  ``test.csv`` (the test labels, which the original never fetched), all under
  :data:`SHREC17_BASE`. That host has not served the files since 2019: the URLs are recorded as
  the originals, the config may give mirrors (``{file name: [URL, ...]}`` or a list of base
  URLs holding every file under its name), and when no URL answers one
  :class:`~deepsphere.io.download.ManualDownloadRequired` lists every file to put by hand under
  ``data/manual/shrec17/`` (ModelNet40: ``data/manual/modelnet40/``), with where it came from.

No checksum of these files is published, so none is recorded (``Source.checksum is None``): a
download is checked against its HTTP ``Content-Length`` only. What was obtained (size and
sha256 of each file, downloaded or placed by hand) is written to ``raw_dir /``
:data:`RECORD_NAME` on the first fetch; later fetches and :func:`verify_modelnet40` /
:func:`verify_shrec17` (no network) refuse a file that no longer matches that record.
"""

from __future__ import annotations

import os
from collections.abc import Mapping, Sequence
from pathlib import Path

from deepsphere.io.download import Source, with_mirrors
from deepsphere.io.download_record import RECORD_NAME, fetch_recorded, verify_recorded

__all__ = [
    "MODELNET40_URL",
    "MODELNET40_PAGE",
    "MODELNET40_MANUAL_DIR",
    "SHREC17_BASE",
    "SHREC17_PAGE",
    "SHREC17_FILES",
    "SHREC17_MANUAL_DIR",
    "RECORD_NAME",
    "Mirrors",
    "modelnet40_sources",
    "shrec17_sources",
    "fetch_modelnet40",
    "fetch_shrec17",
    "verify_modelnet40",
    "verify_shrec17",
]

#: ``{file name: [URL, ...]}``, or base URLs each holding every file under its name.
Mirrors = Mapping[str, Sequence[str]] | Sequence[str] | None

MODELNET40_URL = "http://modelnet.cs.princeton.edu/ModelNet40.zip"
MODELNET40_PAGE = "https://modelnet.cs.princeton.edu/"
MODELNET40_MANUAL_DIR = Path("data/manual/modelnet40")

SHREC17_BASE = "http://3dvision.princeton.edu/ms/shrec17-data"  # offline since 2019
SHREC17_PAGE = "https://shapenet.cs.stanford.edu/shrec17/"
SHREC17_FILES = ("train_perturbed.zip", "val_perturbed.zip", "test_perturbed.zip",
                 "train.csv", "val.csv", "test.csv")
SHREC17_MANUAL_DIR = Path("data/manual/shrec17")


_MODELNET40_HOW = (
    "ModelNet40.zip (Wu et al. 2015; no checksum is published for it) is offered on the "
    "ModelNet page; if its host does not answer, copy it from elsewhere or give mirrors in the "
    "config: a {file name: [URL, ...]} mapping or a list of base URLs. ModelNet page"
)
_SHREC17_HOW = (
    f"The SHREC'17 host {SHREC17_BASE} has been offline since 2019, and no checksum is "
    "published for these files: copy them from someone who kept them (the perturbed ShapeNet "
    "Core55 subset of the SHREC'17 track), or give mirrors in the config: a "
    "{file name: [URL, ...]} mapping or a list of base URLs holding every file under its name. "
    "Track page"
)


def modelnet40_sources(mirrors: Mirrors = None) -> list[Source]:
    """``[ModelNet40.zip]``: the ModelNet URL first, then the ``mirrors`` (see :func:`with_mirrors`)."""
    source = Source("ModelNet40.zip", (MODELNET40_URL,), None, instructions=_MODELNET40_HOW,
                    page=MODELNET40_PAGE)
    return with_mirrors([source], mirrors)


def shrec17_sources(mirrors: Mirrors = None) -> list[Source]:
    """The six SHREC'17 files (:data:`SHREC17_FILES`): the original URL of each first, then the
    ``mirrors`` (see :func:`with_mirrors`)."""
    sources = [Source(name, (f"{SHREC17_BASE}/{name}",), None, instructions=_SHREC17_HOW,
                      page=SHREC17_PAGE) for name in SHREC17_FILES]
    return with_mirrors(sources, mirrors)


def fetch_modelnet40(
    raw_dir: str | os.PathLike,
    *,
    manual_dir: str | os.PathLike = MODELNET40_MANUAL_DIR,
    mirrors: Mirrors = None,
    sources: Sequence[Source] | None = None,
    retries: int = 3,
    progress: bool = True,
    **fetch_kwargs,
) -> dict[str, Path]:
    """Make ``raw_dir`` hold ``ModelNet40.zip``; return ``{name: path}``.

    Args:
        raw_dir: where the file ends up (a workflow output: never a place for files by hand).
        manual_dir: where a person puts the file by hand; it is taken from there (hard link or
            copy) without network, and nothing ever writes or deletes in this folder.
        mirrors: more URLs, tried after the original (see :func:`with_mirrors`).
        sources: instead of :func:`modelnet40_sources` (tests pass a local server).
        retries, progress, fetch_kwargs: for :func:`deepsphere.io.download.fetch`
            (``timeout``, ``backoff``).

    Raises:
        ManualDownloadRequired: every URL refused, is gone or unreachable; the message says
            where to put the file.
        RetryableDownloadError: some failure looked temporary (timeouts, HTTP 5xx).
        ChecksumMismatch: a file differs from its size / sha256 recorded at the first fetch.
    """
    sources = modelnet40_sources(mirrors) if sources is None else with_mirrors(sources, mirrors)
    return fetch_recorded(sources, raw_dir, manual_dir, retries=retries, progress=progress, **fetch_kwargs)


def fetch_shrec17(
    raw_dir: str | os.PathLike,
    *,
    manual_dir: str | os.PathLike = SHREC17_MANUAL_DIR,
    mirrors: Mirrors = None,
    sources: Sequence[Source] | None = None,
    retries: int = 3,
    progress: bool = True,
    **fetch_kwargs,
) -> dict[str, Path]:
    """Make ``raw_dir`` hold the six SHREC'17 files (:data:`SHREC17_FILES`); return ``{name: path}``.

    As :func:`fetch_modelnet40`. Every file is tried, then one error lists every file still
    missing, each with its path under ``manual_dir``, its original URL and how each URL failed.
    """
    sources = shrec17_sources(mirrors) if sources is None else with_mirrors(sources, mirrors)
    return fetch_recorded(sources, raw_dir, manual_dir, retries=retries, progress=progress, **fetch_kwargs)


def verify_modelnet40(raw_dir: str | os.PathLike,
                      sources: Sequence[Source] | None = None) -> list[Path]:
    """Check ``raw_dir``'s ModelNet40 file against its recorded size and sha256 (no network)."""
    return verify_recorded(modelnet40_sources() if sources is None else sources, raw_dir)


def verify_shrec17(raw_dir: str | os.PathLike,
                   sources: Sequence[Source] | None = None) -> list[Path]:
    """Check ``raw_dir``'s SHREC'17 files against their recorded sizes and sha256 (no network)."""
    return verify_recorded(shrec17_sources() if sources is None else sources, raw_dir)
