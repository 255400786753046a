"""What a failed download tells the user: the errors of :mod:`deepsphere.io.download` and the one
message that lists every missing file with where to place it by hand, its size and checksum,
and whether retrying later may work."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

from deepsphere.io.source import Source

__all__ = ["ChecksumMismatch", "DownloadError", "FilesMissing", "ManualDownloadRequired",
           "Missing", "RetryableDownloadError"]

_WHY = {"gated": "access is restricted", "gone": "the file is not there any more",
        "unreachable": "no server answered on any attempt: the host is down or does not exist"}


class DownloadError(RuntimeError):
    """A file could not be obtained (base class of every error raised here)."""


class ChecksumMismatch(DownloadError):
    """A file (downloaded or placed by hand) does not have the recorded checksum (or size)."""


@dataclass(frozen=True)
class Missing:
    """A file still missing after :func:`fetch`.

    Attributes:
        source: the file.
        place_at: absolute path where a person may put it by hand (``manual_dir / name``).
        reasons: one line per URL: how it failed.
        transient: some URL failed only transiently (retrying later may work).
        in_manual_dir: ``place_at`` is in a hand-placement folder (never written or deleted here).
    """

    source: Source
    place_at: Path
    reasons: tuple[str, ...]
    transient: bool
    in_manual_dir: bool


class FilesMissing(DownloadError):
    """Some files could not be obtained; ``missing`` lists each (:class:`Missing`)."""

    def __init__(self, missing: Sequence[Missing]):
        self.missing = list(missing)
        super().__init__(_missing_message(self.missing))


class ManualDownloadRequired(FilesMissing):
    """Every URL of every missing file failed permanently (gated or gone): place them by hand."""


class RetryableDownloadError(FilesMissing):
    """Some URL failed only transiently (timeouts, 5xx): retrying later may work."""


def _missing_error(missing: Sequence[Missing]) -> FilesMissing:
    cls = RetryableDownloadError if any(m.transient for m in missing) else ManualDownloadRequired
    return cls(missing)


def _expected(source: Source) -> str:
    size = f"{source.size} bytes" if source.size is not None else "size not recorded"
    checksum = (f"{source.algorithm} {source.hexdigest}" if source.checksum is not None
                else "no checksum recorded")
    return f"{checksum}, {size}"


def _missing_message(missing: Sequence[Missing]) -> str:
    retry = any(m.transient for m in missing)
    if retry:
        lines = [f"{len(missing)} file(s) could not be downloaded; some failures look temporary "
                 "(connection errors, timeouts, HTTP 5xx/408/429), so retrying later may work:"]
    else:
        lines = [f"{len(missing)} file(s) cannot be downloaded automatically: every URL refused "
                 "them (access restricted, the file is gone, or the host is unreachable), so they "
                 "must be placed by hand:"]
    for m in missing:
        verdict = "temporary failure: retry" if m.transient else "every URL refused it"
        lines.append(f"  - {m.source.name} ({verdict}):")
        lines += [f"      {r}" for r in m.reasons]
    steps = []
    if retry:
        steps.append("Re-run the same command later: temporary failures often pass, and an "
                     "interrupted download resumes where it stopped.")
    for instructions in dict.fromkeys(
        f"{m.source.instructions}" + (f" ({m.source.page})" if m.source.page else "")
        for m in missing if m.source.instructions
    ):
        steps.append(instructions)
    where = (" (a folder that no workflow step writes or deletes)"
             if all(m.in_manual_dir for m in missing) else "")
    files = "".join(f"\n       {m.place_at}\n         {_expected(m.source)}\n"
                    f"         from {m.source.urls[0]}" for m in missing)
    if not retry:
        hand = "Download these files by hand"
    elif all(m.transient for m in missing):
        hand = "Or, instead of retrying, download these files by hand"
    else:
        hand = ("Download by hand the files that every URL refused (and, instead of retrying, "
                "the others)")
    steps.append(f"{hand} and put them, unrenamed, exactly here{where}:{files}")
    if all(m.source.checksum is not None for m in missing):
        steps.append("Re-run the same command: files placed there are verified against these "
                     "checksums and used without network access.")
    else:
        steps.append("Re-run the same command: files placed there are used without network "
                     "access, after a check against the checksum and size above where one is "
                     "recorded.")
    lines.append("What to do:")
    lines += [f"  {i}. {step}" for i, step in enumerate(steps, 1)]
    return "\n".join(lines)
