"""The observed sky of users' maps: masks as FITS maps or pixel lists in either ordering, moved
to the model's nside, and the refusal of missing values on observed pixels only."""

from __future__ import annotations

import healpy as hp
import numpy as np
import pytest

from deepsphere.experiments.maps.files import UNSEEN, read_healpix_file
from deepsphere.experiments.maps.sky import check_observed, expand_to_nside, observed_pixels


def cap(nside, nest, lat_min=30.0):
    """A boolean map of the pixels north of ``lat_min`` (healpy's geometry)."""
    theta, _ = hp.pix2ang(nside, np.arange(12 * nside**2), nest=nest)
    return 90.0 - np.degrees(theta) > lat_min


def test_a_fits_mask_in_either_ordering_gives_the_same_nest_pixels(tmp_path):
    hp.write_map(tmp_path / "ring.fits", cap(16, nest=False).astype(np.float32), nest=False,
                 dtype=np.float32)
    hp.write_map(tmp_path / "nest.fits", cap(16, nest=True).astype(np.float32), nest=True,
                 dtype=np.float32)
    expected = np.nonzero(cap(16, nest=True))[0]
    for name in ("ring.fits", "nest.fits"):
        observed = observed_pixels(tmp_path / name, 16)
        np.testing.assert_array_equal(observed, expected)
        assert observed.size == np.count_nonzero(cap(16, nest=True))


def test_a_ring_pixel_list_is_renumbered_to_nest(tmp_path):
    ring = np.nonzero(cap(8, nest=False))[0]
    np.savetxt(tmp_path / "pixels.txt", ring, fmt="%d")
    observed = observed_pixels(tmp_path / "pixels.txt", 8, mask_ordering="RING", mask_nside=8)
    np.testing.assert_array_equal(observed, np.sort(hp.ring2nest(8, ring)))
    with pytest.raises(ValueError, match="state both"):
        observed_pixels(tmp_path / "pixels.txt", 8)
    np.save(tmp_path / "pixels.npy", np.sort(hp.ring2nest(8, ring)))
    np.testing.assert_array_equal(
        observed_pixels(tmp_path / "pixels.npy", 8, mask_ordering="NEST", mask_nside=8), observed)


def test_a_coarse_pixel_is_observed_only_when_all_its_children_are():
    # NEST nside 2 -> 1: pixel 0 has children 0..3 (all in), pixel 1 has 4..6 of 4..7
    assert expand_to_nside([0, 1, 2, 3, 4, 5, 6], 2, 1).tolist() == [0]
    assert expand_to_nside([0, 1, 2, 3, 4, 5, 6], 2, 1, all_children=False).tolist() == [0, 1]
    assert expand_to_nside([1, 3], 1, 2).tolist() == [4, 5, 6, 7, 12, 13, 14, 15]


def test_missing_values_are_refused_inside_the_mask_only(tmp_path):
    nside = 8
    observed = np.nonzero(cap(nside, nest=True))[0]
    ring = hp.reorder(np.where(cap(nside, nest=True), 1.0, UNSEEN), n2r=True)
    hp.write_map(tmp_path / "m.fits", ring, nest=False, dtype=np.float64)
    maps = read_healpix_file(tmp_path / "m.fits")
    check_observed(maps, observed, nside)  # UNSEEN outside the cap: fine
    bad_ring_pixel = int(hp.nest2ring(nside, observed[3]))
    ring[bad_ring_pixel] = np.nan
    hp.write_map(tmp_path / "m.fits", ring, nest=False, dtype=np.float64, overwrite=True)
    with pytest.raises(ValueError, match=rf"m\.fits: 1 value\(s\) NaN.*inside the mask, channel "
                                         rf"0, pixels \[{bad_ring_pixel}\] \(RING numbering"):
        check_observed(read_healpix_file(tmp_path / "m.fits"), observed, nside)
    with pytest.raises(ValueError, match="inside the whole sky"):
        check_observed(maps, None, nside)  # without a mask, the UNSEEN pixels are missing data


def test_bad_masks_are_named(tmp_path):
    with pytest.raises(ValueError, match=r"nomask\.fits: no such mask file"):
        observed_pixels(tmp_path / "nomask.fits", 8)
    hp.write_map(tmp_path / "empty.fits", np.zeros(12 * 64), nest=True, dtype=np.float64)
    with pytest.raises(ValueError, match="observes no pixel"):
        observed_pixels(tmp_path / "empty.fits", 8)
    assert observed_pixels(None, 8) is None
