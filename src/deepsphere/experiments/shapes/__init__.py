"""3-D shapes: ModelNet40 classification and SHREC'17 retrieval (DeepSphere ICLR 2020, §2.4-2.5).

Meshes (ModelNet40 ``.off``, SHREC'17 ``.obj``) are read by :mod:`.meshes`, projected on a
spherical grid by ray casting in :mod:`.projection`, and :mod:`.standin` writes seeded stand-in
datasets in the real on-disk layouts for tests and demos.
"""
