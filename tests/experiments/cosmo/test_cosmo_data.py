"""deepsphere.experiments.cosmo.sources*: checked against healpy, closed forms and hand-worked cases."""

from __future__ import annotations

import hashlib
import json
import zipfile

import healpy as hp
import numpy as np
import pytest
from scipy.stats import skew

from deepsphere.experiments.cosmo import preprocess as prep
from deepsphere.experiments.cosmo import sources as cosmo
from deepsphere.experiments.cosmo.baselines import (
    Standardiser,
    histogram_edges,
    histogram_features,
    psd_features,
    select_linear_svm,
)
from deepsphere.experiments.cosmo.noise import add_fixed_noise
from deepsphere.experiments.cosmo.standin import (
    gaussian_spectrum_for_lognormal,
    lognormal_map,
    target_spectrum,
    write_standin_dataset,
)
from deepsphere.io.archives import unpack_archives
from deepsphere.training.splits import stratified_split


# --------------------------------------------------------------------------- source and labels
def test_source_spec_matches_the_zenodo_record():
    by_name = {s.name: s for s in cosmo.SOURCES}
    assert by_name["README.md"].checksum == "md5:6f52f6c2d8270907e7bc6bb852666b6f"
    assert by_name["training.zip"].checksum == "md5:6b0f5072481397fa8842ef99524b5482"
    assert by_name["testing.zip"].checksum == "md5:62757429ebb0a257c3d54775e08c9512"
    for s in cosmo.SOURCES:
        assert s.urls == (f"https://zenodo.org/record/1303272/files/{s.name}?download=1",)
        assert s.gated and "request access" in s.instructions


def test_label_mapping_is_explicit():
    assert cosmo.label_from_filename("kappa_Om0p26_s8_0p91_001.npy") == 0
    assert cosmo.label_from_filename("/x/kappa_Om0p31_s8_0p82_001.npy") == 1
    assert (cosmo.LABELS[0].omega_m, cosmo.LABELS[0].sigma_8) == (0.26, 0.91)
    assert (cosmo.LABELS[1].omega_m, cosmo.LABELS[1].sigma_8) == (0.31, 0.82)
    with pytest.raises(ValueError, match="neither"):
        cosmo.label_from_filename("map_0p30.npy")
    with pytest.raises(ValueError, match="both"):
        cosmo.label_from_filename("map_0p26_0p31.npy")


# --------------------------------------------------------------------------- unpack / list
def _write_zip(path, members):
    with zipfile.ZipFile(path, "w") as zf:
        for name, data in members.items():
            zf.writestr(name, data)


def test_unpack_archives_and_path_traversal(tmp_path):
    good = tmp_path / "training.zip"
    _write_zip(good, {"training/a_0p26.npy": b"1", "training/b_0p31.npy": b"2",
                      "__MACOSX/training/._a_0p26.npy": b"junk"})
    dest = tmp_path / "raw"
    assert unpack_archives([good], dest) == [dest / "training"]
    assert sorted(p.name for p in (dest / "training").iterdir()) == ["a_0p26.npy", "b_0p31.npy"]
    assert sorted(p.name for p in dest.iterdir()) == ["training"]
    with pytest.raises(FileExistsError, match="overwrite=True"):
        unpack_archives([good], dest)

    evil = tmp_path / "testing.zip"
    _write_zip(evil, {"testing/ok_0p26.npy": b"1", "testing/../../evil.npy": b"x"})
    with pytest.raises(ValueError, match="refusing"):
        unpack_archives([evil], dest)
    assert sorted(p.name for p in dest.iterdir()) == ["training"]
    assert not (tmp_path / "evil.npy").exists()


def test_list_maps_and_map_checks(tmp_path):
    m = np.zeros(12 * 4**2, dtype=np.float32)
    for name in ["b_0p31.npy", "a_0p31.npy", "z_0p26.npy"]:
        np.save(tmp_path / name, m)
    got = [(p.name, lab) for p, lab in cosmo.list_maps(tmp_path)]
    assert got == [("z_0p26.npy", 0), ("a_0p31.npy", 1), ("b_0p31.npy", 1)]
    assert cosmo.map_nside(tmp_path / "a_0p31.npy") == 4
    with pytest.raises(ValueError, match=r"'0p26': 1, '0p31': 2.*expected 2 each"):
        cosmo.list_maps(tmp_path, expected_per_class=2)

    (tmp_path / "z_0p26.npy").unlink()
    with pytest.raises(ValueError, match="no map of class.*0p26"):
        cosmo.list_maps(tmp_path)
    np.save(tmp_path / "c_0p99.npy", m)
    with pytest.raises(ValueError, match="c_0p99.npy"):
        cosmo.list_maps(tmp_path)

    np.save(tmp_path / "bad.npy", np.zeros(100))
    with pytest.raises(ValueError, match="bad.npy.*100 values"):
        cosmo.map_nside(tmp_path / "bad.npy")
    np.save(tmp_path / "nside3.npy", np.zeros(12 * 9))
    with pytest.raises(ValueError, match="power of 2"):
        cosmo.map_nside(tmp_path / "nside3.npy")
    np.save(tmp_path / "two_d.npy", np.zeros((2, 12 * 16)))
    with pytest.raises(ValueError, match="one map per"):
        cosmo.map_nside(tmp_path / "two_d.npy")


# --------------------------------------------------------------------------- preprocessing
def _f(vec):
    x, y, z = vec
    return x + 2 * y + 3 * z**2 + x * z


def test_ring_to_nest_follows_pixel_positions():
    nside = 8
    ring = _f(hp.pix2vec(nside, np.arange(12 * nside**2), nest=False))
    expected = _f(hp.pix2vec(nside, np.arange(12 * nside**2), nest=True))
    out = prep.preprocess_map(ring, nside=nside, sigma_arcmin=0)
    np.testing.assert_allclose(out, expected - expected.mean(), atol=1e-12)
    np.testing.assert_allclose(out, hp.reorder(ring - ring.mean(), r2n=True), atol=1e-12)


def test_ud_grade_averages_the_four_nest_children():
    rng = np.random.default_rng(3)
    nest8 = rng.standard_normal(12 * 8**2)
    out = prep.preprocess_map(hp.reorder(nest8, n2r=True), nside=4, sigma_arcmin=0)
    expected = nest8.reshape(-1, 4).mean(axis=1)
    np.testing.assert_allclose(out, expected - expected.mean(), atol=1e-12)
    with pytest.raises(ValueError, match="upgrading"):
        prep.preprocess_map(nest8, nside=16, sigma_arcmin=0)


def test_smoothing_multiplies_a_single_ell_map_by_the_gaussian_beam():
    nside, ell, sigma_arcmin = 32, 10, 300.0
    lmax = 3 * nside - 1
    alm = np.zeros(hp.Alm.getsize(lmax), dtype=complex)
    rng = np.random.default_rng(0)
    for m in range(ell + 1):
        alm[hp.Alm.getidx(lmax, ell, m)] = rng.standard_normal() + (1j * rng.standard_normal() if m else 0)
    ring = hp.alm2map(alm, nside, lmax=lmax)
    sigma = np.radians(sigma_arcmin / 60)
    b_ell = np.exp(-ell * (ell + 1) * sigma**2 / 2)
    assert 0.2 < b_ell < 0.8  # a real test of the beam
    out = prep.preprocess_map(ring, nside=nside, sigma_arcmin=sigma_arcmin)
    expected = hp.reorder(b_ell * ring - ring.mean(), r2n=True)
    np.testing.assert_allclose(out, expected, atol=1e-4 * np.abs(ring).max())


def _save_maps(directory, maps):
    directory.mkdir(exist_ok=True)
    out = []
    for name, m in maps:
        np.save(directory / name, m)
        out.append((directory / name, cosmo.label_from_filename(name)))
    return out


def test_patch_cache_holds_the_nest_pixel_ranges(tmp_path):
    nside, order = 8, 2
    npix = 12 * nside**2
    nest = np.arange(npix, dtype=np.float64)
    maps = _save_maps(tmp_path / "training", [
        ("m_0p26.npy", hp.reorder(nest, n2r=True)), ("m_0p31.npy", hp.reorder(2 * nest, n2r=True))])
    out = prep.build_patch_cache(maps, tmp_path / "c.h5", nside=nside, order=order,
                                  sigma_arcmin=0, split="training", progress=False)
    assert sorted(p.name for p in tmp_path.iterdir()) == ["c.h5", "training"]
    ps = prep.load_patch_cache(out)
    n = npix // 48
    assert ps.x.shape == (2 * 48, n) and ps.x.dtype == np.float32
    for k in (0, 7, 47):
        np.testing.assert_allclose(ps.x[k], np.arange(k * n, (k + 1) * n) - nest.mean())
        np.testing.assert_allclose(ps.x[48 + k], 2 * (np.arange(k * n, (k + 1) * n) - nest.mean()))
    np.testing.assert_array_equal(ps.y, [0] * 48 + [1] * 48)
    np.testing.assert_array_equal(ps.map_index, [0] * 48 + [1] * 48)
    np.testing.assert_array_equal(ps.patch_index, list(range(48)) * 2)
    assert ps.attrs["nest"] and ps.attrs["nside"] == nside and ps.attrs["order"] == order
    assert json.loads(ps.attrs["source_files"]) == ["m_0p26.npy", "m_0p31.npy"]


def test_patch_cache_rejects_bad_input_before_writing(tmp_path):
    maps = _save_maps(tmp_path / "training", [("a_0p26.npy", np.zeros(12 * 16**2)),
                                             ("b_0p31.npy", np.zeros(12 * 4**2))])
    with pytest.raises(ValueError, match="b_0p31.npy: Nside 4 < configured nside 8"):
        prep.build_patch_cache(maps, tmp_path / "c.h5", nside=8, order=1, sigma_arcmin=0,
                                split="training", progress=False)
    with pytest.raises(ValueError, match="order"):
        prep.build_patch_cache(maps[:1], tmp_path / "c.h5", nside=8, order=3, sigma_arcmin=0,
                                split="training", progress=False)
    assert sorted(p.name for p in tmp_path.iterdir()) == ["training"]


def test_normalisation_uses_training_data_only(tmp_path):
    rng = np.random.default_rng(1)
    nside = 4
    names = ["t0_0p26.npy", "t1_0p26.npy", "t2_0p31.npy", "t3_0p31.npy"]
    train = _save_maps(tmp_path / "training", [(n, rng.standard_normal(12 * nside**2)) for n in names])
    test = _save_maps(tmp_path / "testing", [("u_0p26.npy", 50 * rng.standard_normal(12 * nside**2)),
                                            ("v_0p31.npy", 50 * rng.standard_normal(12 * nside**2))])
    kw = dict(nside=nside, order=1, sigma_arcmin=0, progress=False)
    tr = prep.build_patch_cache(train, tmp_path / "train.h5", split="training", **kw)
    te = prep.build_patch_cache(test, tmp_path / "test.h5", split="testing", **kw)
    stats = prep.compute_normalisation(tr)
    x_train = prep.load_patch_cache(tr).x.astype(np.float64)
    assert stats["std"] == pytest.approx(np.std(x_train), rel=1e-6)
    assert stats["n_pixels"] == x_train.size
    with pytest.raises(ValueError, match="training cache only"):
        prep.compute_normalisation(te)
    path = prep.save_normalisation(tmp_path / "norm.json", stats)
    loaded = prep.load_normalisation(path)
    x_test = prep.load_patch_cache(te).x
    np.testing.assert_allclose(prep.normalise(x_test, loaded), x_test / np.std(x_train), rtol=1e-5)
    assert np.std(prep.normalise(x_test, loaded)) > 20  # not re-standardised on the test data


# --------------------------------------------------------------------------- noise and split
def test_fixed_noise():
    x = np.zeros((64, 1000), dtype=np.float32)
    fixed = add_fixed_noise(x, 1.5, seed=1)
    np.testing.assert_array_equal(fixed, add_fixed_noise(x, 1.5, seed=1))  # reproducible
    assert np.std(fixed) == pytest.approx(1.5, rel=0.02) and abs(np.mean(fixed)) < 0.03
    assert not np.array_equal(fixed, add_fixed_noise(x, 1.5, seed=2))
    with pytest.raises(ValueError, match=">= 0"):
        add_fixed_noise(x, -1, seed=0)


def test_stratified_split():
    labels = np.array([0] * 30 + [1] * 20)
    tr, va = stratified_split(labels, 0.2, seed=0)
    assert np.array_equal(np.sort(np.concatenate([tr, va])), np.arange(50))
    assert np.bincount(labels[va]).tolist() == [6, 4]
    assert np.array_equal(va, stratified_split(labels, 0.2, seed=0)[1])
    assert not np.array_equal(va, stratified_split(labels, 0.2, seed=1)[1])
    with pytest.raises(ValueError, match="absent"):
        stratified_split(np.array([0, 0, 1]), 0.2, seed=0)


# --------------------------------------------------------------------------- baselines
def test_psd_feature_equals_anafast_of_the_masked_full_map():
    nside, order, patch = 8, 1, 5
    rng = np.random.default_rng(2)
    ring = rng.standard_normal(12 * nside**2)
    face = hp.pix2xyf(nside, np.arange(ring.size), nest=False)[2]  # base pixel of each pixel
    masked = np.where(face == patch, ring, 0.0)
    ell = np.arange(3 * nside)
    expected = hp.anafast(masked, lmax=3 * nside - 1) * ell * (ell + 1)
    nest_patch = hp.reorder(ring, r2n=True).reshape(12, -1)[patch]
    got = psd_features(nest_patch[None], np.array([patch]), nside=nside, order=order, progress=False)
    np.testing.assert_allclose(got[0], expected, rtol=1e-10, atol=1e-14)


def test_psd_settings_patch_lmax_and_iterations():
    from deepsphere.experiments.cosmo.runs import psd_settings

    base = {"baselines": {"Cs": [1.0]}}  # no psd key: the original's lmax and iterations
    assert psd_settings(base, 64, 2) == {"lmax": 191, "iter": 3}
    cheap = {"baselines": {"psd": {"lmax": "patch", "iter": 0}}}
    settings = psd_settings(cheap, 16, 2)
    assert settings == {"lmax": 3 * 8 - 1, "iter": 0}  # patch side 16 / 2 = 8 pixels
    with pytest.raises(ValueError, match="lmax"):
        psd_settings({"baselines": {"psd": {"lmax": 10}}}, 16, 2)
    # the features are healpy's one-pass anafast of the masked map up to that lmax
    nside, order, patch = 16, 2, 13
    rng = np.random.default_rng(4)
    nest = rng.standard_normal(12 * nside**2)
    masked = np.zeros_like(nest)
    step = nest.size // (12 * order**2)
    masked[patch * step:(patch + 1) * step] = nest[patch * step:(patch + 1) * step]
    ell = np.arange(24)
    expected = hp.anafast(hp.reorder(masked, n2r=True), lmax=23, iter=0) * ell * (ell + 1)
    got = psd_features(nest[None, patch * step:(patch + 1) * step], np.array([patch]),
                       nside=nside, order=order, progress=False, **settings)
    np.testing.assert_allclose(got[0], expected, rtol=1e-10, atol=1e-14)


def test_histogram_features_hand_worked():
    edges = histogram_edges(np.array([[0.0, 0.25], [1.0, 0.5]]), n_bins=2)
    np.testing.assert_allclose(edges, [0.0, 0.5, 1.0])
    got = histogram_features(np.array([[0.0, 0.5, 1.0, 1.0], [0.1, 0.2, 2.0, -1.0]]), edges,
                             progress=False)
    np.testing.assert_array_equal(got, [[1, 3], [2, 0]])


def test_standardiser_fits_on_training_features():
    train = np.array([[1.0, 5.0], [3.0, 5.0]])
    s = Standardiser().fit(train)
    np.testing.assert_allclose(s.transform(np.array([[2.0, 7.0], [5.0, 5.0]])), [[0, 2], [3, 0]])


def test_svm_picks_the_best_validation_c():
    rng = np.random.default_rng(0)
    # classes at 10 and 12: a nearly zero weight (tiny C) puts everything in one class
    f = np.concatenate([rng.normal(10, 0.2, 50), rng.normal(12, 0.2, 50)])[:, None]
    y = np.repeat([0, 1], 50)
    sel = select_linear_svm(f[::2], y[::2], f[1::2], y[1::2], Cs=[1e-6, 10.0], seed=0)
    assert sel.val_accuracy[10.0] == 1.0 and sel.val_accuracy[1e-6] <= 0.6  # C=1e-6 underfits
    assert sel.C == 10.0  # argmax, not the original's argmin of "error" (= accuracy)


# --------------------------------------------------------------------------- stand-in data
def test_gaussian_spectrum_closed_forms():
    lmax = 4 * 16 - 1
    cl = target_spectrum(lmax, nside=8, sigma_kappa=0.015)
    ell = np.arange(lmax + 1)
    assert np.sum((2 * ell + 1) / (4 * np.pi) * cl) == pytest.approx(0.015**2)
    shift = 0.03
    cl_g = gaussian_spectrum_for_lognormal(cl, shift)
    var_g = np.sum((2 * ell + 1) / (4 * np.pi) * cl_g)
    assert var_g == pytest.approx(np.log1p(0.015**2 / shift**2), rel=2e-3)
    big = 1e3  # Gaussian limit: C_g -> C_kappa / shift^2
    np.testing.assert_allclose(gaussian_spectrum_for_lognormal(cl, big)[2:] * big**2, cl[2:],
                               rtol=1e-5)


def test_standin_classes_share_the_spectrum_but_not_the_skewness():
    nside, n_maps = 16, 40
    lmax_g, lmax = 8 * nside - 1, 3 * nside - 1
    cl = target_spectrum(lmax_g, nside=nside)
    edges = [2, 4, 8, 16, 24, 32, 40, 48]
    binned, skews = [], []
    for c, omega_m in enumerate([0.26, 0.31]):
        shift = 0.1 * omega_m  # the generator's default shift_per_omega_m
        cl_g = gaussian_spectrum_for_lognormal(cl, shift)
        maps = [lognormal_map(cl_g, shift, nside, np.random.default_rng([c, i])) for i in range(n_maps)]
        cls = np.array([hp.anafast(m, lmax=lmax, iter=0) for m in maps])
        binned.append(np.array([cls[:, a:b].mean(axis=1) for a, b in zip(edges[:-1], edges[1:], strict=True)]).T)
        skews.append(np.array([skew(m) for m in maps]))
    m0, m1 = binned[0].mean(0), binned[1].mean(0)
    se = np.sqrt(binned[0].var(0, ddof=1) / n_maps + binned[1].var(0, ddof=1) / n_maps)
    assert np.all(np.abs(m0 - m1) < 3 * se), (m0 - m1) / se
    se_skew = np.sqrt(skews[0].var(ddof=1) / n_maps + skews[1].var(ddof=1) / n_maps)
    assert skews[0].mean() - skews[1].mean() > 5 * se_skew  # Omega_m = 0.26 is more skewed


def test_standin_dataset_in_the_real_format(tmp_path):
    kw = dict(nside=8, n_train_per_class=2, n_test_per_class=1, seed=3, make_zips=True,
              progress=False)
    out = write_standin_dataset(tmp_path / "a", **kw)
    assert sorted(out) == ["standin.json", "testing", "testing.zip", "training", "training.zip"]
    assert sorted(p.name for p in (tmp_path / "a").iterdir()) == sorted(out)  # no temp left
    train = cosmo.list_maps(out["training"])
    assert [lab for _, lab in train] == [0, 0, 1, 1]
    assert len(cosmo.list_maps(out["testing"])) == 2
    m = np.load(train[0][0])
    assert m.dtype == np.float32 and cosmo.map_nside(train[0][0]) == 8
    # deterministic, byte for byte (zips included)
    again = write_standin_dataset(tmp_path / "b", **kw)
    for name in ("training.zip", "testing.zip"):
        digest = [hashlib.md5(o[name].read_bytes()).hexdigest() for o in (out, again)]
        assert digest[0] == digest[1]
    # the zips unpack to the same maps, and the real pipeline runs on them
    unpacked = unpack_archives([out["training.zip"], out["testing.zip"]], tmp_path / "u")
    assert [p.name for p in unpacked] == ["training", "testing"]
    for (p, _), (q, _) in zip(train, cosmo.list_maps(tmp_path / "u" / "training"), strict=True):
        np.testing.assert_array_equal(np.load(p), np.load(q))
    cache = prep.build_patch_cache(train, tmp_path / "c.h5", nside=4, order=1, sigma_arcmin=60,
                                    split="training", progress=False)
    assert prep.compute_normalisation(cache)["std"] > 0
    with pytest.raises(FileExistsError, match="overwrite=True"):
        write_standin_dataset(tmp_path / "a", **kw)
