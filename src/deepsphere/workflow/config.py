"""Workflow configuration: validation against config/schema.yaml and resource estimates.

The Snakefile calls :func:`validate_config` before any rule is defined, so a bad value is
refused before any job runs, with one message that names every offending key.
"""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path
from typing import Any

import yaml


class ConfigError(ValueError):
    """A workflow configuration that does not match config/schema.yaml."""


def _key_path(path) -> str:
    key = ""
    for part in path:
        key += f"[{part}]" if isinstance(part, int) else (f".{part}" if key else str(part))
    return key or "<top level>"


def load_schema(schema_path: str | Path) -> dict:
    """Read the JSON Schema (YAML syntax) that describes the workflow configuration."""
    with open(schema_path) as stream:
        return yaml.safe_load(stream)


def config_errors(config: Mapping[str, Any], schema: Mapping[str, Any]) -> list[str]:
    """All schema violations of ``config``, one readable line each, sorted by key."""
    from jsonschema import Draft202012Validator

    validator = Draft202012Validator(schema)
    lines = []
    for error in sorted(validator.iter_errors(config), key=lambda e: list(map(str, e.path))):
        hint = error.schema.get("description") if isinstance(error.schema, Mapping) else None
        line = f"config key '{_key_path(error.absolute_path)}': {error.message}"
        if hint:
            line += f" (expected: {hint})"
        lines.append(line)
    return lines


def validate_config(config: Mapping[str, Any], schema_path: str | Path) -> None:
    """Raise :class:`ConfigError` naming every key of ``config`` that breaks the schema."""
    errors = config_errors(config, load_schema(schema_path))
    if errors:
        raise ConfigError(
            "The workflow configuration is invalid; fix these keys in the config file "
            "(or in --config):\n  " + "\n  ".join(errors)
        )


def estimate_graph_mem_mb(definition: Mapping[str, Any]) -> int:
    """Rough peak memory (MiB) of building one graph with its Laplacian.

    Measured on the HEALPix builds (benchmarks/graph_build.py): about 14 GB for the
    50 M-vertex, 8-neighbour graph at nside 2048, i.e. ~35 bytes per vertex and neighbour.
    """
    sampling = definition.get("sampling")
    if sampling == "healpix":
        indexes = definition.get("indexes")
        n = 12 * int(definition["nside"]) ** 2
        if isinstance(indexes, Mapping):  # a NEST patch {"order": o, "patch": p}
            n //= 12 * int(indexes["order"]) ** 2
        elif indexes is not None:
            n = len(indexes)
    elif sampling == "equiangular":
        n = 4 * int(definition["bandwidth"]) ** 2
    elif sampling == "icosahedral":
        n = 10 * 4 ** int(definition["level"]) + 2
    else:
        n = len(definition.get("lon_deg", ())) or 10_000
    k = int(definition.get("k", 8))
    return int(n * max(k, 8) * 35 / 2**20) + 500
