"""Stand-in data for the cosmo experiment (the real maps are gated): shifted lognormal fields.

Both classes share one target convergence spectrum ``C_l`` (so the power spectrum cannot tell
them apart, as in the real data, whose two cosmologies were chosen on the same degeneracy line)
and differ in non-Gaussianity through the lognormal shift ``lambda`` (a stand-in for the real
maps' nonlinear structure).

Model. ``kappa = lambda * (exp(g - sigma_g^2 / 2) - 1)`` with ``g`` a Gaussian field. The
correlation functions obey ``xi_kappa = lambda^2 (exp(xi_g) - 1)``, i.e.
``xi_g = ln(1 + xi_kappa / lambda^2)``. For each class: target ``C_l`` -> ``xi_kappa(theta)``
(Legendre sum) on Gauss-Legendre nodes in ``cos theta`` -> ``xi_g`` -> ``C_l^g`` (Gauss-Legendre
quadrature), negatives clipped to 0, monopole and dipole set to 0; ``sigma_g^2`` is the variance
of that clipped spectrum, so ``<kappa> = 0`` exactly. ``g`` is drawn with a seeded
``numpy.random.Generator`` (healpy's ``synfast`` would use the global NumPy state).

Why the two classes then have the same measured spectrum: ``healpy.alm2map`` evaluates the
band-limited ``g`` exactly at the pixel centres, so the covariance of two pixel values of
``kappa`` is ``lambda^2 (exp(xi_g(theta_ij)) - 1) = xi_kappa(theta_ij)`` for both classes, as long
as ``C_l^g`` is neither clipped nor truncated noticeably. Any quadratic estimator (``anafast``)
then has the same expectation for both classes, pixelisation and aliasing included. ``g`` is
therefore synthesised up to ``lmax_g = 8 nside - 1`` (beyond the map's ``3 nside - 1``) where the
target has decayed by ``exp(-8 sqrt(pi / 3)) ~ 3e-4``.

Target spectrum (:func:`target_spectrum`), smooth "power law with a turnover", ΛCDM-like in shape
only (not fitted to any cosmology):
``C_l = A (1 + (l / l_t)^2)^(-alpha / 2) exp(-l theta_pix)``, ``C_0 = C_1 = 0``, with
``theta_pix = sqrt(4 pi / (12 nside^2))`` (one pixel, rad). The exponential taper keeps ``C_l^g``
positive (a Gaussian taper ``exp(-l^2 theta^2)`` is not lognormal-realisable: its ``C_l^g`` turns
negative at high ``l``). ``A`` sets the field's std to ``sigma_kappa`` (summing to ``lmax_g``).

Shifts: ``lambda = shift_per_omega_m * Omega_m ** shift_exponent`` (the lognormal shift of
convergence grows with Omega_m; ``shift_exponent`` > 1, a demo knob, widens the gap between the
classes and so makes the task easier: the default 1 is the plain proportional law), so the Omega_m = 0.26 class is the more skewed one at equal variance.

The output mimics the real on-disk format: ``training/`` and ``testing/`` directories of float32
RING ``.npy`` maps whose names contain ``0p26`` or ``0p31``, optionally ``training.zip`` and
``testing.zip`` (byte-for-byte deterministic), whose checksums ``standin.json`` records.
"""

from __future__ import annotations

import os
from pathlib import Path

import healpy as hp
import numpy as np
from scipy.special import roots_legendre
from tqdm import tqdm

from deepsphere.experiments.cosmo.sources import LABELS
from deepsphere.geometry.sampling import check_nside
from deepsphere.io.archives import zip_tree
from deepsphere.io.atomic import (
    atomic_write_json,
    install_staged,
    refuse_existing,
    staging_directory,
)
from deepsphere.io.validation import (
    file_entry,
    verify_recorded_files,
)

__all__ = [
    "target_spectrum",
    "cl_to_xi",
    "xi_to_cl",
    "gaussian_spectrum_for_lognormal",
    "lognormal_map",
    "write_standin_dataset",
    "verify_standin_archives",
]

_SPLITS = ("training", "testing")


def target_spectrum(
    lmax: int, *, nside: int, sigma_kappa: float = 0.015, ell_turnover: float = 20.0,
    alpha: float = 1.2,
) -> np.ndarray:
    """Target convergence ``C_l``, ``l = 0..lmax`` (float64, ``(lmax + 1,)``), see module doc.

    ``nside`` sets the taper scale ``theta_pix = sqrt(4 pi / (12 nside^2))`` rad (one pixel);
    the amplitude makes ``sum_l (2 l + 1) / (4 pi) C_l = sigma_kappa^2``.
    """
    ell = np.arange(lmax + 1, dtype=np.float64)
    theta_pix = np.sqrt(4 * np.pi / (12 * check_nside(nside) ** 2))
    cl = (1 + (ell / ell_turnover) ** 2) ** (-alpha / 2) * np.exp(-ell * theta_pix)
    cl[:2] = 0.0
    return cl * sigma_kappa**2 / np.sum((2 * ell + 1) / (4 * np.pi) * cl)


def _legendre_rows(lmax: int, x: np.ndarray):
    """Yield ``(l, P_l(x))`` for ``l = 0..lmax`` by the three-term recurrence (O(len(x)) memory)."""
    p_prev, p = np.ones_like(x), x.copy()
    yield 0, p_prev
    if lmax >= 1:
        yield 1, p
    for ell in range(1, lmax):
        p_prev, p = p, ((2 * ell + 1) * x * p - ell * p_prev) / (ell + 1)
        yield ell + 1, p


def cl_to_xi(cl: np.ndarray, x: np.ndarray) -> np.ndarray:
    """``xi(x) = sum_l (2 l + 1) / (4 pi) C_l P_l(x)``, ``x = cos theta``; ``(lmax+1,) -> x.shape``."""
    x = np.asarray(x, dtype=np.float64)
    xi = np.zeros_like(x)
    for ell, p in _legendre_rows(len(cl) - 1, x):
        xi += (2 * ell + 1) / (4 * np.pi) * cl[ell] * p
    return xi


def xi_to_cl(xi: np.ndarray, x: np.ndarray, w: np.ndarray, lmax: int) -> np.ndarray:
    """``C_l = 2 pi int_{-1}^{1} xi(x) P_l(x) dx`` by the quadrature ``(x, w)``; ``(lmax + 1,)``."""
    cl = np.empty(lmax + 1)
    wxi = w * xi
    for ell, p in _legendre_rows(lmax, x):
        cl[ell] = 2 * np.pi * np.dot(wxi, p)
    return cl


def gaussian_spectrum_for_lognormal(cl_kappa: np.ndarray, shift: float) -> np.ndarray:
    """``C_l^g`` of the Gaussian field whose shifted lognormal transform has spectrum ``cl_kappa``.

    Gauss-Legendre quadrature with ``2 (lmax + 1)`` nodes (exact for the Gaussian round trip).
    Negative ``C_l^g`` (the target is not exactly lognormal-realisable) are clipped to 0 and the
    monopole and dipole set to 0.
    """
    lmax = len(cl_kappa) - 1
    x, w = roots_legendre(2 * (lmax + 1))
    ratio = cl_to_xi(cl_kappa, x) / shift**2
    if np.min(ratio) <= -1:
        raise ValueError(
            f"shift={shift} is too small for this spectrum: xi_kappa / shift^2 reaches "
            f"{np.min(ratio):.3g} <= -1 (no lognormal field has it); increase the shift."
        )
    cl_g = np.clip(xi_to_cl(np.log1p(ratio), x, w, lmax), 0.0, None)
    cl_g[:2] = 0.0
    return cl_g


def _gaussian_alm(cl: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    """Gaussian ``a_lm`` (healpy layout, ``m >= 0``) with ``<|a_lm|^2> = C_l``."""
    lmax = len(cl) - 1
    ell, m = hp.Alm.getlm(lmax)
    sd = np.sqrt(cl[ell])
    re = rng.standard_normal(ell.size)
    im = rng.standard_normal(ell.size)
    return np.where(m == 0, sd * re, sd * (re + 1j * im) / np.sqrt(2)).astype(np.complex128)


def lognormal_map(
    cl_g: np.ndarray, shift: float, nside: int, rng: np.random.Generator
) -> np.ndarray:
    """One shifted lognormal map, RING, float64 ``(12 nside^2,)``: ``shift (exp(g - s^2/2) - 1)``.

    ``g`` has spectrum ``cl_g`` up to ``len(cl_g) - 1`` (may exceed ``3 nside - 1``: the field is
    evaluated exactly at the pixel centres) and variance ``s^2 = sum (2 l + 1) / (4 pi) cl_g``.
    """
    lmax = len(cl_g) - 1
    ell = np.arange(lmax + 1)
    var_g = np.sum((2 * ell + 1) / (4 * np.pi) * cl_g)
    g = hp.alm2map(_gaussian_alm(cl_g, rng), check_nside(nside), lmax=lmax, mmax=lmax)
    return shift * np.expm1(g - var_g / 2)


def write_standin_dataset(
    dest: str | os.PathLike,
    *,
    nside: int = 64,
    n_train_per_class: int = 20,
    n_test_per_class: int = 10,
    seed: int = 0,
    sigma_kappa: float = 0.015,
    shift_per_omega_m: float = 0.1,
    shift_exponent: float = 1.0,
    ell_turnover: float = 20.0,
    alpha: float = 1.2,
    make_zips: bool = False,
    overwrite: bool = False,
    progress: bool = True,
) -> dict[str, Path]:
    """Write stand-in maps in the real data's format into ``dest``; return the written paths.

    Creates ``dest/training/`` (``n_train_per_class`` maps per class), ``dest/testing/``
    (``n_test_per_class`` per class), ``dest/standin.json`` (the parameters, and under
    ``archives`` each zip's size and SHA-256, checked by :func:`verify_standin_archives`) and, with
    ``make_zips``, ``dest/training.zip`` and ``dest/testing.zip`` (holding ``training/...`` and
    ``testing/...``). Everything is written in a temporary directory inside ``dest`` and moved
    into place at the end. Map ``i`` of class ``c`` in split ``s`` is drawn from
    ``default_rng([seed, s, c, i])``: deterministic and independent of the other counts.
    """
    nside = check_nside(nside)
    if n_train_per_class < 1 or n_test_per_class < 1:
        raise ValueError("n_train_per_class and n_test_per_class must be >= 1.")
    dest = Path(dest)
    names = list(_SPLITS) + ["standin.json"] + ([f"{s}.zip" for s in _SPLITS] if make_zips else [])
    refuse_existing(dest, names, overwrite=overwrite)

    lmax = 8 * nside - 1  # lmax_g, see the module docstring
    cl_kappa = target_spectrum(lmax, nside=nside, sigma_kappa=sigma_kappa,
                               ell_turnover=ell_turnover, alpha=alpha)
    shifts = [shift_per_omega_m * c.omega_m**shift_exponent for c in LABELS]
    cl_g = [gaussian_spectrum_for_lognormal(cl_kappa, s) for s in shifts]
    counts = {"training": n_train_per_class, "testing": n_test_per_class}
    jobs = [(s, c, i) for s in range(2) for c in range(len(LABELS)) for i in range(counts[_SPLITS[s]])]

    with staging_directory(dest) as tmp:
        for s in _SPLITS:
            (tmp / s).mkdir()
        for s, c, i in tqdm(jobs, desc="stand-in maps", disable=not progress):
            cls = LABELS[c]
            rng = np.random.default_rng([seed, s, c, i])
            kappa = lognormal_map(cl_g[c], shifts[c], nside, rng).astype(np.float32)
            s8 = f"{cls.sigma_8:.2f}".replace(".", "p")
            name = f"standin_kappa_Om{cls.tag}_s8_{s8}_{_SPLITS[s]}_{i:03d}.npy"
            np.save(tmp / _SPLITS[s] / name, kappa)
        archives = {}
        if make_zips:
            for s in _SPLITS:
                zip_tree(tmp / s, tmp / f"{s}.zip")
                archives[f"{s}.zip"] = file_entry(tmp / f"{s}.zip")
        params = dict(nside=nside, nest=False, lmax_g=lmax, seed=seed, sigma_kappa=sigma_kappa,
                      shift_per_omega_m=shift_per_omega_m, shift_exponent=shift_exponent, shifts=dict(
                          zip([c.tag for c in LABELS], shifts, strict=True)),
                      ell_turnover=ell_turnover, alpha=alpha,
                      n_train_per_class=n_train_per_class, n_test_per_class=n_test_per_class,
                      archives=archives)
        atomic_write_json(tmp / "standin.json", params)
        return install_staged(tmp, dest, names)


def verify_standin_archives(directory: str | os.PathLike) -> dict:
    """Check ``training.zip`` and ``testing.zip`` in ``directory`` against the sizes and SHA-256
    recorded in its ``standin.json`` when they were generated; return the parameters.

    Raises :class:`~deepsphere.io.validation.CorruptFileError` listing every differing archive,
    or if ``standin.json`` is unreadable or records no checksums; the fix: delete ``directory``
    and rerun (the data are regenerated byte for byte).
    """
    directory = Path(directory)
    fix = f"delete {directory} and rerun (the stand-in data are regenerated, byte for byte)"
    return verify_recorded_files(directory / "standin.json", "archives", fix=fix)
