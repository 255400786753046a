"""Checksummed, retried, resumable and atomic downloads, with manual placement for gated sources.

A :class:`Source` describes one remote file: its name, the URLs to try (primary first, then
mirrors; :func:`with_mirrors` adds more), its checksum (``"md5:<hex>"`` or ``"sha256:<hex>"``,
or ``None`` when none is known: the file is then checked only against its size if known and the
HTTP ``Content-Length``), optionally its size in bytes, whether access is gated, and what a
person must do to obtain it by hand.

:func:`fetch` guarantees that ``dest`` either does not exist or holds exactly the file whose
checksum (and size, where known) is recorded in the source:

- ``dest`` already present with the right checksum: returned without any network access; with
  the wrong checksum: :class:`ChecksumMismatch` (fix: delete it and rerun).
- ``manual_dir / source.name`` present (placed by hand): verified, then hard-linked (or copied)
  atomically onto ``dest``, without network. Nothing here ever writes, moves or deletes a file in
  ``manual_dir``: a workflow may delete ``dest`` (e.g. Snakemake deletes a failed job's outputs)
  and the hand-placed copy survives. A wrong file there is refused and left untouched.
- Otherwise each URL is tried in turn, resuming into ``dest + ".part"`` with HTTP ``Range``.
  Transient failures (connection errors, timeouts, truncated bodies, HTTP 5xx/408/429) are retried
  with exponential backoff. HTTP 401/403 (gated) and 404/410 (gone) are permanent for that URL;
  so is a host that refused the connection or does not exist on every attempt (unreachable).
- The finished ``.part`` is verified, then renamed onto ``dest`` with :func:`os.replace`.
  A wrong checksum deletes the ``.part`` and raises :class:`ChecksumMismatch`.
- Only when EVERY URL failed permanently (or was unreachable): :class:`ManualDownloadRequired` (place it by hand). If
  any URL failed only transiently: :class:`RetryableDownloadError` (says which URL failed how;
  retry later). Both list the file with its hand-placement path, size and checksum, and that path
  is ``manual_dir / name``, never ``dest`` (unless no ``manual_dir`` is given).

:func:`fetch_all` fetches several sources into one directory and raises one error that lists
every file still missing (not only the first).
"""

from __future__ import annotations

import argparse
import os
import shutil
import sys
import time
from collections.abc import Sequence
from pathlib import Path

from deepsphere.io._http import (
    Permanent,
    RangeNotSatisfiable,
    Transient,
    Unreachable,
    download_once,
)
from deepsphere.io.atomic import atomic_path
from deepsphere.io.download_errors import (
    _WHY,
    ChecksumMismatch,
    DownloadError,
    FilesMissing,
    ManualDownloadRequired,
    Missing,
    RetryableDownloadError,
    _expected,
    _missing_error,
    _missing_message,
)
from deepsphere.io.source import Source, file_checksum, with_mirrors

__all__ = [
    "Source",
    "Missing",
    "DownloadError",
    "ChecksumMismatch",
    "FilesMissing",
    "ManualDownloadRequired",
    "RetryableDownloadError",
    "file_checksum",
    "fetch",
    "fetch_all",
    "verify_files",
    "with_mirrors",
]

def _problem(source: Source, path: Path, *, progress: bool) -> str | None:
    """Why ``path`` is not the source's file (size first, then checksum), or ``None``: it is, as
    far as the recorded size and checksum tell."""
    actual_size = path.stat().st_size
    if source.size is not None and actual_size != source.size:
        return f"its size is {actual_size} bytes, expected {source.size} bytes"
    if source.checksum is None:
        return None
    actual = file_checksum(path, source.algorithm, progress=progress)
    if actual != source.hexdigest:
        return f"its {source.algorithm} is {actual}, expected {source.hexdigest}"
    return None


def _verify_existing(source: Source, path: Path, *, progress: bool, what: str, fix: str) -> None:
    """Raise :class:`ChecksumMismatch` unless ``path`` has the source's size and checksum."""
    problem = _problem(source, path, progress=progress)
    if problem:
        raise ChecksumMismatch(
            f"{path.resolve()} ({what}) is not the expected {source.name!r}: {problem}.\nFix: {fix}"
        )


def _link_or_copy(src: Path, dest: Path) -> None:
    """``dest`` := ``src`` atomically: a hard link (no copy; deleting ``dest`` keeps ``src``)
    where the file system allows, else a copy. ``src`` itself is never modified."""
    with atomic_path(dest) as tmp:
        tmp.unlink()
        try:
            os.link(src, tmp)
        except OSError:  # another file system, or links not supported
            shutil.copyfile(src, tmp)


def fetch(
    source: Source,
    dest: str | os.PathLike,
    *,
    retries: int = 3,
    backoff: float = 2.0,
    timeout: float = 60.0,
    progress: bool = True,
    manual_dir: str | os.PathLike | None = None,
) -> Path:
    """Make ``dest`` hold the verified file of ``source``; return ``dest`` as a :class:`Path`.

    Args:
        source: what to fetch.
        dest: final path of the file. Its directory is created if needed.
        retries: extra rounds over the URLs after the first one (so ``1 + retries`` attempts per
            URL at most) for transient failures.
        backoff: seconds; the wait before round ``r`` (1-based) is ``backoff * 2**(r - 1)``.
        timeout: seconds per connection / read.
        progress: show tqdm progress bars.
        manual_dir: the folder where a person puts files by hand (``manual_dir / source.name``);
            only ever read. Errors tell people to place files there. Without it they name
            ``dest`` (fine for a plain script; a workflow must give one, because it may delete
            its outputs, ``dest`` included).

    Raises:
        ChecksumMismatch: ``dest`` or the hand-placed file is wrong, or the download is corrupt.
        ManualDownloadRequired: every URL answered 401/403/404/410 (or a login page), or
            refused the connection / named no existing host on every attempt.
        RetryableDownloadError: some URL failed only transiently, after all retries.
    """
    dest = Path(dest)
    if retries < 0 or backoff < 0 or timeout <= 0:
        raise ValueError("fetch: need retries >= 0, backoff >= 0 and timeout > 0")
    manual = None if manual_dir is None else Path(manual_dir) / source.name
    if manual is not None and manual.resolve() == dest.resolve():
        raise ValueError(
            f"manual_dir {manual_dir} is the destination folder of {dest}: hand-placed files must "
            "live in a folder of their own (e.g. data/manual/<experiment>), because a workflow "
            "may delete its outputs."
        )
    place_at = (manual or dest).resolve()
    if dest.exists():
        _verify_existing(source, dest, progress=progress, what="already present",
                         fix="delete it and rerun; it is then fetched again.")
        return dest
    if manual is not None and manual.exists():
        _verify_existing(
            source, manual, progress=progress, what="placed by hand",
            fix=f"replace it with the correct file ({_expected(source)}, from "
                f"{source.page or source.urls[0]}), or delete it to download it; it is verified "
                "again on the next run.")
        _link_or_copy(manual, dest)
        return dest

    dest.parent.mkdir(parents=True, exist_ok=True)
    part = dest.with_name(dest.name + ".part")
    if part.exists() and source.size is not None and part.stat().st_size > source.size:
        part.unlink()  # longer than the real file: cannot be a prefix of it
    permanent: dict[str, Permanent] = {}
    transient: dict[str, list[str]] = {}
    answered: set[str] = set()  # URLs that failed transiently at least once in another way
    for round_ in range(retries + 1):
        live = [u for u in source.urls if u not in permanent]
        if not live:
            break
        if round_ and backoff:
            time.sleep(backoff * 2 ** (round_ - 1))
        for url in live:
            try:
                download_once(url, part, timeout=timeout, progress=progress, name=source.name,
                               gated=source.gated)
            except RangeNotSatisfiable:
                # A complete .part (e.g. interrupted before the rename) is used; anything else
                # is not a prefix of the file: start over on the next attempt. Without checksum
                # or size, completeness cannot be told: start over.
                known = source.checksum is not None or source.size is not None
                if known and _problem(source, part, progress=progress) is None:
                    os.replace(part, dest)
                    return dest
                part.unlink(missing_ok=True)
                transient.setdefault(url, []).append(
                    f"{url}: HTTP 416 for a stale {part.name}; restarting from 0")
                answered.add(url)
                continue
            except Permanent as err:
                permanent[url] = err
                continue
            except Transient as err:
                transient.setdefault(url, []).append(str(err))
                if not isinstance(err, Unreachable):
                    answered.add(url)
                continue
            problem = _problem(source, part, progress=progress)
            if problem:
                part.unlink(missing_ok=True)
                raise ChecksumMismatch(
                    f"Downloaded {source.name!r} from {url} but {problem}; the partial file was "
                    "deleted. "
                    "The source may have changed or be corrupt: try again later, check the "
                    f"checksum at {source.page or url}, or place a verified copy at {place_at}."
                )
            os.replace(part, dest)
            return dest

    unreachable = [u for u in transient if u not in answered]  # on every attempt
    for url in unreachable:
        fails = transient.pop(url)
        permanent[url] = Permanent(f"{fails[-1]} ({len(fails)} attempt(s))", "unreachable")
    reasons = []
    for url in source.urls:
        if url in permanent:
            reasons.append(f"{permanent[url]} ({permanent[url].kind}: {_WHY[permanent[url].kind]})")
        else:
            fails = transient[url]
            reasons.append(f"{fails[-1]} (temporary; {len(fails)} failed attempt(s))")
    if not transient and not unreachable:
        part.unlink(missing_ok=True)
    # else keep the .part: a later call resumes it (it is never mistaken for dest).
    raise _missing_error([Missing(source, place_at, tuple(reasons), bool(transient),
                                  manual is not None)])


def fetch_all(
    sources: Sequence[Source],
    directory: str | os.PathLike,
    *,
    manual_dir: str | os.PathLike | None = None,
    **kwargs,
) -> list[Path]:
    """Fetch every source to ``directory / source.name``; return the paths in the same order.

    Every source is tried even when an earlier one failed; then one error covers them all:
    :class:`ChecksumMismatch` if any file present is wrong (the missing files listed too), else
    :class:`RetryableDownloadError` if any failure was transient, else
    :class:`ManualDownloadRequired`; each lists every missing file with its hand-placement path
    (``manual_dir / name``), size and checksum. ``kwargs`` go to :func:`fetch`. A ``manual_dir``
    that is ``directory`` itself is refused (the hand-placed files would not survive a failure).
    """
    directory = Path(directory)
    if manual_dir is not None and Path(manual_dir).resolve() == directory.resolve():
        raise ValueError(
            f"manual_dir ({manual_dir}) is the download folder {directory}, whose files a workflow "
            "deletes when the download fails: set it to a folder of its own (by convention "
            "data/manual/<experiment>/, which no workflow step writes or deletes)."
        )
    paths, missing, wrong = [], [], []
    for src in sources:
        try:
            paths.append(fetch(src, directory / src.name, manual_dir=manual_dir, **kwargs))
        except FilesMissing as err:
            missing += err.missing
        except ChecksumMismatch as err:
            wrong.append(str(err))
    if wrong:
        raise ChecksumMismatch("\n\n".join(wrong + ([_missing_message(missing)] if missing else [])))
    if missing:
        raise _missing_error(missing)
    return paths


def verify_files(
    sources: Sequence[Source], directory: str | os.PathLike, *, progress: bool = False
) -> list[Path]:
    """Check that ``directory / source.name`` holds each verified file (no network access).

    Raises :class:`FileNotFoundError` for a missing file and one :class:`ChecksumMismatch`
    listing every wrong one (fix: delete it and rerun the download).
    """
    directory = Path(directory)
    paths = [directory / s.name for s in sources]
    absent = [str(p) for p in paths if not p.is_file()]
    if absent:
        raise FileNotFoundError(f"{absent} missing: run the download step first.")
    wrong = []
    for src, path in zip(sources, paths, strict=True):
        try:
            _verify_existing(src, path, progress=progress, what="downloaded earlier",
                             fix="delete it and rerun the download step.")
        except ChecksumMismatch as err:
            wrong.append(str(err))
    if wrong:
        raise ChecksumMismatch("\n".join(wrong))
    return paths


def main(argv: Sequence[str] | None = None) -> int:
    """``python -m deepsphere.io.download URL --checksum md5:... --dest PATH``: fetch one file."""
    parser = argparse.ArgumentParser(prog="python -m deepsphere.io.download", description=main.__doc__)
    parser.add_argument("urls", nargs="+", help="primary URL, then mirrors")
    parser.add_argument("--checksum", required=True, help="md5:<hex> or sha256:<hex>")
    parser.add_argument("--dest", required=True, help="destination file path")
    parser.add_argument("--retries", type=int, default=3)
    args = parser.parse_args(argv)
    source = Source(name=Path(args.dest).name, urls=tuple(args.urls), checksum=args.checksum)
    try:
        fetch(source, args.dest, retries=args.retries)
    except DownloadError as err:
        print(err, file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
