"""Geometry of the sphere, free of any deep-learning framework.

``sampling`` (HEALPix nest/ring/partial, equiangular, icosahedral, points), ``graphs`` (V1,
kNN heat kernel, Khasanova-Frossard, icosahedral, points; ``build_graph`` from a definition),
``laplacian`` (combinatorial, normalized, Chebyshev rescaling, pygsp conversion) and
``kernel_widths`` (the paper's heat-kernel width table). Private modules hold the compiled
loops (``_compiled_loops``, numba), the HEALPix face-grid kNN (``_facegrid``) and the numpy
neighbour search (``_healpix_graphs``, ``_sparse_graphs``).
"""
