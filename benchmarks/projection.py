"""Projection of meshes onto the sphere (the shapes experiment), one table.

One command: ``python benchmarks/projection.py``. Writes ``benchmarks/results/projection.md``.

For ellipsoid meshes of 1,280 to 81,920 faces (icosphere subdivisions 3-6) at HEALPix Nside 32 (12,288 rays per
cast, two casts per mesh: the mesh and its convex hull):

- ``ours``: :func:`deepsphere.experiments.shapes.projection.project_mesh`, the whole per-mesh
  cost (cleaning, placing, convex hull, both casts) with the Embree engine;
- ``trimesh engine``: the same two casts with trimesh's own ray engine (``ray_triangle``,
  rtree), what a user without ``embreex`` gets;
- ``bound``: the Embree engine's raw throughput on the same meshes: two casts on prebuilt
  intersectors (no cleaning, no hull, no engine set-up).

meshes/s = 1 / (seconds per mesh); rays/s = 2 x 12,288 / (seconds per mesh). Single process.
Each row is measured in its own subprocess, so its peak RSS is that row's (the trimesh engine's
memory shows in the smallest row, the only one where it runs by default).
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
from pathlib import Path

import numpy as np

from deepsphere.runtime.hardware import hardware_label
from deepsphere.runtime.timing import time_call

HERE = Path(__file__).resolve().parent
NSIDE = 32


def ellipsoid(subdivisions: int):
    import trimesh

    mesh = trimesh.creation.icosphere(subdivisions=subdivisions)
    mesh.vertices *= np.array([1.0, 0.6, 0.3])
    return mesh


def measure(subdivisions: int, repeats: int, trimesh_max_faces: int) -> dict:
    import trimesh

    from deepsphere.experiments.shapes import projection as pj

    grid = pj.sphere_grid({"sampling": "healpix", "nside": NSIDE, "nest": True})
    mesh = ellipsoid(subdivisions)
    ours = statistics.median(time_call(
        lambda: pj.project_mesh(mesh.vertices, mesh.faces, grid, no_hit_distance=1.0), repeats))
    placed = pj.place_mesh(mesh.vertices, mesh.faces, rotation=np.eye(3), translation=np.zeros(3))
    hull = pj.convex_hull(placed)
    engines = [trimesh.ray.ray_pyembree.RayMeshIntersector(m, scale_to_box=False)
               for m in (placed, hull)]

    def raw():
        for engine in engines:
            engine.intersects_id(grid, -grid, multiple_hits=False, return_locations=True)

    bound = statistics.median(time_call(raw, repeats))

    def triangle():
        for m in (placed, hull):
            trimesh.ray.ray_triangle.RayMeshIntersector(m).intersects_id(
                grid, -grid, multiple_hits=False, return_locations=True)

    # trimesh's engine's candidate search grows with rays x faces (see the table's peak RSS):
    # measured only up to trimesh_max_faces
    tri = (statistics.median(time_call(triangle, 1, warmup=0))
           if len(mesh.faces) <= trimesh_max_faces else float("nan"))
    rays = 2 * len(grid)
    import resource

    return {"faces": len(mesh.faces), "ours_s": ours, "trimesh_s": tri, "bound_s": bound,
            "rays": rays, "peak_gb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1e6}


def _fmt(value: float, spec: str) -> str:
    return "–" if np.isnan(value) else format(value, spec)


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeats", type=int, default=5)
    parser.add_argument("--subdivisions", type=int, nargs="*", default=[3, 4, 5, 6],
                        help="icosphere subdivisions: 3 -> 1,280 faces, 4 -> 5,120, 5 -> 20,480, "
                             "6 -> 81,920")
    parser.add_argument("--worker", type=int, default=None, help=argparse.SUPPRESS)
    parser.add_argument("--trimesh-max-faces", type=int, default=2000,
                        help="measure trimesh's own engine only up to this many faces (memory)")
    parser.add_argument("--out", default=str(HERE / "results" / "projection.md"))
    args = parser.parse_args(argv)
    if args.worker is not None:
        print(json.dumps(measure(args.worker, args.repeats, args.trimesh_max_faces)))
        return 0
    rows = []
    for sub in args.subdivisions:  # one subprocess per row: its own peak RSS
        out = subprocess.run([sys.executable, __file__, "--worker", str(sub), "--repeats",
                              str(args.repeats), "--trimesh-max-faces",
                              str(args.trimesh_max_faces)], capture_output=True, text=True,
                             check=True)
        rows.append(json.loads(out.stdout.strip().splitlines()[-1]))
    lines = [
        f"Projection onto HEALPix Nside {NSIDE} (2 casts x {rows[0]['rays']// 2} rays per mesh), "
        f"one process on {hardware_label()}, load {os.getloadavg()[0]:.1f}; median of "
        f"{args.repeats} after a warm-up (trimesh engine: one run, only up to "
        f"{args.trimesh_max_faces:,} faces; peak RSS per row's subprocess).",
        "",
        "| faces | ours meshes/s | ours Mrays/s | trimesh engine meshes/s | x faster than trimesh "
        "| bound meshes/s | ours / bound time | peak RSS GB |",
        "|---|---|---|---|---|---|---|---|",
    ]
    for r in rows:
        lines.append(
            f"| {r['faces']:,} | {1 / r['ours_s']:.1f} | {r['rays'] / r['ours_s'] / 1e6:.2f} | "
            f"{_fmt(1 / r['trimesh_s'], '.2f')} | {_fmt(r['trimesh_s'] / r['ours_s'], '.0f')} | "
            f"{1 / r['bound_s']:.1f} | {r['ours_s'] / r['bound_s']:.1f} | {r['peak_gb']:.2f} |")
    text = "\n".join(lines) + "\n"
    from deepsphere.io.atomic import atomic_write_text

    atomic_write_text(args.out, text)
    print(text)
    return 0


if __name__ == "__main__":
    sys.exit(main())
