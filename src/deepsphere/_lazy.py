"""Lazy re-exports (PEP 562): a package names its public objects without importing them.

``import deepsphere`` must stay cheap (the Snakefile imports it while parsing; no TensorFlow,
JAX or healpy for that), yet ``deepsphere.ChebConv`` must work: the first access imports the
defining module.
"""

from __future__ import annotations

import importlib


def lazy_exports(package: str, exports: dict[str, str]):
    """``(__getattr__, __dir__)`` for ``package`` exporting ``{name: "module.path"}``."""

    def __getattr__(name: str):
        try:
            module = exports[name]
        except KeyError:
            raise AttributeError(f"module {package!r} has no attribute {name!r}") from None
        value = getattr(importlib.import_module(module), name)
        globals_of_package = importlib.import_module(package).__dict__
        globals_of_package[name] = value  # later lookups skip __getattr__
        return value

    def __dir__():
        return sorted(set(importlib.import_module(package).__dict__) | set(exports))

    return __getattr__, __dir__
