"""Unpacking zip archives safely (no member outside the destination) and atomically.

A truncated or corrupt archive is refused with one message naming the archive and the fix
(:class:`ArchiveError`), never a bare ``BadZipFile``; nothing is moved into place unless every
archive was extracted completely.
"""

from __future__ import annotations

import contextlib
import os
import zipfile
import zlib
from collections.abc import Iterator, Sequence
from pathlib import Path

from tqdm import tqdm

from deepsphere.io.atomic import install_staged, refuse_existing, staging_directory

__all__ = ["ArchiveError", "unpack_archives", "zip_tree"]


class ArchiveError(ValueError):
    """A zip archive that cannot be read: truncated, corrupt, or with unsafe members."""


def _corrupt(zip_path: Path, err: BaseException) -> str:
    size = zip_path.stat().st_size if zip_path.exists() else 0
    return (
        f"{zip_path}: the archive is truncated or corrupt ({type(err).__name__}: {err}; "
        f"{size} bytes on disk). Delete it and download (or place) it again; if it was "
        "generated (stand-in data), delete it and rerun to regenerate it."
    )


@contextlib.contextmanager
def _open_zip(zip_path: Path) -> Iterator[zipfile.ZipFile]:
    try:
        zf = zipfile.ZipFile(zip_path)
    except (zipfile.BadZipFile, EOFError, OSError) as err:
        raise ArchiveError(_corrupt(zip_path, err)) from err
    with zf:
        yield zf


def _safe_members(zf: zipfile.ZipFile, zip_path: Path) -> list[zipfile.ZipInfo]:
    members = []
    for info in zf.infolist():
        name = info.filename
        if name.startswith("__MACOSX/") or Path(name).name == ".DS_Store":
            continue  # macOS archive junk
        parts = Path(name).parts
        is_link = (info.external_attr >> 16) & 0o170000 == 0o120000
        if name.startswith(("/", "\\")) or ".." in parts or ":" in name or is_link:
            raise ArchiveError(
                f"{zip_path}: refusing to unpack member {name!r} (absolute path, '..', drive "
                "letter or symbolic link would write outside the destination). Get a clean "
                "archive from the source."
            )
        members.append(info)
    return members


def unpack_archives(
    zip_paths: Sequence[str | os.PathLike], dest: str | os.PathLike, *, overwrite: bool = False
) -> list[Path]:
    """Unpack zip archives into ``dest`` safely and atomically; return the top-level entries.

    Each archive is extracted into a temporary directory inside ``dest``; only when every archive
    has been extracted are its top-level entries (e.g. ``training/``) moved into place with
    :func:`os.replace`. Members with absolute paths, ``..`` or symbolic links are rejected before
    anything is written. An existing top-level entry raises unless ``overwrite=True``.
    """
    dest = Path(dest)
    dest.mkdir(parents=True, exist_ok=True)
    zips = [Path(p) for p in zip_paths]
    plan = []
    for zp in zips:
        if not zp.is_file():
            raise FileNotFoundError(f"Archive {zp} does not exist: download or generate it first.")
        with _open_zip(zp) as zf:
            members = _safe_members(zf, zp)
        tops = sorted({Path(m.filename).parts[0] for m in members})
        plan.append((zp, members, tops))
    all_tops = [t for _, _, tops in plan for t in tops]
    if len(set(all_tops)) != len(all_tops):
        raise ArchiveError(f"Archives {[str(z) for z in zips]} share top-level entries {all_tops}.")
    refuse_existing(dest, all_tops, overwrite=overwrite)
    with staging_directory(dest) as tmp:
        for zp, members, _ in tqdm(plan, desc="unpack", unit="zip", disable=len(plan) < 2):
            with _open_zip(zp) as zf:
                try:
                    zf.extractall(tmp, members=members)
                except (zipfile.BadZipFile, EOFError, zlib.error, OSError) as err:
                    raise ArchiveError(_corrupt(zp, err)) from err
        return list(install_staged(tmp, dest, all_tops).values())


def zip_tree(directory: str | os.PathLike, zip_path: str | os.PathLike) -> Path:
    """Zip ``directory`` as ``<name>/<relative path>`` members, deterministically: files in
    sorted path order, fixed timestamps and permissions, so the same tree gives the same bytes
    (stand-in archives whose checksums are recorded). Returns ``zip_path``."""
    directory, zip_path = Path(directory), Path(zip_path)
    files = sorted((p for p in directory.rglob("*") if p.is_file()),
                   key=lambda p: p.relative_to(directory).parts)
    with zipfile.ZipFile(zip_path, "w", compression=zipfile.ZIP_DEFLATED) as zf:
        for f in files:
            name = "/".join((directory.name, *f.relative_to(directory).parts))
            info = zipfile.ZipInfo(name, date_time=(1980, 1, 1, 0, 0, 0))
            info.compress_type = zipfile.ZIP_DEFLATED
            info.external_attr = 0o644 << 16
            zf.writestr(info, f.read_bytes())
    return zip_path
