"""The stand-in maps: the formats a user gives (FITS in both orderings, the CSV, a mask),
seeded, and classes a network can tell apart (their variances differ by the amplitude)."""

from __future__ import annotations

import healpy as hp
import numpy as np
import pandas as pd
import pytest

from deepsphere.experiments.maps.files import UNSEEN, read_healpix_file
from deepsphere.experiments.maps.sky import observed_pixels
from deepsphere.experiments.maps.standin import MASK_MIN_Z, write_standin

PARAMS = {"n_maps": 12, "nside": 8, "task": "classification", "mask": True}


def test_the_standin_is_what_a_user_gives(tmp_path):
    record = write_standin(tmp_path, PARAMS, seed=3)
    table = pd.read_csv(tmp_path / "maps.csv")
    assert list(table.columns) == ["file", "label"] and len(table) == 12
    assert sorted(set(table.label)) == ["high", "low"]
    assert set(record["orderings"].values()) == {"RING", "NEST"}
    observed = observed_pixels(tmp_path / "mask.fits", 8)
    z = hp.pix2vec(8, observed, nest=True)[2]
    assert np.all(z > MASK_MIN_Z) and observed.size > 12 * 64 / 2
    variances = {"high": [], "low": []}
    for row in table.itertuples():
        read = read_healpix_file(tmp_path / "maps" / row.file)
        assert read.ordering == record["orderings"][f"maps/{row.file}"]
        inside = read.maps[0][observed]
        assert np.all(np.isfinite(inside)) and np.all(inside != UNSEEN)
        outside = np.setdiff1d(np.arange(12 * 64), observed)
        assert np.all(read.maps[0][outside] == UNSEEN)
        variances[row.label].append(inside.var())
    assert np.mean(variances["high"]) > 1.5 * np.mean(variances["low"])


def test_same_seed_same_maps_other_seed_other_maps(tmp_path):
    write_standin(tmp_path / "a", PARAMS, seed=3)
    write_standin(tmp_path / "b", PARAMS, seed=3)
    write_standin(tmp_path / "c", PARAMS, seed=4)
    first = [read_healpix_file(p / "maps/map_001.fits").maps for p in
             (tmp_path / "a", tmp_path / "b", tmp_path / "c")]
    np.testing.assert_array_equal(first[0], first[1])
    assert not np.array_equal(first[0], first[2])


def test_the_regression_standin_has_its_amplitude_as_target(tmp_path):
    write_standin(tmp_path, {**PARAMS, "task": "regression", "mask": False}, seed=1)
    table = pd.read_csv(tmp_path / "maps.csv")
    assert list(table.columns) == ["file", "log_amplitude"]
    assert table.log_amplitude.between(-0.5, 0.5).all()
    assert not (tmp_path / "mask.fits").exists()
    # the map's variance grows with its amplitude (a closed form: the sum of C_ell)
    var = [read_healpix_file(tmp_path / "maps" / f).maps[0].var() for f in table.file]
    assert np.corrcoef(table.log_amplitude, np.log10(var))[0, 1] > 0.8
    with pytest.raises(ValueError, match="maps.standin.task"):
        write_standin(tmp_path / "x", {**PARAMS, "task": "ranking"}, seed=1)
