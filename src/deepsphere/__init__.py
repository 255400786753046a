"""DeepSphere: graph-based spherical CNNs (Keras 3) and the workflow reproducing the papers.

The user-facing names are available from the package itself (``deepsphere.ChebConv``,
``deepsphere.healpix_knn_graph``, ``deepsphere.chebyshev_laplacian``, ...). They are imported
on first access, so ``import deepsphere`` stays cheap and pulls in neither TensorFlow, JAX nor
healpy; a model saved with deepsphere's layers loads with ``keras.saving.load_model`` after
``import deepsphere`` (the layers register with Keras once Keras is imported). Packages:
``geometry`` (samplings, graphs, Laplacians), ``layers``, ``models``, ``training``,
``metrics``, ``reporting``, ``workflow``, ``io``, ``runtime`` and ``experiments.<name>``.
"""

from deepsphere._keras_registration import register_layers_with_keras
from deepsphere._lazy import lazy_exports

__version__ = "0.1.0"

_GEOMETRY = "deepsphere.geometry"
_LAYERS = "deepsphere.layers"
_EXPORTS = {
    # geometry: samplings
    "healpix_sampling": f"{_GEOMETRY}.sampling",
    "equiangular_sampling": f"{_GEOMETRY}.sampling",
    "icosahedral_sampling": f"{_GEOMETRY}.sampling",
    "points_sampling": f"{_GEOMETRY}.sampling",
    "SphereSampling": f"{_GEOMETRY}.sampling",
    # geometry: graphs
    "SphereGraph": f"{_GEOMETRY}.graphs",
    "build_graph": f"{_GEOMETRY}.graphs",
    "graph_id": f"{_GEOMETRY}.graphs",
    "healpix_v1_graph": f"{_GEOMETRY}.graphs",
    "healpix_knn_graph": f"{_GEOMETRY}.graphs",
    "knn_heat_kernel_graph": f"{_GEOMETRY}.graphs",
    "equiangular_khasanova_graph": f"{_GEOMETRY}.graphs",
    "icosahedral_graph": f"{_GEOMETRY}.graphs",
    "points_knn_graph": f"{_GEOMETRY}.graphs",
    "save_graph": f"{_GEOMETRY}.graphs",
    "load_graph": f"{_GEOMETRY}.graphs",
    # geometry: Laplacians and kernel widths
    "laplacian": f"{_GEOMETRY}.laplacian",
    "rescale_laplacian": f"{_GEOMETRY}.laplacian",
    "chebyshev_laplacian": f"{_GEOMETRY}.laplacian",
    "largest_eigenvalue": f"{_GEOMETRY}.laplacian",
    "to_pygsp": f"{_GEOMETRY}.laplacian",
    "paper_kernel_width_t": f"{_GEOMETRY}.kernel_widths",
    # layers
    "ChebConv": f"{_LAYERS}.chebconv",
    "Bias": f"{_LAYERS}.normalization",
    "ChebBatchNormalization": f"{_LAYERS}.normalization",
    "HealpixPooling": f"{_LAYERS}.pooling",
    "HealpixUnpooling": f"{_LAYERS}.pooling",
    "HealpixSubsetPooling": f"{_LAYERS}.subset_pooling",
    "HealpixSubsetUnpooling": f"{_LAYERS}.subset_pooling",
    "IcosahedralPooling": f"{_LAYERS}.pooling",
    "IcosahedralUnpooling": f"{_LAYERS}.pooling",
    "EquiangularPooling": f"{_LAYERS}.pooling",
    "EquiangularUnpooling": f"{_LAYERS}.pooling",
    "GlobalVertexPooling": f"{_LAYERS}.pooling",
    # models and training
    "build_model": "deepsphere.models.spherical",
    "validate_model_config": "deepsphere.models.config",
    "fit": "deepsphere.training.loop",
    "evaluate": "deepsphere.training.evaluation",
}
__all__ = sorted(_EXPORTS)
__getattr__, __dir__ = lazy_exports(__name__, _EXPORTS)
# A saved model's deepsphere layers load with keras.saving.load_model after `import deepsphere`
register_layers_with_keras()
