"""Reading users' HEALPix maps: the ordering from the file (never guessed), channels by
column, index or name, and downgrading; against healpy's geometry and healpy's ud_grade."""

from __future__ import annotations

import healpy as hp
import numpy as np
import pytest
from astropy.io import fits

from deepsphere.experiments.maps.files import (
    UNSEEN,
    downgrade_labels_nest,
    downgrade_nest,
    read_healpix_file,
)

NSIDE = 8


def z_of(nest: bool) -> np.ndarray:
    """The z coordinate of each pixel centre, in the given ordering (healpy's geometry)."""
    return hp.pix2vec(NSIDE, np.arange(12 * NSIDE**2), nest=nest)[2]


def test_ring_and_nest_fits_read_back_as_the_same_nest_map(tmp_path):
    hp.write_map(tmp_path / "ring.fits", z_of(nest=False), nest=False, dtype=np.float64)
    hp.write_map(tmp_path / "nest.fits", z_of(nest=True), nest=True, dtype=np.float64)
    ring = read_healpix_file(tmp_path / "ring.fits")
    nest = read_healpix_file(tmp_path / "nest.fits")
    assert (ring.ordering, nest.ordering, ring.nside) == ("RING", "NEST", NSIDE)
    np.testing.assert_array_equal(ring.maps[0], z_of(nest=True))
    np.testing.assert_array_equal(nest.maps[0], z_of(nest=True))


def bare_fits(path, values, ordering=None):
    """A HEALPix-like FITS table written without healpy (so ORDERING can be absent or odd)."""
    hdu = fits.BinTableHDU.from_columns([fits.Column(name="T", format="D", array=values)])
    hdu.header["PIXTYPE"] = "HEALPIX"
    hdu.header["NSIDE"] = NSIDE
    if ordering is not None:
        hdu.header["ORDERING"] = ordering
    fits.HDUList([fits.PrimaryHDU(), hdu]).writeto(path)


def test_a_fits_without_ordering_is_refused_and_nest_is_read_as_nested(tmp_path):
    bare_fits(tmp_path / "none.fits", z_of(nest=False))
    with pytest.raises(ValueError, match=r"none\.fits: the FITS header has no ORDERING"):
        read_healpix_file(tmp_path / "none.fits")
    bare_fits(tmp_path / "nest.fits", z_of(nest=True), ordering="NEST")
    np.testing.assert_array_equal(read_healpix_file(tmp_path / "nest.fits").maps[0],
                                  z_of(nest=True))
    bare_fits(tmp_path / "odd.fits", z_of(nest=True), ordering="GALACTIC")
    with pytest.raises(ValueError, match="must be RING or NESTED"):
        read_healpix_file(tmp_path / "odd.fits")


def test_channels_by_column_index_and_name(tmp_path):
    rng = np.random.default_rng(0)
    maps = rng.normal(size=(3, 12 * NSIDE**2))
    hp.write_map(tmp_path / "iqu.fits", maps, nest=False, column_names=["I", "Q", "U"],
                 dtype=np.float64)
    nest = np.stack([hp.reorder(m, r2n=True) for m in maps])
    got = read_healpix_file(tmp_path / "iqu.fits", channels=["I", "U"]).maps
    np.testing.assert_array_equal(got, nest[[0, 2]])
    np.testing.assert_array_equal(read_healpix_file(tmp_path / "iqu.fits", channels=[1]).maps,
                                  nest[[1]])
    np.testing.assert_array_equal(read_healpix_file(tmp_path / "iqu.fits").maps, nest[[0]])
    with pytest.raises(ValueError, match="no column named 'E'"):
        read_healpix_file(tmp_path / "iqu.fits", channels=["E"])


def test_a_partial_sky_file_comes_back_full_sky_with_unseen_outside(tmp_path):
    inside = np.arange(40, 90)
    values = np.arange(inside.size, dtype=float)
    # the HEALPix explicit-index format: a PIXEL column, then the map columns
    hdu = fits.BinTableHDU.from_columns([
        fits.Column(name="PIXEL", format="J", array=inside.astype(np.int32)),
        fits.Column(name="SIGNAL", format="D", array=values)])
    hdu.header.update(PIXTYPE="HEALPIX", ORDERING="NESTED", NSIDE=NSIDE, OBJECT="PARTIAL",
                      INDXSCHM="EXPLICIT")
    fits.HDUList([fits.PrimaryHDU(), hdu]).writeto(tmp_path / "part.fits")
    got = read_healpix_file(tmp_path / "part.fits").maps[0]
    assert got.size == 12 * NSIDE**2
    np.testing.assert_array_equal(got[inside], values)
    assert np.all(got[np.setdiff1d(np.arange(got.size), inside)] == UNSEEN)
    by_name = read_healpix_file(tmp_path / "part.fits", channels=["SIGNAL"]).maps[0]
    np.testing.assert_array_equal(by_name, got)


def test_numpy_files_need_their_ordering_stated(tmp_path):
    np.save(tmp_path / "ring.npy", z_of(nest=False))
    with pytest.raises(ValueError, match=r"ring\.npy: .npy and .npz files do not record"):
        read_healpix_file(tmp_path / "ring.npy")
    got = read_healpix_file(tmp_path / "ring.npy", ordering="RING")
    np.testing.assert_array_equal(got.maps[0], z_of(nest=True))
    np.savez(tmp_path / "two.npz", a=z_of(nest=True), b=-z_of(nest=True))
    with pytest.raises(ValueError, match=r"holds the arrays \['a', 'b'\]"):
        read_healpix_file(tmp_path / "two.npz", ordering="NEST")
    got = read_healpix_file(tmp_path / "two.npz", ordering="NEST", channels=["b", "a"]).maps
    np.testing.assert_array_equal(got, [-z_of(nest=True), z_of(nest=True)])
    with pytest.raises(ValueError, match="states its ordering in its header"):
        hp.write_map(tmp_path / "m.fits", z_of(nest=True), nest=True, dtype=np.float64)
        read_healpix_file(tmp_path / "m.fits", ordering="NEST")


def test_bad_files_are_named(tmp_path):
    np.save(tmp_path / "short.npy", np.zeros(100))
    with pytest.raises(ValueError, match=r"short\.npy: 100 pixels is not 12 nside\^2"):
        read_healpix_file(tmp_path / "short.npy", ordering="RING")
    with pytest.raises(ValueError, match=r"absent\.fits: no such map file"):
        read_healpix_file(tmp_path / "absent.fits")
    (tmp_path / "junk.fits").write_bytes(b"not a fits file")
    with pytest.raises(ValueError, match=r"junk\.fits"):
        read_healpix_file(tmp_path / "junk.fits")
    (tmp_path / "map.txt").write_text("1 2 3")
    with pytest.raises(ValueError, match="unknown map format"):
        read_healpix_file(tmp_path / "map.txt")


def test_downgrading_is_healpy_ud_grade_of_the_right_ordering():
    rng = np.random.default_rng(1)
    ring = rng.normal(size=12 * 16**2)
    nest = hp.reorder(ring, r2n=True)
    ours = downgrade_nest(nest, 4)
    np.testing.assert_allclose(ours, hp.ud_grade(ring, 4, order_in="RING", order_out="NESTED",
                                                 pess=True), rtol=1e-12)
    np.testing.assert_allclose(ours, hp.ud_grade(nest, 4, order_in="NESTED",
                                                 order_out="NESTED", pess=True), rtol=1e-12)
    nest[5], nest[17] = UNSEEN, np.nan  # children of coarse pixels 0 and 1 (factor 16)
    out = downgrade_nest(nest, 4)
    assert out[0] == UNSEEN and out[1] == UNSEEN and out[2] == pytest.approx(nest[32:48].mean())
    with pytest.raises(ValueError, match="cannot upgrade nside 16 to 32"):
        downgrade_nest(nest, 32)


def test_labels_are_downgraded_by_majority():
    labels = np.zeros(12 * 2**2, dtype=np.int64)
    labels[0:4] = [1, 1, 2, 0]  # coarse pixel 0: label 1 wins
    labels[4:8] = [2, 2, 1, 1]  # a tie: the smallest label, 1
    out = downgrade_labels_nest(labels, 1)
    assert out[:2].tolist() == [1, 1] and out.dtype == np.int64 and out.size == 12
