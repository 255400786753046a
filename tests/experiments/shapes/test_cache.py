"""Projected splits: seeded independent copies, skipped meshes recorded, verified on read."""

from __future__ import annotations

import h5py
import numpy as np
import pytest
import trimesh

from deepsphere.experiments.shapes import cache, projection
from deepsphere.experiments.shapes.meshes import MeshReadError
from deepsphere.io.validation import CorruptFileError

SAMPLING = {"sampling": "healpix", "nside": 4, "nest": True}


def _write_off(path, mesh):
    lines = ["OFF", f"{len(mesh.vertices)} {len(mesh.faces)} 0"]
    lines += [" ".join(f"{c:.9g}" for c in v) for v in mesh.vertices]
    lines += ["3 " + " ".join(map(str, f)) for f in mesh.faces]
    path.write_text("\n".join(lines) + "\n")
    return path


@pytest.fixture
def meshes(tmp_path):
    box = trimesh.creation.box(extents=[1.0, 0.5, 0.3])
    cyl = trimesh.creation.cylinder(radius=0.4, height=1.0, sections=24)
    return [("box", _write_off(tmp_path / "box.off", box), 0),
            ("cyl", _write_off(tmp_path / "cyl.off", cyl), 1)]


def _project(meshes, out, **kw):
    args = dict(sampling=SAMPLING, rotation="so3", max_translation=0.1, copies=3,
                no_hit_distance=0.0, seed=7, progress=False)
    return cache.project_split(meshes, out, **{**args, **kw})


def test_copies_are_independent_seeded_draws_of_the_documented_generator(tmp_path, meshes):
    summary = _project(meshes, tmp_path / "train.h5")
    assert summary == {"n_meshes": 2, "n_rows": 6, "skipped": []}
    data = cache.load_projections(tmp_path / "train.h5")
    assert data.x.shape == (6, 192, 6) and data.ids == ["box", "cyl"]
    assert data.y.tolist() == [0, 0, 0, 1, 1, 1] and data.copy_index.tolist() == [0, 1, 2] * 2
    # row 4 is copy 1 of mesh 1: the translation, then the rotation, drawn from
    # default_rng(derive_seed(7, 11, 1, 1)) (the documented scheme; pins the seeding)
    from deepsphere.training.seeds import derive_seed

    rng = np.random.default_rng(derive_seed(7, 11, 1, 1))
    t = projection.random_translation(0.1, rng)
    r = projection.random_rotation("so3", rng)
    cyl = trimesh.load(meshes[1][1], process=False)
    v, f = cyl.vertices, cyl.faces
    grid = projection.sphere_grid(SAMPLING)
    expected = projection.project_mesh(v, f, grid, rotation=r, translation=t, no_hit_distance=0.0)
    np.testing.assert_allclose(data.x[4], expected, atol=1e-6)
    assert not np.allclose(data.x[3], data.x[4])  # another draw
    again = _project(meshes, tmp_path / "again.h5")
    assert again == summary
    np.testing.assert_array_equal(cache.load_projections(tmp_path / "again.h5").x, data.x)


def test_an_unreadable_mesh_raises_or_is_skipped_and_recorded(tmp_path, meshes):
    bad = tmp_path / "broken.off"
    bad.write_text("OFF\n3 1 0\n0 0 0\n1 0 0\n")  # truncated: a vertex and the face missing
    with pytest.raises(MeshReadError, match="broken.off"):
        _project([*meshes, ("broken", bad, 1)], tmp_path / "t.h5")
    assert not (tmp_path / "t.h5").exists()
    summary = _project([*meshes, ("broken", bad, 1)], tmp_path / "t.h5", skip_unreadable=True)
    assert summary["n_meshes"] == 2 and summary["skipped"][0][0] == str(bad)
    data = cache.load_projections(tmp_path / "t.h5")
    assert "broken.off" in data.attrs["skipped"] and data.ids == ["box", "cyl"]


def test_a_changed_or_truncated_file_is_refused_with_its_name(tmp_path, meshes):
    path = tmp_path / "train.h5"
    _project(meshes, path, copies=1)
    with h5py.File(path, "r+") as f:
        f["x"][0, 0, 0] += 1.0
    with pytest.raises(CorruptFileError, match=r"(?s)train\.h5 does not hold .*x\.sha256"):
        cache.load_projections(path)
    _project(meshes, path, copies=1)
    path.write_bytes(path.read_bytes()[: path.stat().st_size // 2])
    with pytest.raises(CorruptFileError, match=r"train\.h5: cannot read this HDF5 file"):
        cache.load_projections(path)


def test_channel_statistics_from_the_training_rows_only(tmp_path, meshes):
    _project(meshes, tmp_path / "train.h5", copies=2)
    train = cache.load_projections(tmp_path / "train.h5")
    stats = cache.channel_statistics(train)
    x = train.x.reshape(-1, 6).astype(np.float64)
    np.testing.assert_allclose(stats["mean"], x.mean(axis=0), rtol=1e-12)
    np.testing.assert_allclose(stats["std"], x.std(axis=0), rtol=1e-12)
    flat = cache.Projections(np.zeros((2, 3, 6), np.float32), np.zeros(2, int),
                             np.zeros(2, int), np.zeros(2, int), ["a"], {})
    with pytest.raises(ValueError, match=r"constant over the training split"):
        cache.channel_statistics(flat)
