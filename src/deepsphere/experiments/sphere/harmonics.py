"""Spherical-harmonic tools of the sphere study: signals, harmonic transforms, random rotations.

* Signals are Gaussian random fields with a given angular power spectrum ``C_l``. The equivariance
  study uses a one-degree spectrum ``C_l' = delta_{l' l}`` (a "pure degree-l signal", as
  ``healpy.synfast`` would draw it); the kernel-width search uses red noise ``C_l ~ l^-3``.
  Coefficients are drawn directly in harmonic space from a seeded ``numpy.random.Generator``.
* A rotation ``R`` is a 3x3 rotation matrix applied in harmonic space (``healpy.rotate_alm``, an
  *active* rotation: a dipole pointing along ``v`` ends up pointing along ``R v``).
  Two distributions are offered:

  - ``"haar"`` (default): uniform on SO(3) (unit quaternion with i.i.d. normal components);
  - ``"paper"``: the 2019 code's ``healpy.Rotator(rot=[a, b, c])`` (ZYX, degrees) with ``a, b, c``
    i.i.d. uniform on [0, 360). This is *not* Haar-uniform (it over-weights some axes).

* :func:`harmonic_laplacian`: the spherical Laplacian ``-l(l+1)`` applied in harmonic space, an
  exactly equivariant reference operator.

All maps are float64 of shape ``(12 nside^2,)``; HEALPix ordering is always explicit (``nest=``).
"""

from __future__ import annotations

from collections.abc import Callable

import healpy as hp
import numpy as np

from deepsphere.geometry.sampling import check_nside as _check_nside

ROTATION_DISTRIBUTIONS = ("haar", "paper")

Operator = Callable[[np.ndarray], np.ndarray]


def default_lmax(nside: int) -> int:
    """The band limit the study uses: ``3 nside - 1`` (as ``healpy.synfast`` by default)."""
    return 3 * _check_nside(nside) - 1


# --------------------------------------------------------------------------------------------
# signals
# --------------------------------------------------------------------------------------------
def single_degree_spectrum(ell: int, lmax: int) -> np.ndarray:
    """``C`` of shape ``(lmax + 1,)`` with ``C[ell] = 1`` and zeros elsewhere."""
    if not 1 <= ell <= lmax:
        raise ValueError(f"ell must be in [1, lmax={lmax}], got {ell!r}")
    cl = np.zeros(lmax + 1)
    cl[ell] = 1.0
    return cl


def red_noise_spectrum(lmax: int, slope: float = -3.0) -> np.ndarray:
    """``C_l = l^slope`` for ``1 <= l <= lmax`` and ``C_0 = 0``; shape ``(lmax + 1,)``."""
    if lmax < 1:
        raise ValueError(f"lmax must be >= 1, got {lmax!r}")
    ell = np.arange(lmax + 1, dtype=float)
    cl = np.zeros(lmax + 1)
    cl[1:] = ell[1:] ** slope
    return cl


def random_alm(cl: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    """Draw the coefficients of a real Gaussian random field with power spectrum ``cl``.

    ``a_l0 ~ N(0, C_l)`` (real) and ``a_lm ~ sqrt(C_l / 2) (N(0,1) + i N(0,1))`` for ``m > 0``, so
    ``E|a_lm|^2 = C_l`` as in ``healpy.synfast``. Returns healpy-ordered complex128 coefficients of
    shape ``(healpy.Alm.getsize(lmax),)`` with ``lmax = len(cl) - 1``.
    """
    cl = np.asarray(cl, dtype=float)
    if cl.ndim != 1 or cl.size < 2 or np.any(cl < 0) or not np.all(np.isfinite(cl)):
        raise ValueError("cl must be a 1-d array of finite non-negative numbers, length >= 2")
    lmax = cl.size - 1
    ell, m = hp.Alm.getlm(lmax)
    size = ell.size
    re, im = rng.standard_normal(size), rng.standard_normal(size)
    amp = np.sqrt(cl[ell])
    alm = np.where(m == 0, amp * re, amp * (re + 1j * im) / np.sqrt(2.0))
    return alm.astype(np.complex128)


def alm_to_map(alm: np.ndarray, nside: int, *, nest: bool, lmax: int) -> np.ndarray:
    """Synthesise a map of shape ``(12 nside^2,)`` in the requested ordering."""
    m = hp.alm2map(np.ascontiguousarray(alm), _check_nside(nside), lmax=lmax)
    return hp.reorder(m, r2n=True) if nest else m


def map_to_alm(m: np.ndarray, *, nest: bool, lmax: int, iter: int = 3) -> np.ndarray:  # noqa: A002
    """Analyse a map (ordering given by ``nest``) into healpy-ordered coefficients up to ``lmax``.

    ``iter`` Jacobi iterations improve the HEALPix quadrature (3 is healpy's default and keeps the
    harmonic rotation error well below the graph error at low degrees).
    """
    m = np.asarray(m, dtype=float)
    if nest:
        m = hp.reorder(m, n2r=True)
    return hp.map2alm(m, lmax=lmax, iter=int(iter))


# --------------------------------------------------------------------------------------------
# rotations
# --------------------------------------------------------------------------------------------
def _quaternion_to_matrix(q: np.ndarray) -> np.ndarray:
    w, x, y, z = q / np.linalg.norm(q)
    return np.array(
        [
            [1 - 2 * (y * y + z * z), 2 * (x * y - w * z), 2 * (x * z + w * y)],
            [2 * (x * y + w * z), 1 - 2 * (x * x + z * z), 2 * (y * z - w * x)],
            [2 * (x * z - w * y), 2 * (y * z + w * x), 1 - 2 * (x * x + y * y)],
        ]
    )


def random_rotations(n: int, rng: np.random.Generator, distribution: str = "haar") -> np.ndarray:
    """``n`` random rotation matrices, shape ``(n, 3, 3)``.

    ``"haar"``: uniform on SO(3) (normalised 4-d normal vector as a unit quaternion).
    ``"paper"``: ``healpy.Rotator(rot=[a, b, c], deg=True)`` (ZYX Euler angles) with ``a, b, c``
    i.i.d. uniform on [0, 360) degrees, as in the code behind the paper's Fig. 2 (not Haar).
    """
    if distribution not in ROTATION_DISTRIBUTIONS:
        raise ValueError(
            f"rotation distribution must be one of {ROTATION_DISTRIBUTIONS}, got {distribution!r}"
        )
    if n < 1:
        raise ValueError(f"number of rotations must be >= 1, got {n!r}")
    if distribution == "haar":
        return np.stack([_quaternion_to_matrix(rng.standard_normal(4)) for _ in range(n)])
    angles = rng.uniform(0.0, 360.0, size=(n, 3))
    return np.stack([hp.Rotator(rot=list(a), deg=True, eulertype="ZYX").mat for a in angles])


def rotate_alm(alm: np.ndarray, rotation: np.ndarray, *, lmax: int) -> np.ndarray:
    """Return a rotated copy of ``alm`` (active rotation by the 3x3 matrix ``rotation``)."""
    rotation = np.asarray(rotation, dtype=float)
    if rotation.shape != (3, 3) or not np.allclose(rotation @ rotation.T, np.eye(3), atol=1e-8):
        raise ValueError("rotation must be a 3x3 orthogonal matrix")
    out = np.array(alm, dtype=np.complex128, copy=True)
    hp.rotate_alm(out, matrix=rotation, lmax=lmax)
    return out


def rotate_map(
    m: np.ndarray,
    rotation: np.ndarray,
    *,
    nest: bool,
    lmax: int,
    iter: int = 3,  # noqa: A002
) -> np.ndarray:
    """Rotate a band-limited map in harmonic space: ``map2alm -> rotate_alm -> alm2map``."""
    nside = hp.npix2nside(np.asarray(m).size)
    alm = rotate_alm(map_to_alm(m, nest=nest, lmax=lmax, iter=iter), rotation, lmax=lmax)
    return alm_to_map(alm, nside, nest=nest, lmax=lmax)


# --------------------------------------------------------------------------------------------
# the exactly equivariant reference operator
# --------------------------------------------------------------------------------------------
def harmonic_laplacian(nside: int, *, nest: bool, lmax: int, iter: int = 3) -> Operator:  # noqa: A002
    """The spherical Laplacian applied in harmonic space (``a_lm -> -l(l+1) a_lm``): exactly
    rotation-equivariant up to the quadrature error of ``map2alm``."""
    fl = -np.arange(lmax + 1.0) * np.arange(1.0, lmax + 2.0)

    def apply(m: np.ndarray) -> np.ndarray:
        alm = hp.almxfl(map_to_alm(m, nest=nest, lmax=lmax, iter=iter), fl)
        return alm_to_map(alm, nside, nest=nest, lmax=lmax)

    return apply
