"""Memory and runtime estimates for the rules' ``resources:`` (MiB, minutes).

Rules never hold formulas: they call these (or an experiment's own estimates built on them).
The constants come from measurements on this project's benchmarks (``benchmarks/``).
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

__all__ = [
    "arrays_mem_mb",
    "graph_mem_mb",
    "graph_vertices",
    "filtering_speed_mem_mb",
    "v1_heuristic_mem_mb",
]

BASE_MB = 500  # an interpreter with numpy, scipy and healpy loaded


def graph_vertices(definition: Mapping[str, Any]) -> int:
    """Vertex count of a graph definition; a data-defined graph (its ``positions`` file does
    not exist when the workflow is parsed) counts 100,000 vertices."""
    from deepsphere.geometry.definitions import graph_vertex_count

    n = graph_vertex_count(dict(definition))
    return 100_000 if n is None else n


def graph_mem_mb(definition: Mapping[str, Any], attempt: int = 1) -> int:
    """Peak memory of building one graph with its Laplacian, grown by ``attempt``.

    ``benchmarks/graph_build.py`` measures 10.2 GB peak for the 50 M-vertex kNN (k = 8) graph at
    nside 2048 (``benchmarks/results/graph_build.md``), ~25 bytes per vertex and neighbour; the
    estimate allows 35 (headroom for other builds and allocators).
    """
    n = graph_vertices(definition)
    k = int(definition.get("k", 8))
    return (int(n * max(k, 8) * 35 / 2**20) + BASE_MB) * int(attempt)


def arrays_mem_mb(n_values: int, *, bytes_per_value: int = 4, copies: float = 1.0,
                  base_mb: int = 2000, attempt: int = 1) -> int:
    """``base_mb`` plus ``copies`` of ``n_values`` values in memory, grown by ``attempt``."""
    return int((base_mb + copies * n_values * bytes_per_value / 2**20) * int(attempt))


def filtering_speed_mem_mb(nside: int) -> int:
    """The filtering-speed job at one nside: maps, alms and the Laplacians (an allowance of
    240 B/pixel, not measured: generous, the job is short)."""
    return 1000 + int(12 * int(nside) ** 2 * 240 / 2**20)


def v1_heuristic_mem_mb(max_nside: int) -> int:
    """The V1 heuristic width table up to ``max_nside`` (an allowance of 150 B/pixel of the
    largest, not measured)."""
    return 1000 + 12 * int(max_nside) ** 2 * 150 // 2**20
