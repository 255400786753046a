"""The raw files of the shapes datasets as downloaded, and their unpacked mesh trees.

Raw (download, or the stand-in written in the same form):

- ModelNet40: ``ModelNet40.zip`` holding ``ModelNet40/<class>/{train,test}/*.off``;
- SHREC'17: ``{train,val,test}_perturbed.zip`` holding ``<split>_perturbed/<id>.obj`` and the
  CSVs ``{train,val,test}.csv`` beside them (not zipped).

:func:`write_standin_raw` writes the stand-in trees (:mod:`deepsphere.experiments.shapes.
standin`) and packs them as those archives, recording each archive's size and SHA-256 in
``standin.json``; :func:`unpack_raw` checks the raw files (the stand-in against that record,
a download against the record of its first fetch) and unpacks them into the mesh tree the
readers take: ``<meshes>/ModelNet40`` (:func:`modelnet40_root`) or ``<meshes>`` with the
``<split>_perturbed`` folders and the CSVs.
"""

from __future__ import annotations

import json
import os
import shutil
from pathlib import Path

from deepsphere.experiments.shapes.datasets import (
    SHREC17_SPLITS,
    modelnet40_index,
    shrec17_index,
)
from deepsphere.experiments.shapes.sources import (
    SHREC17_FILES,
    verify_modelnet40,
    verify_shrec17,
)
from deepsphere.io.archives import unpack_archives, zip_tree
from deepsphere.io.atomic import (
    atomic_write_json,
    install_staged,
    refuse_existing,
    staging_directory,
)
from deepsphere.io.validation import file_entry, verify_recorded_files

__all__ = ["DATASETS", "modelnet40_root", "raw_names", "split_meshes", "unpack_raw",
           "write_standin_raw"]

DATASETS = ("modelnet40", "shrec17")
_SHREC_ZIPS = tuple(f"{s}_perturbed.zip" for s in SHREC17_SPLITS)
_SHREC_CSVS = tuple(f"{s}.csv" for s in SHREC17_SPLITS)


def _check(dataset: str) -> None:
    if dataset not in DATASETS:
        raise ValueError(f"shapes dataset {dataset!r} is not one of {DATASETS}")


def raw_names(dataset: str) -> tuple[str, ...]:
    """The raw files of ``dataset`` (the same names downloaded and as stand-in)."""
    _check(dataset)
    return ("ModelNet40.zip",) if dataset == "modelnet40" else SHREC17_FILES


def modelnet40_root(meshes: str | os.PathLike) -> Path:
    """The ModelNet40 class tree inside an unpacked ``meshes`` folder."""
    return Path(meshes) / "ModelNet40"


def write_standin_raw(dataset: str, dest: str | os.PathLike, *, seed: int,
                      overwrite: bool = False, **params) -> dict[str, Path]:
    """Write the stand-in of ``dataset`` into ``dest`` as its raw files plus ``standin.json``.

    ``params``: those of :func:`~deepsphere.experiments.shapes.standin.write_modelnet40_standin`
    (``classes``, ``n_train``, ``n_test``) or :func:`~deepsphere.experiments.shapes.standin.
    write_shrec17_standin` (``synsets``, ``n_per_split``). The same seed gives the same bytes.
    """
    # trimesh (the stand-in's meshes) only here: the Snakefile imports this module to parse
    from deepsphere.experiments.shapes.standin import (
        write_modelnet40_standin,
        write_shrec17_standin,
    )

    _check(dataset)
    dest = Path(dest)
    names = [*raw_names(dataset), "standin.json"]
    refuse_existing(dest, names, overwrite=overwrite)
    with staging_directory(dest) as tmp:
        if dataset == "modelnet40":
            tree = tmp / "ModelNet40"
            write_modelnet40_standin(tree, seed=seed, **params)
            zip_tree(tree, tmp / "ModelNet40.zip")
        else:
            tree = tmp / "tree"
            write_shrec17_standin(tree, seed=seed, **params)
            for split in SHREC17_SPLITS:
                zip_tree(tree / f"{split}_perturbed", tmp / f"{split}_perturbed.zip")
            for name in _SHREC_CSVS:
                shutil.copyfile(tree / name, tmp / name)
        record = json.loads((tree / "standin.json").read_text(encoding="utf-8"))
        record.pop("files", None)  # the tree's own digests live inside the archives
        record["archives"] = {n: file_entry(tmp / n) for n in raw_names(dataset)}
        shutil.rmtree(tree)
        atomic_write_json(tmp / "standin.json", record)
        return install_staged(tmp, dest, names)


def _verify(dataset: str, raw_dir: Path, source: str) -> None:
    if source == "standin":
        fix = f"delete {raw_dir} and rerun (the stand-in is rewritten byte for byte)"
        verify_recorded_files(raw_dir / "standin.json", "archives", fix=fix)
    elif dataset == "modelnet40":
        verify_modelnet40(raw_dir)
    else:
        verify_shrec17(raw_dir)


def unpack_raw(dataset: str, raw_dir: str | os.PathLike, meshes: str | os.PathLike, *,
               source: str) -> list[Path]:
    """Check the raw files of ``dataset`` in ``raw_dir`` (``source``: ``standin`` or
    ``download``) and unpack them into ``meshes``; returns the top-level entries written.
    Nothing is moved into place unless every archive was unpacked."""
    _check(dataset)
    raw_dir, meshes = Path(raw_dir), Path(meshes)
    if source not in ("standin", "download"):
        raise ValueError(f"source must be 'standin' or 'download', got {source!r}")
    _verify(dataset, raw_dir, source)
    zips = [raw_dir / n for n in raw_names(dataset) if n.endswith(".zip")]
    out = unpack_archives(zips, meshes, overwrite=True)
    if dataset == "modelnet40" and not modelnet40_root(meshes).is_dir():
        raise ValueError(f"{zips[0]} holds {[p.name for p in out]}, not the ModelNet40/ folder "
                         "of the ModelNet page's archive: check the file")
    for name in _SHREC_CSVS if dataset == "shrec17" else ():
        shutil.copyfile(raw_dir / name, meshes / name)
        out.append(meshes / name)
    return out


def split_meshes(dataset: str, meshes: str | os.PathLike, split: str) -> list[tuple[str, Path, int]]:
    """``(id, file, class index)`` of every mesh of ``split`` in an unpacked tree: ModelNet40
    ids are the file stems (``airplane_0001``), SHREC'17 ids the CSV's ``id`` column."""
    _check(dataset)
    if dataset == "modelnet40":
        return [(e.path.stem, e.path, e.class_index)
                for e in modelnet40_index(modelnet40_root(meshes), [split])]
    return [(e.id, e.path, e.class_index) for e in shrec17_index(meshes, split)]
