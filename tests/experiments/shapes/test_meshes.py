"""deepsphere.experiments.shapes.meshes: hand-written OFF/OBJ files with hand-worked answers."""

from __future__ import annotations

import logging
import pickle
import re

import numpy as np
import pytest

from deepsphere.experiments.shapes.datasets import (
    modelnet40_classes,
    modelnet40_index,
    shrec17_index,
    shrec17_synset_names,
    shrec17_synsets,
)
from deepsphere.experiments.shapes.meshes import (
    MeshReadError,
    fix_off_header,
    read_mesh,
    read_meshes,
    read_obj,
    read_off,
)
from deepsphere.reporting.paper import paper_numbers

# a tetrahedron-like body: 4 vertices, one triangle and one quad (fan -> 2 triangles)
OFF_BODY = """\
0 0 0
1 0 0
0 1 0   # a trailing comment
0 0 1.5

3 0 1 2
4 0 1 3 2
"""
VERTICES = np.array([[0, 0, 0], [1, 0, 0], [0, 1, 0], [0, 0, 1.5]], dtype=np.float64)
OFF_FACES = np.array([[0, 1, 2], [0, 1, 3], [0, 3, 2]], dtype=np.int64)


def write(tmp_path, name, text):
    path = tmp_path / name
    path.write_text(text)
    return path


def assert_mesh(mesh, vertices, faces):
    v, f = mesh
    assert v.dtype == np.float64 and v.shape == (len(vertices), 3)
    assert f.dtype == np.int64 and f.shape == (len(faces), 3)
    np.testing.assert_array_equal(v, vertices)
    np.testing.assert_array_equal(f, faces)


# ------------------------------------------------------------------------------------- OFF
def test_off_with_comments_blank_lines_and_a_quad(tmp_path):
    path = write(tmp_path, "a.off", "# made by hand\nOFF\n\n# counts follow\n4 2 0\n" + OFF_BODY)
    assert_mesh(read_off(path), VERTICES, OFF_FACES)
    assert_mesh(read_mesh(path), VERTICES, OFF_FACES)


@pytest.mark.parametrize("header", ["OFF4 2 0\n", "OFF 4 2 0\n", "OFF4 2\n"])
def test_off_with_the_counts_on_the_header_line_is_repaired(tmp_path, header):
    path = write(tmp_path, "broken.off", header + OFF_BODY)
    assert_mesh(read_off(path), VERTICES, OFF_FACES)


def test_fix_off_header_matches_the_originals_regex():
    broken = "OFF490 518 0\n1 2 3\n"
    fixed, repaired = fix_off_header(broken)
    assert repaired and fixed == "OFF\n490 518 0\n1 2 3\n"
    # the originals' _fix(): OFF[\n]?(-?\d+) (-?\d+) (-?\d+) -> OFF\n\1 \2 \3
    assert fixed == re.sub(r"OFF[\n]?(-?\d+) (-?\d+) (-?\d+)", r"OFF\n\1 \2 \3", broken)
    good = "OFF\n490 518 0\n"
    assert fix_off_header(good) == (good, False)
    assert fix_off_header("# c\nOFF12 3 0\n") == ("# c\nOFF\n12 3 0\n", True)


def test_off_extra_colour_columns_are_ignored(tmp_path):
    text = "OFF\n3 1 0\n0 0 0 255 0 0\n1 0 0 0 255 0\n0 1 0 0 0 255\n3 0 2 1 0.5 0.5 0.5\n"
    v, f = read_off(write(tmp_path, "c.off", text))
    np.testing.assert_array_equal(v, [[0, 0, 0], [1, 0, 0], [0, 1, 0]])
    np.testing.assert_array_equal(f, [[0, 2, 1]])


@pytest.mark.parametrize(
    ("text", "problem"),
    [
        ("", "empty file"),
        ("PLY\n3 1 0\n", "not an OFF file"),
        ("OFF\n3 0 0\n0 0 0\n1 0 0\n0 1 0\n", "no faces"),
        ("OFF\n3 1 0\n0 0 0\n1 0 0\n0 1 0\n3 0 1 3\n", r"index out of range: 3 .* 3 vertices"),
        ("OFF\n3 1 0\n0 0 0\n1 0 0\n0 1 0\n3 0 -1 2\n", "index out of range: -1"),
        ("OFF\n3 1 0\n0 0 0\nnan 0 0\n0 1 inf\n3 0 1 2\n", r"2 non-finite .* vertex 1"),
        ("OFF\n4 2 0\n0 0 0\n1 0 0\n", "truncated: the header announces 4 vertices, the file has 2"),
        ("OFF\n4 2 0\n" + OFF_BODY.rsplit("\n", 2)[0] + "\n",
         "truncated: the header announces 2 faces, the file has 1"),
        ("OFF\n4 1 0\n" + OFF_BODY, "counts do not match the file: 1 content line"),
        ("OFF\n", "truncated: no counts line"),
        ("OFF\nfour 2 0\n", "expected the counts"),
        ("OFF\n3 1 0\n0 0 0\n1 x 0\n0 1 0\n3 0 1 2\n", "line 4: not a number"),
        ("OFF\n3 1 0\n0 0 0\n1 0\n0 1 0\n3 0 1 2\n", "line 4: a vertex needs 3 coordinates"),
        ("OFF\n3 1 0\n0 0 0\n1 0 0\n0 1 0\n2 0 1\n", "a face needs 3 or more vertices"),
        ("OFF\n3 1 0\n0 0 0\n1 0 0\n0 1 0\n4 0 1 2\n", "announces 4 vertices, lists 3"),
    ],
)
def test_off_errors_name_the_file_and_the_problem(tmp_path, text, problem):
    path = write(tmp_path, "bad.off", text)
    with pytest.raises(MeshReadError, match=re.escape(str(path)) + ": .*" + problem) as info:
        read_off(path)
    assert info.value.path == path and re.search(problem, info.value.problem)
    assert isinstance(info.value, ValueError)


# ------------------------------------------------------------------------------------- OBJ
OBJ = """\
# exported by hand
mtllib thing.mtl
o thing
v 0 0 0
v 1 0 0
v 1 1 0
v 0 1 0 1.0
vt 0.5 0.5
vn 0 0 1
g group
s off
usemtl material
f 1/1/1 2//1 3/1
f -4 -2 -1
f 1/1/1 2/1/1 3/1/1 4/1/1
v 0 0 2
f 5//1 -4/1 -3
l 1 2
"""
OBJ_VERTICES = np.array([[0, 0, 0], [1, 0, 0], [1, 1, 0], [0, 1, 0], [0, 0, 2]], dtype=np.float64)
# f -4 -2 -1 with 4 vertices defined -> 0, 2, 3; the quad fans to (0,1,2),(0,2,3);
# f 5//1 -4/1 -3 with 5 vertices defined -> 4, 1, 2
OBJ_FACES = np.array([[0, 1, 2], [0, 2, 3], [0, 1, 2], [0, 2, 3], [4, 1, 2]], dtype=np.int64)


def test_obj_slashes_negative_indexes_and_a_quad(tmp_path):
    path = write(tmp_path, "m.obj", OBJ)
    assert_mesh(read_obj(path), OBJ_VERTICES, OBJ_FACES)
    upper = write(tmp_path, "M.OBJ", OBJ)
    assert_mesh(read_mesh(upper), OBJ_VERTICES, OBJ_FACES)


@pytest.mark.parametrize(
    ("text", "problem"),
    [
        ("v 0 0 0\nv 1 0 0\nv 0 1 0\n", "no faces"),
        ("v 0 0 0\nv 1 0 0\nv 0 1 0\nf 1 2 4\n", r"index out of range: 3 .* 3 vertices"),
        ("v 0 0 0\nv 1 0 0\nf 1 2 -3\nv 0 1 0\n", r"line 3: .*relative index -3 with 2 vertices"),
        ("v 0 0 0\nv 1 0 0\nv 0 1 0\nf 0 1 2\n", "line 4: vertex index 0"),
        ("v 0 0 0\nv 1 0 0\nv inf 1 0\nf 1 2 3\n", r"1 non-finite .* vertex 2"),
        ("v 0 0 0\nv 1 0 0\nv 0 1 0\nf 1/1/1 2/", "line 4: a face needs 3 or more vertices"),
        ("v 0 0 0\nv 1 0 0\nv 0 1\n", "line 3: a vertex needs 3 coordinates"),
        ("v 0 0 0\nv 1 0 0\nv 0 1 zero\nf 1 2 3\n", "line 3: not a number"),
        ("v 0 0 0\nv 1 0 0\nv 0 1 0\nf 1 2 c/1\n", "line 4: bad face entry 'c/1'"),
    ],
)
def test_obj_errors_name_the_file_and_the_problem(tmp_path, text, problem):
    path = write(tmp_path, "bad.obj", text)
    with pytest.raises(MeshReadError, match=re.escape(str(path)) + ": .*" + problem):
        read_obj(path)


def test_read_mesh_unsupported_suffix_and_missing_file(tmp_path):
    ply = write(tmp_path, "a.ply", "ply\n")
    with pytest.raises(MeshReadError, match=re.escape(str(ply)) + ": unsupported mesh format '.ply'"):
        read_mesh(ply)
    missing = tmp_path / "missing.off"
    with pytest.raises(MeshReadError, match=re.escape(str(missing)) + ": cannot open the file"):
        read_mesh(missing)


def test_mesh_read_error_pickles():
    err = pickle.loads(pickle.dumps(MeshReadError("/x/y.off", "no faces")))
    assert isinstance(err, MeshReadError) and str(err) == "cannot read mesh /x/y.off: no faces"


# ---------------------------------------------------------------------------- read_meshes
def test_read_meshes_skip_mode_lists_and_logs_the_skipped(tmp_path, caplog):
    good = write(tmp_path, "good.off", "OFF\n4 2 0\n" + OFF_BODY)
    no_faces = write(tmp_path, "empty.off", "OFF\n0 0 0\n")
    obj = write(tmp_path, "m.obj", OBJ)
    bad_obj = write(tmp_path, "bad.obj", "v 0 0 0\nf 1 2 3\n")
    with caplog.at_level(logging.WARNING, logger="deepsphere.experiments.shapes.meshes"):
        meshes, skipped = read_meshes([good, no_faces, str(obj), bad_obj], skip_unreadable=True)
    assert [m[0] for m in meshes] == [good, obj]
    assert_mesh(meshes[0][1:], VERTICES, OFF_FACES)
    assert_mesh(meshes[1][1:], OBJ_VERTICES, OBJ_FACES)
    assert [p for p, _ in skipped] == [no_faces, bad_obj]
    assert skipped[0][1] == "no faces" and "out of range" in skipped[1][1]
    warnings = [r for r in caplog.records if r.levelno == logging.WARNING]
    assert len(warnings) == 2
    assert str(no_faces) in warnings[0].getMessage() and str(bad_obj) in warnings[1].getMessage()


def test_read_meshes_strict_mode_raises_the_first_error(tmp_path):
    good = write(tmp_path, "good.off", "OFF\n4 2 0\n" + OFF_BODY)
    first = write(tmp_path, "first.off", "OFF\n0 0 0\n")
    second = write(tmp_path, "second.obj", "v 0 0 0\n")
    with pytest.raises(MeshReadError, match=re.escape(str(first))):
        read_meshes([good, first, second], skip_unreadable=False)
    meshes, skipped = read_meshes([good], skip_unreadable=False)
    assert len(meshes) == 1 and skipped == []


# ------------------------------------------------------------------------------- indexes
def test_modelnet40_index_on_a_hand_built_tree(tmp_path):
    body = "OFF\n4 2 0\n" + OFF_BODY
    for cls, split, name in [("chair", "train", "chair_0002.off"), ("chair", "train", "chair_0001.off"),
                             ("chair", "test", "chair_0003.off"), ("airplane", "train", "a_1.off"),
                             ("airplane", "test", "a_2.off")]:
        (tmp_path / cls / split).mkdir(parents=True, exist_ok=True)
        write(tmp_path, f"{cls}/{split}/{name}", body)
    write(tmp_path, "chair/train/notes.txt", "not a mesh")
    (tmp_path / ".hidden" / "train").mkdir(parents=True)
    assert modelnet40_classes(tmp_path) == ["airplane", "chair"]
    index = modelnet40_index(tmp_path)
    rel = [(e.path.relative_to(tmp_path).as_posix(), e.class_index, e.split) for e in index]
    assert rel == [("airplane/train/a_1.off", 0, "train"), ("airplane/test/a_2.off", 0, "test"),
                   ("chair/train/chair_0001.off", 1, "train"),
                   ("chair/train/chair_0002.off", 1, "train"), ("chair/test/chair_0003.off", 1, "test")]
    (tmp_path / "bed").mkdir()
    with pytest.raises(FileNotFoundError, match=re.escape(f"{tmp_path / 'bed' / 'train'} does not exist")):
        modelnet40_index(tmp_path)
    with pytest.raises(FileNotFoundError, match="not a directory"):
        modelnet40_index(tmp_path / "nowhere")


def test_the_55_synsets_come_from_the_paper_table():
    synsets, names = shrec17_synsets(), shrec17_synset_names()
    assert len(synsets) == len(set(synsets)) == 55 and synsets == sorted(synsets)
    assert synsets[0] == "02691156" and names[0] == "airplane"
    assert synsets[18] == "03001627" and names[18] == "chair"
    assert synsets[25] == "03337140" and names[25] == "file cabinet"
    assert synsets[54] == "04554684" and names[54] == "washer"
    table = paper_numbers("deepsphere.experiments.shapes", "shrec17_synsets")
    assert list(table.columns) == ["index", "synset", "name"] and len(table) == 55


def _shrec_tree(tmp_path, rows, header="id,synset,subSynset,modelId,split"):
    (tmp_path / "val_perturbed").mkdir(exist_ok=True)
    lines = [header] + [",".join(r) for r in rows]
    write(tmp_path, "val.csv", "\n".join(lines) + "\n")
    for r in rows:
        write(tmp_path, f"val_perturbed/{r[0]}.obj", OBJ)


def test_shrec17_index_on_a_hand_built_tree(tmp_path):
    rows = [("000007", "03001627", "03001627", "abc", "val"),
            ("000003", "04554684", "04554685", "def", "val"),
            ("000010", "2691156", "2690373", "ghi", "val")]  # leading zeros dropped by a spreadsheet
    _shrec_tree(tmp_path, rows)
    index = shrec17_index(tmp_path, "val")
    assert [(e.id, e.class_index, e.synset, e.subsynset, e.model_id) for e in index] == [
        ("000007", 18, "03001627", "03001627", "abc"), ("000003", 54, "04554684", "04554685", "def"),
        ("000010", 0, "02691156", "02690373", "ghi")]
    assert [e.path for e in index] == [tmp_path / "val_perturbed" / f"{r[0]}.obj" for r in rows]
    assert_mesh(read_mesh(index[0].path), OBJ_VERTICES, OBJ_FACES)
    (tmp_path / "val_perturbed" / "000003.obj").unlink()
    with pytest.raises(FileNotFoundError, match="1 model.* have no file"):
        shrec17_index(tmp_path, "val")
    with pytest.raises(FileNotFoundError, match="test.csv does not exist"):
        shrec17_index(tmp_path, "test")
    with pytest.raises(ValueError, match="split must be one of"):
        shrec17_index(tmp_path, "training")


@pytest.mark.parametrize(
    ("header", "rows", "problem"),
    [
        ("id,label,split", [], "expected id,synset,subSynset,modelId,split"),
        ("id,synset,subSynset,modelId,split", [("000001", "01234567", "01234567", "x", "val")],
         "synset '01234567' is not one of the 55"),
        ("id,synset,subSynset,modelId,split", [("000001", "03001627", "x", "val")], "4 columns"),
    ],
)
def test_shrec17_index_rejects_a_bad_csv(tmp_path, header, rows, problem):
    _shrec_tree(tmp_path, rows, header)
    with pytest.raises(ValueError, match=problem):
        shrec17_index(tmp_path, "val")
