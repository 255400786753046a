"""DeepSphere: graph-based spherical CNNs (Keras 3) and the workflow reproducing the papers.

Submodules are imported explicitly (``from deepsphere import graphs``); importing the package
itself is cheap and pulls in neither TensorFlow, JAX nor healpy.
"""

__version__ = "0.1.0"
