"""The ICLR 2020 paper's optimal kernel widths for the HEALPix kNN heat-kernel graph.

The table (``geometry/paper/kernel_widths.csv``, nside 32..1024, k in {8, 20, 40, 60}) stores PyGSP
kernel widths sigma (chordal distance, unit sphere) for the Gaussian ``w = exp(-ln2 d^2 / sigma^2)``
(``w = 1/2`` at ``d = sigma``). The paper's heat kernel is ``w = exp(-d^2 / (4 t))``, hence
``t = sigma^2 / (4 ln 2)``.

Extrapolation, as in the paper's PyGSP table (sigma scales like 1/nside, i.e. t like 1/n):

- nside 1..16: ``sigma(nside) = sigma(32) * 32 / nside``;
- nside 2048: ``sigma(2048) = sigma(1024) / 2``;
- the k = 40 and 60 entries at nside 512 and 1024 are already extrapolated in the table
  (``sigma(256) / 2^m``; the measured values were rejected as "buggy" by the authors).
"""

from __future__ import annotations

import functools
import math

__all__ = [
    "PAPER_K",
    "PAPER_NSIDES",
    "paper_kernel_width_sigma",
    "paper_kernel_width_t",
    "paper_kernel_width_table",
    "sigma_to_t",
    "t_to_sigma",
]

PAPER_K = (8, 20, 40, 60)
PAPER_NSIDES = tuple(2**i for i in range(12))  # 1 .. 2048


def sigma_to_t(sigma: float) -> float:
    """PyGSP kernel width sigma -> heat-kernel t: ``t = sigma^2 / (4 ln 2)``."""
    return sigma**2 / (4 * math.log(2))


def t_to_sigma(t: float) -> float:
    """Heat-kernel t -> PyGSP kernel width sigma: ``sigma = sqrt(4 ln2 t)``."""
    return math.sqrt(4 * math.log(2) * t)


@functools.cache
def paper_kernel_width_table() -> dict[tuple[int, int], tuple[float, str]]:
    """The packaged table: ``{(nside, k): (sigma, "measured"|"extrapolated")}``, nside 32..1024."""
    from deepsphere.reporting.paper import paper_numbers  # pandas: not while a Snakefile parses

    frame = paper_numbers("deepsphere.geometry", "kernel_widths")
    return {
        (int(n), int(k)): (float(s), str(src))
        for n, k, s, src in frame[["nside", "k", "sigma", "source"]].itertuples(index=False)
    }


def paper_kernel_width_sigma(nside, k) -> float:
    """The paper's sigma for ``(nside, k)``, nside 1..2048 (with the extrapolation rules)."""
    if k not in PAPER_K or isinstance(k, bool):
        raise ValueError(
            f"no tabulated kernel width for k={k!r} (the paper has k in {PAPER_K}): "
            "pass an explicit t (or t='mean-distance')."
        )
    if nside not in PAPER_NSIDES or isinstance(nside, bool):
        raise ValueError(
            f"no tabulated kernel width for nside={nside!r} (the paper covers nside 1..2048, "
            "powers of 2): pass an explicit t (or t='mean-distance')."
        )
    table = paper_kernel_width_table()
    if nside < 32:
        return table[(32, k)][0] * 32 / nside
    if nside == 2048:
        return table[(1024, k)][0] / 2
    return table[(int(nside), int(k))][0]


def paper_kernel_width_t(nside, k) -> float:
    """The paper's optimal heat-kernel width t for ``w = exp(-d^2 / (4t))`` (unit sphere)."""
    return sigma_to_t(paper_kernel_width_sigma(nside, k))
