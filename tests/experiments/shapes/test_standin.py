"""deepsphere.experiments.shapes.standin: the stand-ins round-trip through the readers."""

from __future__ import annotations

import collections
import json
import re
from pathlib import Path

import numpy as np
import pytest
import trimesh

from deepsphere.experiments.shapes.datasets import (
    modelnet40_classes,
    modelnet40_index,
    shrec17_index,
    shrec17_synsets,
)
from deepsphere.experiments.shapes.meshes import (
    MeshReadError,
    fix_off_header,
    read_meshes,
    read_obj,
)
from deepsphere.experiments.shapes.shape_families import FAMILIES, make_shape
from deepsphere.experiments.shapes.standin import (
    verify_standin,
    write_modelnet40_standin,
    write_shrec17_standin,
)
from deepsphere.io.validation import CorruptFileError

MN_CLASSES = 5  # box, cylinder, cone, torus, capsule
MN_TRAIN, MN_TEST = 5, 3
N_PER_SPLIT = {"train": 4, "val": 2, "test": 3}
SHREC_SYNSETS = 3


def _tree_bytes(root):
    return {p.relative_to(root).as_posix(): p.read_bytes() for p in sorted(root.rglob("*"))
            if p.is_file()}


@pytest.fixture(scope="module")
def modelnet(tmp_path_factory):
    root = tmp_path_factory.mktemp("mn")
    write_modelnet40_standin(root, classes=MN_CLASSES, n_train=MN_TRAIN, n_test=MN_TEST, seed=3)
    return root


@pytest.fixture(scope="module")
def shrec(tmp_path_factory):
    root = tmp_path_factory.mktemp("shrec")
    write_shrec17_standin(root, synsets=SHREC_SYNSETS, n_per_split=N_PER_SPLIT, seed=3)
    return root


def _open_edges(faces):
    edges = np.sort(np.concatenate([faces[:, [0, 1]], faces[:, [1, 2]], faces[:, [2, 0]]]), axis=1)
    _, counts = np.unique(edges, axis=0, return_counts=True)
    return int((counts == 1).sum())


def _areas(vertices, faces):
    tri = vertices[faces]
    return np.linalg.norm(np.cross(tri[:, 1] - tri[:, 0], tri[:, 2] - tri[:, 0]), axis=1) / 2


def _zero_area(vertices, faces):
    return int((_areas(vertices, faces) == 0).sum())


def _hit_from_inside(vertices, faces):
    """Whether some vertical ray from above first hits a face from its back (inside)."""
    mesh = trimesh.Trimesh(vertices, faces, process=False)
    lo, hi = vertices.min(axis=0), vertices.max(axis=0)
    xs, ys = np.meshgrid(np.linspace(lo[0], hi[0], 25), np.linspace(lo[1], hi[1], 25))
    origins = np.column_stack([xs.ravel(), ys.ravel(), np.full(xs.size, hi[2] + 1.0)])
    directions = np.tile([0.0, 0.0, -1.0], (len(origins), 1))
    tri = mesh.ray.intersects_first(origins, directions)
    hit = tri[tri >= 0]
    return bool((mesh.face_normals[hit] @ [0.0, 0.0, -1.0] > 1e-6).any())


# -------------------------------------------------------------------------------- ModelNet40
def test_modelnet_layout_counts_and_classes(modelnet):
    names = list(FAMILIES)[:MN_CLASSES]
    assert modelnet40_classes(modelnet) == sorted(names)
    assert sorted(p.name for p in modelnet.iterdir()) == sorted([*names, "standin.json"])
    index = modelnet40_index(modelnet)
    assert len(index) == MN_CLASSES * (MN_TRAIN + MN_TEST)
    counts = collections.Counter((e.class_index, e.split) for e in index)
    assert counts == {(c, s): n for c in range(MN_CLASSES)
                      for s, n in (("train", MN_TRAIN), ("test", MN_TEST))}
    for e in index:
        cls = sorted(names)[e.class_index]
        assert e.path.parent == modelnet / cls / e.split
        assert re.fullmatch(rf"{cls}_\d{{4}}\.off", e.path.name)
    params = json.loads((modelnet / "standin.json").read_text())
    assert params["classes"] == {n: n for n in names}
    assert (params["seed"], params["n_train"], params["n_test"]) == (3, MN_TRAIN, MN_TEST)
    assert verify_standin(modelnet)["dataset"] == "modelnet40"


def test_modelnet_every_file_but_one_reads_and_the_malformed_headers_are_repaired(modelnet):
    params = json.loads((modelnet / "standin.json").read_text())
    paths = [e.path for e in modelnet40_index(modelnet)]
    (bad,) = params["unreadable"]
    assert bad.split("/")[1] == "train" and bad not in params["defects"]
    with pytest.raises(MeshReadError, match=r"truncated"):
        read_meshes([modelnet / bad], skip_unreadable=False)
    meshes, skipped = read_meshes(paths, skip_unreadable=True)
    assert [Path(p).relative_to(modelnet).as_posix() for p, _ in skipped] == [bad]
    assert len(meshes) == len(paths) - 1 and len(paths) == len(params["files"])
    malformed = set(params["malformed_header"])
    assert len(malformed) == round(len(paths) / 5)  # about one in five
    for path, vertices, faces in meshes:
        rel = path.relative_to(modelnet).as_posix()
        text = path.read_text()
        first = text.split("\n", 1)[0]
        _, repaired = fix_off_header(text)
        assert repaired == (rel in malformed)
        expected = rf"OFF{len(vertices)} {len(faces)} 0" if rel in malformed else "OFF"
        assert first == expected
        assert len(faces) >= 8 and vertices.shape[1] == 3 and np.isfinite(vertices).all()


def test_modelnet_defects_are_present_and_real(modelnet):
    params = json.loads((modelnet / "standin.json").read_text())
    defects = params["defects"]
    assert sorted(set(defects.values())) == ["degenerate", "lid", "open"]
    for path, vertices, faces in read_meshes(
        [e.path for e in modelnet40_index(modelnet)], skip_unreadable=True
    )[0]:
        kind = defects.get(path.relative_to(modelnet).as_posix())
        proper = faces[_areas(vertices, faces) > 0]  # the zero-area faces are not a surface
        assert (_open_edges(proper) > 0) == (kind in ("open", "lid")), path
        assert (_zero_area(vertices, faces) >= 2) == (kind == "degenerate"), path
        flat_top = FAMILIES[params["classes"][path.parent.parent.name]].flat_top
        if kind == "lid":
            assert flat_top
            assert _hit_from_inside(vertices, faces)
        elif kind is None and flat_top:
            assert not _hit_from_inside(vertices, faces)


def test_modelnet_sizes_vary_within_a_class(modelnet):
    radii = collections.defaultdict(list)
    for path, vertices, _ in read_meshes(
        [e.path for e in modelnet40_index(modelnet)], skip_unreadable=True
    )[0]:
        radii[path.parent.parent.name].append(np.ptp(vertices, axis=0).max())
    for cls, values in radii.items():
        assert max(values) / min(values) > 1.5, cls


def test_modelnet_is_deterministic_for_a_seed_and_differs_for_another(tmp_path, modelnet):
    again = tmp_path / "again"
    other = tmp_path / "other"
    write_modelnet40_standin(again, classes=MN_CLASSES, n_train=MN_TRAIN, n_test=MN_TEST, seed=3)
    write_modelnet40_standin(other, classes=MN_CLASSES, n_train=MN_TRAIN, n_test=MN_TEST, seed=4)
    reference = _tree_bytes(modelnet)
    assert _tree_bytes(again) == reference
    different = _tree_bytes(other)
    assert different.keys() == reference.keys()
    off = [k for k in reference if k.endswith(".off")]
    assert sum(different[k] != reference[k] for k in off) == len(off)


def test_modelnet_named_classes_overwrite_and_verification(tmp_path):
    root = tmp_path / "mn"
    write_modelnet40_standin(root, classes=["zeta", "alpha"], n_train=1, n_test=1, seed=0)
    assert modelnet40_classes(root) == ["alpha", "zeta"]
    first, second = list(FAMILIES)[:2]  # class k in the given order gets family k
    assert json.loads((root / "standin.json").read_text())["classes"] == {"zeta": first,
                                                                           "alpha": second}
    with pytest.raises(FileExistsError, match="overwrite=True"):
        write_modelnet40_standin(root, classes=["zeta", "alpha"], n_train=1, n_test=1, seed=0)
    write_modelnet40_standin(root, classes=3, n_train=1, n_test=2, seed=0, overwrite=True)
    three = sorted(list(FAMILIES)[:3])
    assert modelnet40_classes(root) == three  # the old classes are gone
    assert len(modelnet40_index(root)) == 9
    victim = root / three[1] / "test" / f"{three[1]}_0002.off"
    victim.write_bytes(victim.read_bytes()[:-10])
    with pytest.raises(CorruptFileError, match=f"{three[1]}_0002.off"):
        verify_standin(root)
    with pytest.raises(ValueError, match=f"classes must be 1..{len(FAMILIES)}"):
        write_modelnet40_standin(tmp_path / "x", classes=len(FAMILIES) + 1, n_train=1,
                                 n_test=1, seed=0)


# ---------------------------------------------------------------------------------- SHREC'17
def test_shrec_layout_csv_and_index(shrec):
    synsets = shrec17_synsets()[:SHREC_SYNSETS]
    ids = []
    for split, n in N_PER_SPLIT.items():
        lines = (shrec / f"{split}.csv").read_text().splitlines()
        assert lines[0] == "id,synset,subSynset,modelId,split"
        rows = [line.split(",") for line in lines[1:]]
        assert len(rows) == SHREC_SYNSETS * n and all(len(r) == 5 for r in rows)
        assert [r[0] for r in rows] == sorted(r[0] for r in rows)
        assert {r[4] for r in rows} == {split}
        assert all(re.fullmatch(r"\d{6}", r[0]) and re.fullmatch(r"[0-9a-f]{32}", r[3]) for r in rows)
        files = sorted(p.stem for p in (shrec / f"{split}_perturbed").iterdir())
        assert files == [r[0] for r in rows]
        index = shrec17_index(shrec, split)
        assert collections.Counter(e.synset for e in index) == {s: n for s in synsets}
        assert all(e.class_index == shrec17_synsets().index(e.synset) for e in index)
        meshes, skipped = read_meshes([e.path for e in index], skip_unreadable=True)
        unreadable = json.loads((shrec / "standin.json").read_text())["unreadable"]
        expected = [shrec / u for u in unreadable if u.startswith(f"{split}_")]
        assert [Path(p) for p, _ in skipped] == expected
        assert all("vertex" in why or "index" in why for _, why in skipped)
        assert len(meshes) == len(index) - len(expected)
        ids += [r[0] for r in rows]
    assert len(ids) == len(set(ids))  # unique across the splits
    params = verify_standin(shrec)
    assert params["dataset"] == "shrec17" and params["rotation"] == "so3"


def test_shrec_subsynsets_cover_every_relevance_case(shrec):
    index = shrec17_index(shrec, "train")
    by_synset = collections.defaultdict(set)
    for e in index:
        by_synset[e.synset].add(e.subsynset)
    for synset, subs in by_synset.items():
        # the synset itself (a "parent" match) and two siblings (same synset, other subsynset)
        assert synset in subs and len(subs) == 3
        assert all(s not in shrec17_synsets() for s in subs - {synset})
    pairs = collections.Counter((e.synset, e.subsynset) for e in index)
    assert max(pairs.values()) >= 2  # two models share synset and subsynset (full relevance)


def test_shrec_obj_face_entries_have_all_styles(shrec):
    path = sorted((shrec / "train_perturbed").iterdir())[0]
    entries = [e for line in path.read_text().splitlines() if line.startswith("f ")
               for e in line.split()[1:]]
    styles = {re.sub(r"\d+", "a", e) for e in entries}
    assert styles == {"a/a/a", "a//a", "a/a", "a"}
    text = path.read_text()
    assert "\nvt " in text and "\nvn " in text
    vertices, faces = read_obj(path)
    assert len(faces) == sum(line.startswith("f ") for line in text.splitlines())


def test_shrec_is_deterministic_for_a_seed_and_differs_for_another(tmp_path, shrec):
    again, other = tmp_path / "again", tmp_path / "other"
    write_shrec17_standin(again, synsets=SHREC_SYNSETS, n_per_split=N_PER_SPLIT, seed=3)
    write_shrec17_standin(other, synsets=SHREC_SYNSETS, n_per_split=N_PER_SPLIT, seed=4)
    assert _tree_bytes(again) == _tree_bytes(shrec)
    assert (again / "train.csv").read_bytes() == (shrec / "train.csv").read_bytes()
    assert (other / "train.csv").read_bytes() != (shrec / "train.csv").read_bytes()


def test_shrec_rejects_bad_arguments(tmp_path):
    with pytest.raises(ValueError, match="55 SHREC'17 synsets"):
        write_shrec17_standin(tmp_path, synsets=["12345678"], n_per_split=N_PER_SPLIT, seed=0)
    with pytest.raises(ValueError, match="n_per_split"):
        write_shrec17_standin(tmp_path, synsets=1, n_per_split={"train": 1, "test": 1}, seed=0)


# ------------------------------------------------------------------------------- make_shape
def _axis(vertices):
    """The symmetry axis of a torus: the direction of least variance."""
    centred = vertices - vertices.mean(axis=0)
    return np.linalg.eigh(centred.T @ centred)[1][:, 0]


def test_rotations_z_keeps_the_axis_up_and_so3_spreads_it():
    z_axes = [abs(_axis(make_shape("torus", np.random.default_rng(i), rotation="z")[0])[2])
              for i in range(20)]
    so3_axes = [abs(_axis(make_shape("torus", np.random.default_rng(i), rotation="so3")[0])[2])
                for i in range(20)]
    assert min(z_axes) > 0.99
    assert min(so3_axes) < 0.5 and np.mean(so3_axes) < 0.8


def test_make_shape_every_family_is_closed_and_rejects_bad_defects():
    for name in FAMILIES:
        vertices, faces = make_shape(name, np.random.default_rng(0))
        assert _open_edges(faces) == 0 and _zero_area(vertices, faces) == 0, name
    with pytest.raises(ValueError, match="no flat top"):
        make_shape("torus", np.random.default_rng(0), defect="lid")
    with pytest.raises(ValueError, match="unknown shape family"):
        make_shape("teapot", np.random.default_rng(0))
