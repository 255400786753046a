"""The dataset of a user's maps against healpy (ud_grade of the file's own ordering), numpy
(normalisation over the training maps only) and hand checks (patches, splits, errors)."""

from __future__ import annotations

import healpy as hp
import numpy as np
import pandas as pd
import pytest

from deepsphere.experiments.maps.dataset import (
    SPLIT_CODES,
    assign_splits,
    build_dataset,
    load_dataset,
)
from deepsphere.experiments.maps.sky import observed_pixels
from deepsphere.experiments.maps.standin import write_standin
from deepsphere.experiments.maps.table import read_table
from deepsphere.io.validation import CorruptFileError

FRACTIONS = {"val": 0.25, "test": 0.25}


def standin(tmp_path, **params):
    params = {"n_maps": 12, "nside": 8, "task": "classification", "mask": True, **params}
    write_standin(tmp_path / "raw", params, seed=5)
    target = "label" if params["task"] == "classification" else "log_amplitude"
    table = read_table(tmp_path / "raw/maps.csv", folder=tmp_path / "raw/maps",
                       task=params["task"], target=target)
    return table


def build(tmp_path, table, **kwargs):
    args = {"task": "classification", "nside_model": 4, "observed": None, "patches": None,
            "channels": None, "ordering": None, "fractions": FRACTIONS, "seed": 5,
            "out_h5": tmp_path / "ds.h5", "out_json": tmp_path / "inputs.json",
            "progress": False, **kwargs}
    return build_dataset(table, **args)


def test_masked_maps_are_downgraded_in_their_own_ordering_and_cut(tmp_path):
    table = standin(tmp_path)
    observed = observed_pixels(tmp_path / "raw/mask.fits", 4)
    info = build(tmp_path, table, observed=observed)
    data = load_dataset(tmp_path / "ds.h5")
    assert data["x"].shape == (12, 1, observed.size) and info["observed"] == observed.tolist()
    for i, path in enumerate(table.files):
        raw, header = hp.read_map(path[0], nest=None, h=True, dtype=np.float64)
        order_in = "NESTED" if dict(header)["ORDERING"] == "NESTED" else "RING"
        reference = hp.ud_grade(raw, 4, order_in=order_in, order_out="NESTED", pess=True)
        np.testing.assert_allclose(data["x"][i, 0], reference[observed], rtol=1e-6)
    assert "downgraded to nside 4" in info["notes"][0]
    train = data["split"] == SPLIT_CODES["train"]
    assert info["channel_mean"][0] == pytest.approx(data["x"][train].mean(), rel=1e-6)
    assert info["channel_std"][0] == pytest.approx(data["x"][train].std(), rel=1e-5)


def test_patches_are_nest_blocks_and_a_map_stays_in_one_split(tmp_path):
    table = standin(tmp_path, mask=False, task="regression")
    info = build(tmp_path, table, task="regression", nside_model=8, patches=1)
    data = load_dataset(tmp_path / "ds.h5")
    assert data["x"].shape == (12 * 12, 1, 64)
    nest = hp.read_map(table.files[7][0], nest=True, dtype=np.float64)
    for p in (0, 5, 11):
        np.testing.assert_allclose(data["x"][7 * 12 + p, 0], nest[p * 64:(p + 1) * 64], rtol=1e-6)
    assert np.all(data["map_index"] == np.repeat(np.arange(12), 12))
    for m in range(12):
        assert len(set(data["split"][data["map_index"] == m])) == 1
    targets = pd.read_csv(tmp_path / "raw/maps.csv").log_amplitude.to_numpy()
    np.testing.assert_allclose(data["y"][::12, 0], targets)
    train_maps = data["split"][::12] == 0
    assert info["target_offset"][0] == pytest.approx(targets[train_maps].mean())


def test_drawn_splits_are_seeded_stratified_and_never_empty():
    labels = np.array([0, 1] * 6)
    codes = assign_splits(12, labels=labels, fractions=FRACTIONS, seed=1)
    np.testing.assert_array_equal(codes, assign_splits(12, labels=labels, fractions=FRACTIONS,
                                                       seed=1))
    for code in SPLIT_CODES.values():
        assert set(labels[codes == code]) == {0, 1}
    # per class of 6: round(0.25 * 6) = 2 test maps, then round(0.25 / 0.75 * 4) = 1 validation
    assert np.bincount(codes).tolist() == [6, 2, 4]
    with pytest.raises(ValueError, match="maps.split: 3 maps cannot be split"):
        assign_splits(3, fractions={"val": 0.1, "test": 0.4}, seed=1)


def test_every_bad_map_is_named_and_nothing_is_written(tmp_path):
    table = standin(tmp_path)
    observed = observed_pixels(tmp_path / "raw/mask.fits", 8)
    nest = hp.read_map(table.files[2][0], nest=True)
    nest[observed[0]] = np.nan
    hp.write_map(table.files[2][0], nest, nest=True, overwrite=True, dtype=np.float32)
    hp.write_map(table.files[4][0], np.zeros(12 * 16**2), nest=True, overwrite=True,
                 dtype=np.float32)
    with pytest.raises(ValueError, match=r"2 problem\(s\)(.|\n)*map_002\.fits: 1 value\(s\) NaN"
                                         r"(.|\n)*map_004\.fits: nside 16, but"):
        build(tmp_path, table, nside_model=8, observed=observed)
    assert not (tmp_path / "ds.h5").exists() and not (tmp_path / "inputs.json").exists()


def test_a_tampered_dataset_is_refused(tmp_path):
    import h5py

    build(tmp_path, standin(tmp_path, mask=False))
    with h5py.File(tmp_path / "ds.h5", "a") as f:
        f["x"][0, 0, 0] += 1.0
    with pytest.raises(CorruptFileError, match="does not hold what its writer recorded"):
        load_dataset(tmp_path / "ds.h5")
