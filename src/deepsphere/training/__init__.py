"""Training: fit with checkpoints and bit-exact resume, evaluation, runtime set-up, seeds.

``seeds`` and ``lock`` need no Keras (planning code imports them while the Snakefile is
parsed); the rest is imported on first access.
"""

from deepsphere._lazy import lazy_exports

_EXPORTS = {
    "FitResult": "deepsphere.training.loop",
    "fit": "deepsphere.training.loop",
    "load_checkpoint": "deepsphere.training.loop",
    "evaluate": "deepsphere.training.evaluation",
    "derive_seed": "deepsphere.training.seeds",
}
__all__ = sorted(_EXPORTS)
__getattr__, __dir__ = lazy_exports(__name__, _EXPORTS)
