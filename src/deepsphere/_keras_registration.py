"""Make deepsphere's layers known to Keras's model loader once Keras is imported.

A saved ``.keras`` model names its layers ``deepsphere>ChebConv`` and so on; Keras finds such a
class only in its registry, which a layer class joins when its module is imported. So that
``import deepsphere`` then ``keras.saving.load_model(path)`` works, in either import order, yet
``import deepsphere`` stays cheap (the Snakefile imports it while it parses, without Keras):

- Keras already imported: import :mod:`deepsphere.layers` now;
- otherwise: a one-shot import hook imports :mod:`deepsphere.layers` right after Keras has
  been imported (by anyone), then removes itself.
"""

from __future__ import annotations

import importlib
import importlib.abc
import importlib.util
import sys
import warnings

_LAYERS = "deepsphere.layers"


def _import_layers() -> None:
    try:
        importlib.import_module(_LAYERS)
    except Exception as err:  # noqa: BLE001 - importing Keras must not fail because of us
        warnings.warn(
            f"deepsphere could not register its layers with Keras ({type(err).__name__}: "
            f"{err}); keras.saving.load_model will not know deepsphere's layers until "
            f"'import {_LAYERS}' works.", stacklevel=2)


class _AfterKerasImport(importlib.abc.MetaPathFinder):
    """Finds nothing itself: on the import of ``keras`` it wraps the real loader so that
    :mod:`deepsphere.layers` is imported once Keras's own code has run."""

    def find_spec(self, name, path=None, target=None):
        if name != "keras":
            return None
        if self in sys.meta_path:
            sys.meta_path.remove(self)
        spec = importlib.util.find_spec(name)
        if spec is None or spec.loader is None or not hasattr(spec.loader, "exec_module"):
            return spec
        run_keras = spec.loader.exec_module

        def exec_module(module):
            run_keras(module)
            _import_layers()

        spec.loader.exec_module = exec_module
        return spec


def register_layers_with_keras() -> None:
    """Register deepsphere's layers with Keras now, or as soon as Keras is imported."""
    if "keras" in sys.modules:
        _import_layers()
    elif not any(isinstance(f, _AfterKerasImport) for f in sys.meta_path):
        sys.meta_path.insert(0, _AfterKerasImport())
