"""Checksummed, retried, resumable and atomic downloads, with manual placement for gated sources.

A :class:`Source` describes one remote file: its name, the URLs to try (primary first, then
mirrors), its checksum (``"md5:<hex>"`` or ``"sha256:<hex>"``), optionally its size in bytes,
whether access is gated, and what a person must do to obtain it by hand.

:func:`fetch` guarantees that ``dest`` either does not exist or holds exactly the file whose
checksum is recorded in the source:

- ``dest`` already present with the right checksum: returned without any network access.
- ``dest`` present with the wrong checksum (placed by hand): :class:`ChecksumMismatch`, naming the
  file, the expected and actual checksums and the fix. The file is left untouched (it is not ours).
- Otherwise each URL is tried in turn, resuming into ``dest + ".part"`` with HTTP ``Range``.
  Transient failures (connection errors, timeouts, truncated bodies, HTTP 5xx/408/429) are retried
  with exponential backoff. HTTP 401/403 (gated) and 404/410 (gone) are not retried for that URL;
  when every URL failed that way, :class:`ManualDownloadRequired` says what to do.
- The finished ``.part`` is verified, then renamed onto ``dest`` with :func:`os.replace`.
  A wrong checksum deletes the ``.part`` and raises :class:`ChecksumMismatch`.

:func:`fetch_all` fetches several sources into one directory and, if any needs manual placement,
raises one error that lists every missing file with its checksum and absolute target path.
"""

from __future__ import annotations

import argparse
import hashlib
import http.client
import os
import shutil
import sys
import time
import urllib.error
import urllib.request
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path

from tqdm import tqdm

__all__ = [
    "Source",
    "DownloadError",
    "ChecksumMismatch",
    "ManualDownloadRequired",
    "file_checksum",
    "fetch",
    "fetch_all",
]

_ALGORITHMS = {"md5": 32, "sha256": 64}
_CHUNK = 1 << 20  # bytes per read
_PERMANENT = {401: "gated", 403: "gated", 404: "gone", 410: "gone"}
_USER_AGENT = "deepsphere-download/0.1 (+https://github.com/deepsphere)"


class DownloadError(RuntimeError):
    """A file could not be obtained (base class of every error raised here)."""


class ChecksumMismatch(DownloadError):
    """A file (downloaded or placed by hand) does not have the recorded checksum."""


class ManualDownloadRequired(DownloadError):
    """The file cannot be downloaded automatically (gated or gone); a person must place it.

    Attributes:
        missing: ``[(source, absolute target path), ...]`` still to be placed by hand.
        reasons: one line per failed URL.
    """

    def __init__(self, missing: Sequence[tuple[Source, Path]], reasons: Sequence[str]):
        super().__init__(_manual_message(missing, reasons))
        self.missing = list(missing)
        self.reasons = list(reasons)


@dataclass(frozen=True)
class Source:
    """One remote file.

    Attributes:
        name: file name (the default basename at the destination), e.g. ``"training.zip"``.
        urls: URLs to try in order: primary first, then mirrors.
        checksum: ``"md5:<32 hex>"`` or ``"sha256:<64 hex>"``.
        size: size in bytes if known (checked before hashing; ``None`` if unknown).
        gated: ``True`` if the host requires permission (HTTP 401/403 is then expected).
        instructions: what a person must do to get the file by hand (e.g. request access).
        page: the human-readable landing page (e.g. the Zenodo record).
    """

    name: str
    urls: tuple[str, ...]
    checksum: str
    size: int | None = None
    gated: bool = False
    instructions: str = ""
    page: str | None = None
    _algo: str = field(init=False, repr=False, compare=False)
    _hex: str = field(init=False, repr=False, compare=False)

    def __post_init__(self):
        if isinstance(self.urls, str):
            raise TypeError(f"Source {self.name!r}: urls must be a sequence of URLs, not one string")
        object.__setattr__(self, "urls", tuple(self.urls))
        if not self.urls:
            raise ValueError(f"Source {self.name!r}: give at least one URL")
        algo, sep, hexdigest = self.checksum.partition(":")
        algo = algo.lower()
        if not sep or algo not in _ALGORITHMS or len(hexdigest) != _ALGORITHMS[algo]:
            raise ValueError(
                f"Source {self.name!r}: checksum {self.checksum!r} must look like "
                "'md5:<32 hex digits>' or 'sha256:<64 hex digits>'"
            )
        try:
            int(hexdigest, 16)
        except ValueError:
            raise ValueError(f"Source {self.name!r}: checksum {self.checksum!r} is not hex") from None
        object.__setattr__(self, "_algo", algo)
        object.__setattr__(self, "_hex", hexdigest.lower())

    @property
    def algorithm(self) -> str:
        """``"md5"`` or ``"sha256"``."""
        return self._algo

    @property
    def hexdigest(self) -> str:
        """The expected checksum, lower-case hex."""
        return self._hex


def file_checksum(path: str | os.PathLike, algorithm: str, *, progress: bool = False) -> str:
    """Hex digest (``"md5"`` or ``"sha256"``) of a file, read in 1 MiB chunks."""
    h = hashlib.new(algorithm)
    path = Path(path)
    with (
        open(path, "rb") as f,
        tqdm(total=path.stat().st_size, unit="B", unit_scale=True, disable=not progress,
             desc=f"{algorithm} {path.name}", leave=False) as bar,
    ):
        while chunk := f.read(_CHUNK):
            h.update(chunk)
            bar.update(len(chunk))
    return h.hexdigest()


def _verify_existing(source: Source, path: Path, *, progress: bool, placed_by: str) -> None:
    """Raise :class:`ChecksumMismatch` unless ``path`` has the source's checksum."""
    problem = None
    actual_size = path.stat().st_size
    if source.size is not None and actual_size != source.size:
        problem = f"its size is {actual_size} bytes, expected {source.size} bytes"
    else:
        actual = file_checksum(path, source.algorithm, progress=progress)
        if actual != source.hexdigest:
            problem = f"its {source.algorithm} is {actual}, expected {source.hexdigest}"
    if problem:
        raise ChecksumMismatch(
            f"{path.resolve()} ({placed_by}) is not the expected {source.name!r}: {problem}.\n"
            f"Fix: delete it to download it again, or replace it with the correct file "
            f"(from {source.page or source.urls[0]}); it is then verified again."
        )


def _manual_message(sources_and_paths: Sequence[tuple[Source, Path]], reasons: Sequence[str]) -> str:
    lines = ["These files cannot be downloaded automatically:"]
    lines += [f"  - {r}" for r in reasons]
    lines.append("What to do:")
    step = 1
    seen = set()
    for src, _ in sources_and_paths:
        if src.instructions and src.instructions not in seen:
            seen.add(src.instructions)
            page = f" ({src.page})" if src.page else ""
            lines.append(f"  {step}. {src.instructions}{page}")
            step += 1
    lines.append(f"  {step}. Download these files by hand and put them exactly here:")
    for src, path in sources_and_paths:
        size = f", {src.size} bytes" if src.size is not None else ""
        lines.append(f"       {path.resolve()}  ({src.algorithm} {src.hexdigest}{size})")
        lines.append(f"         from {src.urls[0]}")
    lines.append(
        f"  {step + 1}. Re-run the same command/rule: the files are verified against these "
        "checksums and used without network access."
    )
    return "\n".join(lines)


class _Transient(Exception):
    """A failure worth retrying."""


class _Permanent(Exception):
    """A failure not worth retrying for this URL: ``kind`` is ``"gated"`` or ``"gone"``."""

    def __init__(self, message: str, kind: str):
        super().__init__(message)
        self.kind = kind


class _RangeNotSatisfiable(Exception):
    """HTTP 416 for our ``Range``: the ``.part`` is already complete, or is not a prefix."""


def _download_once(
    url: str, part: Path, *, timeout: float, progress: bool, name: str, gated: bool
) -> None:
    """One attempt: append to ``part`` from its current size (HTTP Range), or restart at 0."""
    offset = part.stat().st_size if part.exists() else 0
    request = urllib.request.Request(url, headers={"User-Agent": _USER_AGENT})
    if offset:
        request.add_header("Range", f"bytes={offset}-")
    try:
        response = urllib.request.urlopen(request, timeout=timeout)
    except urllib.error.HTTPError as err:
        if err.code == 416 and offset:
            raise _RangeNotSatisfiable() from None
        if err.code in _PERMANENT:
            raise _Permanent(f"{url} answered HTTP {err.code} {err.reason}",
                             _PERMANENT[err.code]) from None
        raise _Transient(f"{url} answered HTTP {err.code} {err.reason}") from None
    except (urllib.error.URLError, OSError) as err:
        raise _Transient(f"{url}: {err}") from None
    with response:
        content_type = response.headers.get("Content-Type", "")
        if gated and content_type.startswith("text/html") and not name.endswith((".html", ".htm")):
            # Gated hosts often answer 200 with a login/request-access page instead of 403.
            raise _Permanent(f"{url} answered an HTML page (a login or access-request page?) "
                             "instead of the file", "gated")
        if offset and response.status == 206:
            content_range = response.headers.get("Content-Range", "")
            if not content_range.startswith(f"bytes {offset}-"):
                raise _Transient(f"{url}: unexpected Content-Range {content_range!r}")
            mode = "ab"
        else:  # 200: the server ignored Range, start over
            offset, mode = 0, "wb"
        length = response.headers.get("Content-Length")
        expected = int(length) if length is not None else None
        received = 0
        try:
            with (
                open(part, mode) as f,
                tqdm(total=None if expected is None else offset + expected, initial=offset,
                     unit="B", unit_scale=True, disable=not progress, desc=name) as bar,
            ):
                while chunk := response.read(_CHUNK):
                    f.write(chunk)
                    received += len(chunk)
                    bar.update(len(chunk))
        except (OSError, http.client.HTTPException) as err:  # e.g. IncompleteRead, reset
            raise _Transient(f"{url}: connection lost after {received} bytes ({err!r})") from None
    if expected is not None and received != expected:
        raise _Transient(f"{url}: got {received} of {expected} bytes")


def fetch(
    source: Source,
    dest: str | os.PathLike,
    *,
    retries: int = 3,
    backoff: float = 2.0,
    timeout: float = 60.0,
    progress: bool = True,
    manual_paths: Sequence[str | os.PathLike] = (),
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
        manual_paths: other places where a person may have put the file by hand; a verified
            copy found there is copied atomically to ``dest`` (no network).

    Raises:
        ChecksumMismatch: ``dest`` or a manual path holds a wrong file, or the download is corrupt.
        ManualDownloadRequired: every URL answered 401/403/404/410.
        DownloadError: transient failures persisted after all retries.
    """
    dest = Path(dest)
    if retries < 0 or backoff < 0 or timeout <= 0:
        raise ValueError("fetch: need retries >= 0, backoff >= 0 and timeout > 0")
    if dest.exists():
        _verify_existing(source, dest, progress=progress, placed_by="already present")
        return dest
    for manual in map(Path, manual_paths):
        if manual.exists():
            _verify_existing(source, manual, progress=progress, placed_by="placed by hand")
            dest.parent.mkdir(parents=True, exist_ok=True)
            tmp = dest.with_name(dest.name + ".copy-tmp")
            try:
                shutil.copyfile(manual, tmp)
                os.replace(tmp, dest)
            finally:
                tmp.unlink(missing_ok=True)
            return dest

    dest.parent.mkdir(parents=True, exist_ok=True)
    part = dest.with_name(dest.name + ".part")
    if part.exists() and source.size is not None and part.stat().st_size > source.size:
        part.unlink()  # longer than the real file: cannot be a prefix of it
    permanent: dict[str, _Permanent] = {}
    transient: list[str] = []
    for round_ in range(retries + 1):
        live = [u for u in source.urls if u not in permanent]
        if not live:
            break
        if round_ and backoff:
            time.sleep(backoff * 2 ** (round_ - 1))
        for url in live:
            try:
                _download_once(url, part, timeout=timeout, progress=progress, name=source.name,
                               gated=source.gated)
            except _RangeNotSatisfiable:
                # A complete .part (e.g. interrupted before the rename) is used; anything else
                # is not a prefix of the file: start over on the next attempt.
                if file_checksum(part, source.algorithm, progress=progress) == source.hexdigest:
                    os.replace(part, dest)
                    return dest
                part.unlink(missing_ok=True)
                transient.append(f"{url}: HTTP 416 for a stale {part.name}; restarting from 0")
                continue
            except _Permanent as err:
                permanent[url] = err
                continue
            except _Transient as err:
                transient.append(str(err))
                continue
            actual = file_checksum(part, source.algorithm, progress=progress)
            if actual != source.hexdigest:
                part.unlink(missing_ok=True)
                raise ChecksumMismatch(
                    f"Downloaded {source.name!r} from {url} but its {source.algorithm} is "
                    f"{actual}, expected {source.hexdigest}; the partial file was deleted. "
                    "The source may have changed or be corrupt: try again later, check the "
                    f"checksum at {source.page or url}, or place a verified copy at "
                    f"{dest.resolve()}."
                )
            os.replace(part, dest)
            return dest

    if permanent and len(permanent) == len(source.urls):
        part.unlink(missing_ok=True)
        reasons = []
        for err in permanent.values():
            why = "access is restricted" if err.kind == "gated" else "the file is not there any more"
            reasons.append(f"{source.name}: {err} ({why})")
        raise ManualDownloadRequired([(source, dest)], reasons)
    # Keep the .part: a later call resumes it (it is never mistaken for dest).
    details = "\n  ".join(transient[-5:] + [str(e) for e in permanent.values()])
    if source.gated and source.instructions:
        details += f"\nNote: this source is gated. {source.instructions} ({source.page or ''})."
    raise DownloadError(
        f"Could not download {source.name!r} after {retries + 1} attempts per URL:\n  {details}\n"
        f"Check the network and re-run (the download resumes from {part.resolve()}), or place the "
        f"file by hand at {dest.resolve()} ({source.algorithm} {source.hexdigest})."
    )


def fetch_all(
    sources: Sequence[Source],
    directory: str | os.PathLike,
    **kwargs,
) -> list[Path]:
    """Fetch every source to ``directory / source.name``; return the paths in the same order.

    Files already present are verified first (no network). If any source needs manual placement,
    the other downloads still run, and then one :class:`ManualDownloadRequired` lists every file
    still missing, with its checksum and absolute target path. ``kwargs`` go to :func:`fetch`.
    """
    directory = Path(directory)
    paths = [directory / s.name for s in sources]
    missing: list[tuple[Source, Path]] = []
    reasons: list[str] = []
    for src, path in zip(sources, paths, strict=True):
        try:
            fetch(src, path, **kwargs)
        except ManualDownloadRequired as err:
            missing += err.missing
            reasons += err.reasons
    if missing:
        raise ManualDownloadRequired(missing, reasons)
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
