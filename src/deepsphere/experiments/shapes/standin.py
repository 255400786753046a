"""Seeded stand-in datasets for ModelNet40 and SHREC'17, in the real on-disk layouts.

Shapes. One parametric family per class (:data:`FAMILIES`), built from ``trimesh.creation``
primitives: tower (a tall square box) and lying_tower (a long box lying on its side: the same
kind of shape as the tower, told apart only by how it sits relative to "up", as aligned real
classes often are; first, so that every stand-in of 2 classes or more has that pair), box,
cylinder, cone, torus, capsule, ellipsoid, pyramid, hex_prism, tube (hollow
cylinder), table (a slab on a leg), snowman (two stacked spheres), ice_cream (a sphere on an
inverted cone), dumbbell (a bar with two balls) and cross (two crossing slabs); the unions are
plain concatenations of the two meshes (overlapping, as many real models). Every mesh gets
random proportions within its family's ranges, a random taper and a small vertex jitter, then a
random size (x0.5 to x2 in length, so that a classifier has to learn shape, not size) and
offset. ModelNet40 shapes are then rotated about z only (upright, like the real data); SHREC'17
shapes by a uniform random rotation (the "perturbed" set is randomly rotated).

ModelNet40 (:func:`write_modelnet40_standin`): ``<root>/<class>/{train,test}/<class>_<nnnn>.off``.
About one file in five has the malformed one-line header of some real files (``OFF490 518 0``),
and a few meshes carry a defect the projection has to survive: ``open`` (a band of faces
removed), ``degenerate`` (zero-area faces appended: a repeated index and a duplicated vertex) or
``lid`` (the top faces of a flat-topped shape removed, so a ray from above enters and hits the
inside). One training file cannot be read at all (its second half is cut off, as an
interrupted copy): the workflow skips it and counts it, or stops, as the config says.

SHREC'17 (:func:`write_shrec17_standin`): ``<root>/<split>_perturbed/<id>.obj`` with ``vt``/``vn``
lines and face entries of mixed styles (``f a/a/a b//b c/c d``), and ``<root>/<split>.csv``
with the real header ``id,synset,subSynset,modelId,split``; ids are 6-digit and unique across
the splits, synsets come from the 55-synset list, and the subsynset of each model is the
synset itself or one of two sibling ids (``synset + 1``, ``synset + 2``; their shapes differ in
height), cycling within each synset and split, so every case of graded relevance occurs. The
first training model of the first synset cannot be read (a face refers to a vertex the file
does not have).

Both record in ``<root>/standin.json`` the parameters, the special files and the size and
SHA-256 of every written file (checked by :func:`verify_standin`). Mesh ``i`` of class ``c`` in
split ``s`` is drawn from ``default_rng([seed, dataset, s, c, i])``; the same seed gives the
same bytes.
"""

from __future__ import annotations

import io
import json
import os
from collections.abc import Mapping, Sequence
from pathlib import Path

import numpy as np
import trimesh

from deepsphere.experiments.shapes.datasets import (
    MODELNET40_SPLITS,
    SHREC17_CSV_HEADER,
    SHREC17_SPLITS,
    shrec17_synsets,
)
from deepsphere.experiments.shapes.shape_families import FAMILIES, make_shape
from deepsphere.io.atomic import (
    atomic_write_json,
    atomic_write_text,
    install_staged,
    refuse_existing,
    staging_directory,
)
from deepsphere.io.validation import (
    file_entry,
    verify_recorded_files,
)

__all__ = [
    "write_modelnet40_standin",
    "write_shrec17_standin",
    "verify_standin",
]

_MODELNET_SPLITS = MODELNET40_SPLITS
_SHREC_SPLITS = SHREC17_SPLITS
_MALFORMED_FRACTION = 0.2
_DEFECT_FRACTION = 1 / 30  # per defect kind, at least one of each


# --------------------------------------------------------------------------------- writers
def _format_rows(fmt: str, rows: np.ndarray) -> str:
    buf = io.StringIO()
    np.savetxt(buf, rows, fmt=fmt)
    return buf.getvalue()


def _off_text(vertices: np.ndarray, faces: np.ndarray, *, malformed_header: bool) -> str:
    counts = f"{len(vertices)} {len(faces)} 0\n"
    header = "OFF" + counts if malformed_header else "OFF\n" + counts
    return header + _format_rows("%.6f", vertices) + _format_rows("3 %d %d %d", faces)


_OBJ_STYLES = ("{0}/{0}/{0}", "{0}//{0}", "{0}/{0}", "{0}")


def _obj_text(vertices: np.ndarray, faces: np.ndarray, name: str) -> str:
    mesh = trimesh.Trimesh(vertices, faces, process=False)
    normals = np.asarray(mesh.vertex_normals, dtype=np.float64)
    span = np.maximum(np.ptp(vertices[:, :2], axis=0), 1e-12)
    uv = (vertices[:, :2] - vertices[:, :2].min(axis=0)) / span
    lines = [f"# DeepSphere stand-in model {name} (SHREC'17 layout)\n", f"o {name}\n",
             _format_rows("v %.6f %.6f %.6f", vertices), _format_rows("vt %.6f %.6f", uv),
             _format_rows("vn %.6f %.6f %.6f", normals), "usemtl default\n", "s off\n"]
    one_based = faces + 1
    for k, face in enumerate(one_based):  # mixed entry styles: f a/a/a b//b c/c, ...
        entries = (_OBJ_STYLES[(k + j) % 4].format(int(v)) for j, v in enumerate(face))
        lines.append("f " + " ".join(entries) + "\n")
    return "".join(lines)


def _truncate(text: str) -> str:
    """The first half of a mesh file's lines: a file that cannot be read, as a cut download."""
    lines = text.splitlines(keepends=True)
    return "".join(lines[: len(lines) // 2])


def _prepare_root(root: Path, names: list[str], overwrite: bool) -> list[str]:
    """The existing top-level entries to remove (ours, and those of an earlier stand-in)."""
    previous = []
    meta = root / "standin.json"
    if meta.is_file():
        try:
            previous = list(json.loads(meta.read_text()).get("top_level", []))
        except (OSError, ValueError, AttributeError):
            previous = []
    clashes = refuse_existing(root, sorted({*names, *previous, "standin.json"}),
                              overwrite=overwrite)
    return [c.name for c in clashes]


def _spread(n: int, fraction: float) -> int:
    return min(n, max(1, round(n * fraction))) if n else 0


def _class_names(classes: int | Sequence[str]) -> list[str]:
    if isinstance(classes, int | np.integer):
        if not 1 <= classes <= len(FAMILIES):
            raise ValueError(f"classes must be 1..{len(FAMILIES)} (one shape family each), got {classes}")
        return list(FAMILIES)[: int(classes)]
    names = [str(c) for c in classes]
    if not 1 <= len(names) <= len(FAMILIES):
        raise ValueError(f"1..{len(FAMILIES)} classes (one shape family each), got {len(names)}")
    if len(set(names)) != len(names) or any(
        not n or n.startswith(".") or "/" in n or n in ("standin.json",) for n in names
    ):
        raise ValueError(f"class names must be unique, non-empty directory names: {names}")
    return names


def write_modelnet40_standin(
    root: str | os.PathLike, *, classes: int | Sequence[str], n_train: int, n_test: int,
    seed: int, overwrite: bool = False,
) -> dict[str, Path]:
    """Write a ModelNet40-layout stand-in into ``root``; returns ``{top-level name: path}``.

    ``classes``: a number (the first ``classes`` of :data:`FAMILIES`, named after them) or the
    class directory names (class ``k`` in the given order gets family ``k``). ``n_train`` and
    ``n_test`` meshes per class. Everything is written in a staging directory inside ``root``
    and moved into place at the end; existing outputs raise :class:`FileExistsError` unless
    ``overwrite`` (which also removes the class directories of an earlier stand-in).
    """
    names = _class_names(classes)
    counts = {"train": int(n_train), "test": int(n_test)}
    if min(counts.values()) < 1:
        raise ValueError(f"n_train and n_test must be >= 1, got {n_train}, {n_test}")
    root = Path(root)
    remove = _prepare_root(root, names, overwrite)
    families = dict(zip(names, FAMILIES, strict=False))
    jobs = [(c, s, i) for c in range(len(names)) for s in range(2)
            for i in range(counts[_MODELNET_SPLITS[s]])]
    relpath = {
        job: f"{names[job[0]]}/{_MODELNET_SPLITS[job[1]]}/{names[job[0]]}_{job[2] + 1:04d}.off"
        for job in jobs
    }
    # which files get the malformed header and which a defect: seeded, about 1 in 5 and 1 in 30
    pick = np.random.default_rng([seed, 0, 99])
    order = pick.permutation(len(jobs))
    malformed = {jobs[k] for k in order[: _spread(len(jobs), _MALFORMED_FRACTION)]}
    n_defect = _spread(len(jobs), _DEFECT_FRACTION)
    order = [jobs[k] for k in pick.permutation(len(jobs))]
    defects: dict[tuple, str] = {}
    for kind in ("open", "degenerate", "lid"):
        eligible = [j for j in order if j not in defects
                    and (kind != "lid" or FAMILIES[families[names[j[0]]]].flat_top)]
        defects.update({j: kind for j in eligible[:n_defect]})
    # one training file that cannot be read (truncated: its last faces are cut off), if a
    # training file is left without a defect
    unreadable = next((j for j in order if j not in defects and j[1] == 0), None)

    with staging_directory(root) as tmp:
        for job in jobs:
            c, s, i = job
            rng = np.random.default_rng([seed, 0, s, c, i])
            vertices, faces = make_shape(families[names[c]], rng, rotation="z",
                                         defect=defects.get(job))
            target = tmp / relpath[job]
            target.parent.mkdir(parents=True, exist_ok=True)
            text = _off_text(vertices, faces, malformed_header=job in malformed)
            target.write_bytes((_truncate(text) if job == unreadable else text).encode("ascii"))
        params = dict(
            dataset="modelnet40", generator=__name__, seed=seed, n_train=counts["train"],
            n_test=counts["test"], classes=families, splits=list(_MODELNET_SPLITS),
            rotation="z", malformed_header=sorted(relpath[j] for j in malformed),
            defects={relpath[j]: kind for j, kind in sorted(defects.items())},
            unreadable=[] if unreadable is None else [relpath[unreadable]],
            files={relpath[j]: file_entry(tmp / relpath[j]) for j in jobs},
            top_level=names,
        )
        atomic_write_json(tmp / "standin.json", params)
        return install_staged(tmp, root, [*names, "standin.json"], remove=remove)


def _sibling_ids(synsets: Sequence[str]) -> dict[str, tuple[str, str]]:
    known = set(shrec17_synsets())
    siblings = {s: (f"{int(s) + 1:08d}", f"{int(s) + 2:08d}") for s in synsets}
    clash = known & {x for pair in siblings.values() for x in pair}
    if clash:  # pragma: no cover - the 55 ids are far apart
        raise AssertionError(f"sibling ids {clash} collide with real synsets")
    return siblings


def write_shrec17_standin(
    root: str | os.PathLike, *, synsets: int | Sequence[str], n_per_split: Mapping[str, int],
    seed: int, overwrite: bool = False,
) -> dict[str, Path]:
    """Write a SHREC'17-layout stand-in into ``root``; returns ``{top-level name: path}``.

    ``synsets``: a number (the first ``synsets`` of the 55, in class order) or synset ids from
    the 55 (synset ``k`` in the given order gets family ``k`` of :data:`FAMILIES`).
    ``n_per_split``: models per synset in each of ``train``, ``val``, ``test``. Writes
    ``<split>_perturbed/<id>.obj`` and ``<split>.csv`` (rows in id order) for each split and
    ``standin.json``; staging, :class:`FileExistsError` and ``overwrite`` as
    :func:`write_modelnet40_standin`.
    """
    all_synsets = shrec17_synsets()
    if isinstance(synsets, int | np.integer):
        if not 1 <= synsets <= len(FAMILIES):
            raise ValueError(f"synsets must be 1..{len(FAMILIES)} (one shape family each)")
        chosen = all_synsets[: int(synsets)]
    else:
        chosen = [str(s) for s in synsets]
        unknown = [s for s in chosen if s not in all_synsets]
        if unknown or len(set(chosen)) != len(chosen) or not 1 <= len(chosen) <= len(FAMILIES):
            raise ValueError(
                f"synsets must be 1..{len(FAMILIES)} distinct ids of the 55 SHREC'17 synsets; "
                f"unknown: {unknown}"
            )
    if set(n_per_split) != set(_SHREC_SPLITS) or min(n_per_split.values()) < 1:
        raise ValueError(f"n_per_split needs counts >= 1 for exactly {_SHREC_SPLITS}")
    counts = {s: int(n_per_split[s]) for s in _SHREC_SPLITS}
    root = Path(root)
    names = [*(f"{s}_perturbed" for s in _SHREC_SPLITS), *(f"{s}.csv" for s in _SHREC_SPLITS)]
    remove = _prepare_root(root, names, overwrite)
    families = dict(zip(chosen, FAMILIES, strict=False))
    siblings = _sibling_ids(chosen)
    jobs = [(s, c, i) for s in range(3) for c in range(len(chosen))
            for i in range(counts[_SHREC_SPLITS[s]])]
    pick = np.random.default_rng([seed, 1, 99])
    ids = {job: f"{k + 1:06d}" for job, k in zip(jobs, pick.permutation(len(jobs)), strict=True)}
    offsets = pick.integers(0, 3, size=(3, len(chosen)))
    unreadable = (0, 0, 0)  # the first training model of the first synset cannot be read

    with staging_directory(root) as tmp:
        rows = {s: [] for s in _SHREC_SPLITS}
        files = {}
        for job in jobs:
            s, c, i = job
            split, synset = _SHREC_SPLITS[s], chosen[c]
            variant = int((i + offsets[s, c]) % 3)
            subsynset = synset if variant == 0 else siblings[synset][variant - 1]
            rng = np.random.default_rng([seed, 1, s, c, i])
            vertices, faces = make_shape(families[synset], rng, rotation="so3", variant=variant)
            model_id = rng.bytes(16).hex()
            rel = f"{split}_perturbed/{ids[job]}.obj"
            (tmp / rel).parent.mkdir(parents=True, exist_ok=True)
            text = _obj_text(vertices, faces, ids[job])
            if job == unreadable:  # a face of a vertex the file does not have
                text += f"f 1 2 {len(vertices) + 7}\n"
            (tmp / rel).write_bytes(text.encode("ascii"))
            files[rel] = file_entry(tmp / rel)
            rows[split].append((ids[job], synset, subsynset, model_id, split))
        for split in _SHREC_SPLITS:
            text = ",".join(SHREC17_CSV_HEADER) + "\n" + "".join(
                ",".join(r) + "\n" for r in sorted(rows[split])
            )
            atomic_write_text(tmp / f"{split}.csv", text)
            files[f"{split}.csv"] = file_entry(tmp / f"{split}.csv")
        params = dict(
            dataset="shrec17", generator=__name__, seed=seed, n_per_split=counts,
            synsets=families, subsynsets={s: [s, *siblings[s]] for s in chosen},
            rotation="so3", files=dict(sorted(files.items())), top_level=names,
            unreadable=[f"{_SHREC_SPLITS[0]}_perturbed/{ids[unreadable]}.obj"],
        )
        atomic_write_json(tmp / "standin.json", params)
        return install_staged(tmp, root, [*names, "standin.json"], remove=remove)


def verify_standin(root: str | os.PathLike) -> dict:
    """Check every file recorded in ``<root>/standin.json`` (size and SHA-256); return the
    parameters. Raises :class:`~deepsphere.io.validation.CorruptFileError` listing every missing
    or differing file (fix: delete the stand-in and rewrite it, byte for byte)."""
    root = Path(root)
    fix = f"delete the stand-in in {root} and write it again (same seed: the same bytes)"
    return verify_recorded_files(root / "standin.json", "files", fix=fix)
