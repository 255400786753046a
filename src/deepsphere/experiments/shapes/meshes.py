"""Mesh readers (OFF, OBJ) (tf1-spec §2.4-2.5; the datasets' layouts are in ``datasets``).

Every reader returns ``(vertices, faces)``: float64 ``(n, 3)`` coordinates and int64 ``(m, 3)``
zero-based triangle indexes. Polygons with more than three vertices are fan-triangulated
(``(p0, p1, p2), (p0, p2, p3), ...``). Nothing else is cleaned here (degenerate, duplicate or
unreferenced elements are kept): that is the projection's job.

A file that cannot be read or repaired (unreadable, not the format, truncated, counts that do
not match, no faces, an index out of range, a non-finite coordinate) raises one
:class:`MeshReadError` naming the file and the problem. The one repair: some ModelNet40 files
have the ``OFF`` keyword and the counts on one line (``OFF490 518 0``); the originals' ``_fix()``
rewrote them with the regex ``OFF[\\n]?(-?\\d+) (-?\\d+) (-?\\d+)`` -> ``OFF\\n\\1 \\2 \\3``, and
:func:`read_off` reads them the same way (:func:`fix_off_header`).

The SHREC'17 OBJ files have face entries with texture and normal indexes (``f 1/2/3 4//6 7/8``);
the originals stripped them with a regex, :func:`read_obj` keeps the first (vertex) index of each
entry and resolves negative (relative) indexes.
"""

from __future__ import annotations

import logging
import os
import re
from collections.abc import Iterable, Sequence
from pathlib import Path

import numpy as np

__all__ = [
    "MeshReadError",
    "fix_off_header",
    "read_off",
    "read_obj",
    "read_mesh",
    "read_meshes",
]

logger = logging.getLogger(__name__)

class MeshReadError(ValueError):
    """A mesh file that cannot be read or repaired; ``path`` and ``problem`` say which and why."""

    def __init__(self, path: str | os.PathLike, problem: str):
        self.path = Path(path)
        self.problem = problem
        super().__init__(f"cannot read mesh {self.path}: {problem}")

    def __reduce__(self):  # picklable across processes despite the two-argument constructor
        return type(self), (self.path, self.problem)


def _read_text(path: Path) -> str:
    try:
        data = path.read_bytes()
    except OSError as err:
        raise MeshReadError(path, f"cannot open the file ({err.strerror or err})") from err
    return data.decode("utf-8", errors="replace")


def _content_lines(text: str) -> list[tuple[int, str]]:
    """``(1-based line number, text)`` of the non-empty lines, ``#`` comments removed."""
    out = []
    for number, line in enumerate(text.splitlines(), start=1):
        line = line.split("#", 1)[0].strip()
        if line:
            out.append((number, line))
    return out


def _fan(polygon: Sequence[int]) -> list[tuple[int, int, int]]:
    return [(polygon[0], polygon[i], polygon[i + 1]) for i in range(1, len(polygon) - 1)]


def _check(path: Path, vertices: np.ndarray, faces: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """The checks common to every format; returns ``(float64 (n, 3), int64 (m, 3))``."""
    vertices = np.asarray(vertices, dtype=np.float64).reshape(-1, 3)
    faces = np.asarray(faces, dtype=np.int64).reshape(-1, 3)
    if len(faces) == 0:
        raise MeshReadError(path, "no faces")
    bad = ~np.isfinite(vertices)
    if bad.any():
        first = int(np.flatnonzero(bad.any(axis=1))[0])
        raise MeshReadError(
            path, f"{int(bad.sum())} non-finite vertex coordinate(s), the first in vertex {first}"
        )
    low, high = int(faces.min()), int(faces.max())
    if low < 0 or high >= len(vertices):
        found = low if low < 0 else high
        raise MeshReadError(
            path, f"vertex index out of range: {found} (zero-based) with {len(vertices)} vertices"
        )
    return vertices, faces


# --------------------------------------------------------------------------------------- OFF
_HEADER_ON_ONE_LINE = re.compile(r"^OFF\s*(-?\d+)\s+(-?\d+)(?:\s+(-?\d+))?$")


def fix_off_header(text: str) -> tuple[str, bool]:
    """Move counts that share the ``OFF`` line (``OFF490 518 0``) to their own line.

    Returns ``(text, repaired)``; a text whose first content line is not such a header is
    returned unchanged with ``repaired=False``. Comments and blank lines before it are kept.
    """
    lines = text.splitlines(keepends=True)
    for i, line in enumerate(lines):
        content = line.split("#", 1)[0].strip()
        if not content:
            continue
        match = _HEADER_ON_ONE_LINE.match(content)
        if match is None:
            return text, False
        counts = " ".join(g for g in match.groups() if g is not None)
        lines[i] = f"OFF\n{counts}\n"
        return "".join(lines), True
    return text, False


def read_off(path: str | os.PathLike) -> tuple[np.ndarray, np.ndarray]:
    """Read an OFF file (one vertex or face per line); see the module docstring.

    Repairs the one-line header (:func:`fix_off_header`). Extra columns after a vertex's three
    coordinates or a face's indexes (colours) are ignored; a vertex or face line missing, or a
    content line left over after the counted faces, raises :class:`MeshReadError`.
    """
    path = Path(path)
    text, _ = fix_off_header(_read_text(path))
    lines = _content_lines(text)
    if not lines:
        raise MeshReadError(path, "empty file")
    if lines[0][1] != "OFF":
        raise MeshReadError(path, f"not an OFF file: the header is {lines[0][1][:40]!r}, not 'OFF'")
    if len(lines) < 2:
        raise MeshReadError(path, "truncated: no counts line after the OFF header")
    number, counts_line = lines[1]
    counts = counts_line.split()
    try:
        if len(counts) not in (2, 3):
            raise ValueError
        n_vertices, n_faces = int(counts[0]), int(counts[1])
    except ValueError:
        raise MeshReadError(
            path, f"line {number}: expected the counts 'vertices faces [edges]', got {counts_line!r}"
        ) from None
    if n_vertices < 0 or n_faces < 0:
        raise MeshReadError(path, f"line {number}: negative counts {counts_line!r}")
    body = lines[2:]
    if len(body) < n_vertices + n_faces:
        kind = "vertices" if len(body) < n_vertices else "faces"
        found = len(body) if kind == "vertices" else len(body) - n_vertices
        expected = n_vertices if kind == "vertices" else n_faces
        raise MeshReadError(
            path, f"truncated: the header announces {expected} {kind}, the file has {found}"
        )
    if len(body) > n_vertices + n_faces:
        extra_line = body[n_vertices + n_faces][0]
        raise MeshReadError(
            path,
            f"the counts do not match the file: {len(body) - n_vertices - n_faces} content "
            f"line(s) after the {n_vertices} vertices and {n_faces} faces announced "
            f"(from line {extra_line})",
        )
    vertices = _off_vertices(path, body[:n_vertices])
    faces = _off_faces(path, body[n_vertices:])
    return _check(path, vertices, faces)


def _off_vertices(path: Path, lines: list[tuple[int, str]]) -> np.ndarray:
    rows = []
    for number, line in lines:
        fields = line.split()
        if len(fields) < 3:
            raise MeshReadError(path, f"line {number}: a vertex needs 3 coordinates, got {line!r}")
        rows.append(fields[:3])
    try:
        return np.array(rows, dtype=np.float64).reshape(-1, 3)
    except ValueError:
        for number, line in lines:  # find the culprit for the message
            try:
                [float(x) for x in line.split()[:3]]
            except ValueError:
                raise MeshReadError(path, f"line {number}: not a number in {line!r}") from None
        raise  # pragma: no cover


def _off_faces(path: Path, lines: list[tuple[int, str]]) -> np.ndarray:
    rows = [line.split() for _, line in lines]
    if rows and all(len(r) == 4 and r[0] == "3" for r in rows):  # all triangles: vectorised
        try:
            return np.array(rows, dtype=np.int64)[:, 1:]
        except ValueError:
            pass  # fall through to the line-by-line loop for the message
    triangles: list[tuple[int, int, int]] = []
    for (number, line), fields in zip(lines, rows, strict=True):
        try:
            k = int(fields[0])
            polygon = [int(x) for x in fields[1 : k + 1]] if k >= 3 else []
        except ValueError:
            raise MeshReadError(path, f"line {number}: not an integer in {line!r}") from None
        if k < 3:
            raise MeshReadError(path, f"line {number}: a face needs 3 or more vertices, got {k}")
        if len(polygon) < k:
            raise MeshReadError(
                path, f"line {number}: the face announces {k} vertices, lists {len(polygon)}"
            )
        triangles.extend(_fan(polygon))
    return np.array(triangles, dtype=np.int64).reshape(-1, 3)


# --------------------------------------------------------------------------------------- OBJ
def read_obj(path: str | os.PathLike) -> tuple[np.ndarray, np.ndarray]:
    """Read the ``v`` and ``f`` lines of a Wavefront OBJ file; see the module docstring.

    A face entry ``v``, ``v/vt``, ``v//vn`` or ``v/vt/vn`` contributes its vertex index: 1-based,
    or negative relative to the vertices defined so far (``-1`` is the last). Extra coordinates
    (``w``, colours) are ignored, as are all other lines (``vt``, ``vn``, ``o``, ``g``, ``s``,
    ``usemtl``, ``mtllib``, ``l``, ...).
    """
    path = Path(path)
    vertices: list[list[float]] = []
    triangles: list[tuple[int, int, int]] = []
    for number, line in _content_lines(_read_text(path)):
        fields = line.split()
        key = fields[0]
        if key == "v":
            if len(fields) < 4:
                raise MeshReadError(path, f"line {number}: a vertex needs 3 coordinates, got {line!r}")
            try:
                vertices.append([float(x) for x in fields[1:4]])
            except ValueError:
                raise MeshReadError(path, f"line {number}: not a number in {line!r}") from None
        elif key == "f":
            if len(fields) < 4:
                raise MeshReadError(
                    path, f"line {number}: a face needs 3 or more vertices, got {line!r}"
                )
            polygon = []
            for entry in fields[1:]:
                try:
                    index = int(entry.split("/", 1)[0])
                except ValueError:
                    raise MeshReadError(
                        path, f"line {number}: bad face entry {entry!r} in {line!r}"
                    ) from None
                if index == 0:
                    raise MeshReadError(path, f"line {number}: vertex index 0 (OBJ is 1-based)")
                resolved = index - 1 if index > 0 else len(vertices) + index
                if resolved < 0:
                    raise MeshReadError(
                        path,
                        f"line {number}: vertex index out of range: relative index {index} with "
                        f"{len(vertices)} vertices defined before it",
                    )
                polygon.append(resolved)
            triangles.extend(_fan(polygon))
    return _check(path, np.array(vertices, dtype=np.float64), np.array(triangles, dtype=np.int64))


# ----------------------------------------------------------------------------------- generic
_READERS = {".off": read_off, ".obj": read_obj}


def read_mesh(path: str | os.PathLike) -> tuple[np.ndarray, np.ndarray]:
    """Read ``path`` with the reader of its suffix (``.off``, ``.obj``, any case)."""
    path = Path(path)
    reader = _READERS.get(path.suffix.lower())
    if reader is None:
        raise MeshReadError(
            path, f"unsupported mesh format {path.suffix!r} (supported: {sorted(_READERS)})"
        )
    return reader(path)


def read_meshes(
    paths: Iterable[str | os.PathLike], *, skip_unreadable: bool
) -> tuple[list[tuple[Path, np.ndarray, np.ndarray]], list[tuple[Path, str]]]:
    """Read every mesh; returns ``([(path, vertices, faces)], skipped)``.

    With ``skip_unreadable``, a mesh raising :class:`MeshReadError` is logged (one warning each)
    and listed in ``skipped`` as ``(path, problem)``; without, the first such error is raised.
    """
    meshes, skipped = [], []
    for path in paths:
        path = Path(path)
        try:
            vertices, faces = read_mesh(path)
        except MeshReadError as err:
            if not skip_unreadable:
                raise
            logger.warning("skipping an unreadable mesh: %s", err)
            skipped.append((path, err.problem))
            continue
        meshes.append((path, vertices, faces))
    return meshes, skipped
