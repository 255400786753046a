"""Downloads of files whose checksum nobody publishes: record what the first fetch obtained.

The size and SHA-256 of every file are written to ``<raw_dir>/download_record.json`` after its
first fetch; every later fetch (a file placed by hand, a re-download from a mirror) and every
verification is held to that record, so a changed or damaged file is refused with its name.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from pathlib import Path

from deepsphere.io.atomic import atomic_write_json
from deepsphere.io.download import ChecksumMismatch, Source, fetch_all, verify_files
from deepsphere.io.validation import file_entry

__all__ = ["RECORD_NAME", "fetch_recorded", "verify_recorded"]

#: The record of what was obtained (size and sha256 per file), written into ``raw_dir``.
RECORD_NAME = "download_record.json"


def _read_record(raw_dir: Path) -> dict:
    path = raw_dir / RECORD_NAME
    if not path.exists():
        return {}
    try:
        record = json.loads(path.read_text(encoding="utf-8"))
        if not all(isinstance(v["size"], int) and isinstance(v["sha256"], str)
                   for v in record.values()):
            raise ValueError("an entry lacks its size or sha256")
    except (ValueError, TypeError, KeyError, AttributeError) as err:
        raise ChecksumMismatch(
            f"{path.resolve()} is not a readable download record ({err}). "
            "Fix: delete it and rerun the download; it is written again."
        ) from None
    return record


def _recorded(sources: Sequence[Source], record: dict) -> list[Source]:
    """The sources, with the size and sha256 of the record where it has them."""
    return [Source(s.name, s.urls, f"sha256:{record[s.name]['sha256']}",
                   size=record[s.name]["size"], instructions=s.instructions, page=s.page)
            if s.name in record else s for s in sources]


def fetch_recorded(sources: Sequence[Source], raw_dir, manual_dir,
                   **fetch_kwargs) -> dict[str, Path]:
    """:func:`~deepsphere.io.download.fetch_all` for files without a published checksum: the
    size and SHA-256 of each file obtained are recorded in ``raw_dir / RECORD_NAME`` and later
    fetches and :func:`verify_recorded` hold the files to them; returns ``{name: path}``."""
    raw_dir, manual_dir = Path(raw_dir), Path(manual_dir)
    record = _read_record(raw_dir)
    try:
        paths = fetch_all(_recorded(sources, record), raw_dir, manual_dir=manual_dir,
                          **fetch_kwargs)
    except ChecksumMismatch as err:
        if not record:
            raise
        raise ChecksumMismatch(
            f"{err}\n\nSizes and sha256 are those recorded at the first fetch in "
            f"{(raw_dir / RECORD_NAME).resolve()}; if the new file is the one to keep, delete "
            "that record too."
        ) from None
    new = {s.name: file_entry(p)
           for s, p in zip(sources, paths, strict=True) if s.name not in record}
    if new:
        atomic_write_json(raw_dir / RECORD_NAME, {**record, **new})
    return {s.name: p for s, p in zip(sources, paths, strict=True)}


def verify_recorded(sources: Sequence[Source], raw_dir) -> list[Path]:
    """Check ``raw_dir``'s files against the sizes and SHA-256 recorded at their first fetch."""
    raw_dir = Path(raw_dir)
    record = _read_record(raw_dir)
    unrecorded = [s.name for s in sources if s.name not in record]
    if unrecorded:
        raise FileNotFoundError(
            f"{(raw_dir / RECORD_NAME).resolve()} records no size or sha256 of {unrecorded}: "
            "run the download step first."
        )
    return verify_files(_recorded(sources, record), raw_dir)


# --------------------------------------------------------------------------- entry points
