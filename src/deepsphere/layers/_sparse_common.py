"""Helpers shared by :mod:`deepsphere.layers.sparse_ops` and its backend modules
(:mod:`~deepsphere.layers.sparse_tf`, :mod:`~deepsphere.layers.sparse_jax`).

Kept apart so that the backend modules do not import ``sparse_ops``, which imports them.
"""

from __future__ import annotations

__all__ = ["column_chunks"]


def column_chunks(nnz, columns, max_product):
    """Column slices ``[(start, stop), ...]`` keeping ``nnz * (stop - start) < max_product``."""
    if max_product is None or nnz * columns < max_product:
        return None
    width = max(1, (max_product - 1) // max(nnz, 1))
    return [(s, min(s + width, columns)) for s in range(0, columns, width)]
