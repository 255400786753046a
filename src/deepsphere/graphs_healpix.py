"""HEALPix neighbour patterns (used by ``graphs``): the 8 (sometimes 7) tiling neighbours.

Vectorised over pixels in chunks; int32 throughout when it fits. Neighbours outside a pixel
subset are dropped (the partial-sphere graph).
"""

from __future__ import annotations

import numpy as np
import scipy.sparse as sp

from .graphs_csr import CHUNK_ROWS, index_dtype, padded_rows_to_csr


def _global_to_local(npix: int, indexes: np.ndarray | None) -> np.ndarray | None:
    """Inverse map of a pixel subset: ``local[global] = position`` or -1 (int32/int64)."""
    if indexes is None:
        return None
    local = np.full(npix, -1, dtype=index_dtype(npix))
    local[indexes] = np.arange(indexes.size, dtype=local.dtype)
    return local


def neighbour_pattern(nside: int, *, nest: bool, indexes: np.ndarray | None) -> sp.csr_matrix:
    """CSR pattern (values 1) of the HEALPix 8-neighbour relation ``get_all_neighbours``
    (missing neighbours, -1, dropped), restricted to ``indexes`` if given (local numbering)."""
    import healpy as hp

    npix = 12 * nside**2
    pix = np.arange(npix) if indexes is None else indexes
    n = pix.size
    local = _global_to_local(npix, indexes)

    def chunks():
        for s in range(0, n, CHUNK_ROWS):
            nbr = hp.get_all_neighbours(nside, pix[s : s + CHUNK_ROWS], nest=nest).T
            if local is not None:
                nbr = np.where(nbr >= 0, local[np.maximum(nbr, 0)], -1)
            yield s, nbr.astype(index_dtype(npix))

    return padded_rows_to_csr(chunks(), n, n, capacity=8 * n)
