"""Model builders from config dicts: spherical (``spherical.build_model``) and planar baselines.

Submodules are imported on first access so that validating a config needs no Keras.
"""

from deepsphere._lazy import lazy_exports

_EXPORTS = {
    "build_model": "deepsphere.models.spherical",
    "required_graphs": "deepsphere.models.spherical",
    "trainable_parameter_count": "deepsphere.models.spherical",
    "validate_model_config": "deepsphere.models.config",
    "build_planar_model": "deepsphere.models.planar",
    "validate_planar_config": "deepsphere.models.planar",
}
__all__ = sorted(_EXPORTS)
__getattr__, __dir__ = lazy_exports(__name__, _EXPORTS)
