"""Raw files of the shapes datasets: stand-in archives in the download's layout, their record,
unpacking into the readers' trees, and the projection settings' names and seeds.

References: the ModelNet page's archive layout (``ModelNet40/<class>/<split>/*.off``) and the
SHREC'17 one (``<split>_perturbed/<id>.obj`` zips beside the CSVs), written out by hand here.
"""

from __future__ import annotations

import zipfile

import pytest

from deepsphere.experiments.shapes.raw_files import (
    raw_names,
    split_meshes,
    unpack_raw,
    write_standin_raw,
)
from deepsphere.experiments.shapes.settings import Projection, grid_name, grid_sampling
from deepsphere.io.validation import CorruptFileError


@pytest.fixture(scope="module")
def modelnet_raw(tmp_path_factory):
    dest = tmp_path_factory.mktemp("mn40")
    write_standin_raw("modelnet40", dest, seed=5, classes=3, n_train=2, n_test=1)
    return dest


def test_modelnet40_standin_is_one_zip_in_the_pages_layout(modelnet_raw, tmp_path):
    assert sorted(p.name for p in modelnet_raw.iterdir()) == ["ModelNet40.zip", "standin.json"]
    with zipfile.ZipFile(modelnet_raw / "ModelNet40.zip") as zf:
        names = zf.namelist()
    assert all(n.startswith("ModelNet40/") for n in names)
    offs = [n for n in names if n.endswith(".off")]
    assert len(offs) == 3 * (2 + 1)
    assert all(len(n.split("/")) == 4 and n.split("/")[2] in ("train", "test") for n in offs)
    unpack_raw("modelnet40", modelnet_raw, tmp_path / "meshes", source="standin")
    train = split_meshes("modelnet40", tmp_path / "meshes", "train")
    test = split_meshes("modelnet40", tmp_path / "meshes", "test")
    assert len(train) == 6 and len(test) == 3
    assert sorted({label for _, _, label in train}) == [0, 1, 2]
    assert all(path.is_file() and path.suffix == ".off" for _, path, _ in train + test)


def test_standin_archives_are_deterministic(modelnet_raw, tmp_path):
    write_standin_raw("modelnet40", tmp_path, seed=5, classes=3, n_train=2, n_test=1)
    for name in ("ModelNet40.zip", "standin.json"):
        assert (tmp_path / name).read_bytes() == (modelnet_raw / name).read_bytes()


def test_a_changed_archive_is_refused_before_unpacking(modelnet_raw, tmp_path):
    raw = tmp_path / "raw"
    raw.mkdir()
    for name in ("ModelNet40.zip", "standin.json"):
        (raw / name).write_bytes((modelnet_raw / name).read_bytes())
    data = bytearray((raw / "ModelNet40.zip").read_bytes())
    data[100] ^= 0xFF
    (raw / "ModelNet40.zip").write_bytes(bytes(data))
    with pytest.raises(CorruptFileError, match="ModelNet40.zip"):
        unpack_raw("modelnet40", raw, tmp_path / "meshes", source="standin")
    assert not (tmp_path / "meshes" / "ModelNet40").exists()


def test_shrec17_standin_is_three_zips_and_three_csvs(tmp_path):
    raw = tmp_path / "raw"
    write_standin_raw("shrec17", raw, seed=1, synsets=2, n_per_split={"train": 2, "val": 1,
                                                                       "test": 2})
    assert sorted(p.name for p in raw.iterdir()) == sorted([*raw_names("shrec17"),
                                                            "standin.json"])
    with zipfile.ZipFile(raw / "test_perturbed.zip") as zf:
        assert all(n.startswith("test_perturbed/") and n.endswith(".obj") for n in zf.namelist())
    unpack_raw("shrec17", raw, tmp_path / "meshes", source="standin")
    test = split_meshes("shrec17", tmp_path / "meshes", "test")
    assert len(test) == 4 and all(p.name == f"{i}.obj" for i, p, _ in test)


def test_unknown_dataset_and_source_are_refused(tmp_path):
    with pytest.raises(ValueError, match="not one of"):
        raw_names("shapenet")
    with pytest.raises(ValueError, match="'standin' or 'download'"):
        unpack_raw("shrec17", tmp_path, tmp_path / "m", source="zenodo")


def test_projection_names_and_seeds():
    assert grid_name("healpix", 32) == "hp32" and grid_name("equiangular", 64) == "eq64"
    assert grid_sampling("hp32") == {"sampling": "healpix", "nside": 32, "nest": True}
    assert grid_sampling("eq64") == {"sampling": "equiangular", "bandwidth": 64, "grid": "SOFT"}
    with pytest.raises(ValueError, match="hp<nside>"):
        grid_sampling("healpix32")
    p = Projection("shrec17", "hp32", "train", "none", 3)
    assert p.path("data/interim") == "data/interim/shrec17/projections/hp32/train_none_c3.h5"
    assert p.statistics_path("i") == "i/shrec17/projections/hp32/statistics_none_c3.json"
    # the grid and the number of copies do not change the draws; the split and rotation do
    assert p.seed(42) == Projection("shrec17", "eq64", "train", "none", 1).seed(42)
    assert p.seed(42) != Projection("shrec17", "hp32", "test", "none", 3).seed(42)
    assert p.seed(42) != Projection("shrec17", "hp32", "train", "so3", 3).seed(42)
    with pytest.raises(ValueError, match="rotation"):
        Projection("shrec17", "hp32", "train", "x", 1)
