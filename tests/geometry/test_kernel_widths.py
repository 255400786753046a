"""The paper's kernel-width table (ICLR 2020, Fig. 3 / PyGSP SphereHealpix) and its rules."""

import math

import pytest

from deepsphere.geometry import kernel_widths as kw

# sigma from the paper's table (paper-and-peers.md section 1.2), (nside, k) -> sigma
PAPER_SIGMA = {
    (32, 8): 0.02500, (32, 20): 0.03185, (32, 40): 0.042432, (32, 60): 0.051720,
    (64, 8): 0.01228, (64, 20): 0.01564, (64, 40): 0.021354, (64, 60): 0.025403,
    (128, 8): 0.00614, (128, 20): 0.00782, (128, 40): 0.010595, (128, 60): 0.012695,
    (256, 8): 0.00307, (256, 20): 0.00391, (256, 40): 0.005551, (256, 60): 0.006351,
    (512, 8): 0.00154, (512, 20): 0.00196, (512, 40): 0.005551 / 2, (512, 60): 0.006351 / 2,
    (1024, 8): 0.00077, (1024, 20): 0.00098, (1024, 40): 0.005551 / 4, (1024, 60): 0.006351 / 4,
}
# t columns printed in the same table (3 significant digits)
PAPER_T = {(32, 8): 2.25e-4, (32, 20): 3.66e-4, (32, 40): 6.49e-4, (64, 8): 5.44e-5,
           (64, 20): 8.82e-5, (128, 40): 4.05e-5, (256, 20): 5.51e-6, (512, 40): 2.78e-6,
           (1024, 8): 2.14e-7, (1024, 40): 6.95e-7}


@pytest.mark.parametrize("key", sorted(PAPER_SIGMA))
def test_table_matches_paper(key):
    assert kw.paper_kernel_width_sigma(*key) == pytest.approx(PAPER_SIGMA[key], rel=1e-12)


@pytest.mark.parametrize("key", sorted(PAPER_T))
def test_t_matches_paper(key):
    assert kw.paper_kernel_width_t(*key) == pytest.approx(PAPER_T[key], rel=6e-3)


def test_conversion_closed_form():
    # w = exp(-ln2 d^2 / sigma^2) = exp(-d^2 / (4t)) for every d iff t = sigma^2 / (4 ln 2)
    sigma, d = 0.0123, 0.007
    t = kw.sigma_to_t(sigma)
    assert math.exp(-math.log(2) * d**2 / sigma**2) == pytest.approx(math.exp(-(d**2) / (4 * t)))
    assert kw.t_to_sigma(t) == pytest.approx(sigma)


@pytest.mark.parametrize("k", [8, 20, 40, 60])
def test_extrapolation(k):
    for nside in (1, 2, 4, 8, 16):
        assert kw.paper_kernel_width_sigma(nside, k) == pytest.approx(PAPER_SIGMA[(32, k)] * 32 / nside)
    assert kw.paper_kernel_width_sigma(2048, k) == pytest.approx(PAPER_SIGMA[(1024, k)] / 2)


def test_sources_marked():
    table = kw.paper_kernel_width_table()
    assert table[(512, 40)][1] == "extrapolated" and table[(1024, 60)][1] == "extrapolated"
    assert table[(64, 8)][1] == "measured"
    assert len(table) == 24


@pytest.mark.parametrize("nside,k,msg", [(32, 10, "k=10"), (32, 0, "k=0"), (4096, 8, "nside"),
                                         (3, 8, "nside"), (32, True, "k=True")])
def test_untabulated_raise_with_fix(nside, k, msg):
    with pytest.raises(ValueError, match=msg) as e:
        kw.paper_kernel_width_t(nside, k)
    assert "explicit t" in str(e.value)
