"""Ray engine of the projection (:mod:`.projection`): the first face each ray hits.

Embree: the Embree 4 library that ``embreex`` ships, called directly through ctypes (scenes built
from the arrays, rays in packets of 16, Embree's robust mode: without it a ray grazing a shared
edge can slip through a closed mesh; with it the hit faces equal embreex's on the benchmark
meshes), which avoids ``embreex``'s per-element scene copy (most of the per-mesh cost before).

The library is looked for only where the ``embreex`` wheels put it (Linux, auditwheel:
``site-packages/embreex.libs/libembree4-<hash>.so.4``; macOS, delocate:
``embreex/.dylibs/libembree4*.dylib``), loaded once per process, and used only if it reports
Embree 4 and passes a self-test cast (a two-face square under two packets of rays: a mismatched
ray layout shows). Where it cannot be found, loaded or checked (other platforms, other builds,
a conda ``embreex`` linked to a system Embree), ``embreex`` through trimesh (an info line in the
log says so); without ``embreex``, trimesh's own engine (slower; a warning says so). Each gives
the same hits up to the ties at edges shared by two faces.
"""

from __future__ import annotations

import logging

import numpy as np

__all__ = ["Embree", "ctypes_engine", "first_hits"]

log = logging.getLogger(__name__)


class Embree:
    """The Embree 4 library that ``embreex`` ships, through ctypes: a scene from the arrays
    (one copy into Embree's buffers), ``rtcIntersect16`` packets, robust traversal."""

    _PACKET = 16
    _STRIDE = 1536  # bytes per RTCRayHit16 (1216 used: RTCRay16 768 + RTCHit16 to instID[0]),
    # room for the optional instance fields of other builds
    _F = {"org": 0, "tnear": 3, "dir": 4, "tfar": 8, "mask": 9, "primID": 17, "geomID": 18}

    def __init__(self, path: str):
        import ctypes

        lib = ctypes.CDLL(path)
        p, i, u, z = ctypes.c_void_p, ctypes.c_int, ctypes.c_uint, ctypes.c_size_t
        for fn, res, args in [
            ("rtcNewDevice", p, [ctypes.c_char_p]), ("rtcGetDeviceError", i, [p]),
            ("rtcGetDeviceProperty", ctypes.c_ssize_t, [p, i]), ("rtcNewScene", p, [p]),
            ("rtcSetSceneFlags", None, [p, i]), ("rtcNewGeometry", p, [p, i]),
            ("rtcSetNewGeometryBuffer", p, [p, i, u, i, z, z]), ("rtcCommitGeometry", None, [p]),
            ("rtcAttachGeometry", u, [p, p]), ("rtcReleaseGeometry", None, [p]),
            ("rtcCommitScene", None, [p]), ("rtcReleaseScene", None, [p]),
            ("rtcIntersect16", None, [p, p, p, p])]:
            getattr(lib, fn).restype = res
            getattr(lib, fn).argtypes = args
        self.lib, self._memmove = lib, ctypes.memmove
        self._device, self._pid = None, None
        if self.lib.rtcGetDeviceProperty(self.device, 1) != 4:  # RTC_DEVICE_PROPERTY_VERSION_MAJOR
            raise OSError(f"{path} is not Embree 4")

    @property
    def device(self):
        import os

        if self._pid != os.getpid():  # a fresh device in a forked child
            self._device, self._pid = self.lib.rtcNewDevice(None), os.getpid()
            if not self._device:
                raise OSError("rtcNewDevice failed")
        return self._device

    def _check(self, what: str):
        code = self.lib.rtcGetDeviceError(self.device)
        if code:
            raise RuntimeError(f"Embree error {code} in {what}")

    def first_hits(self, vertices: np.ndarray, faces: np.ndarray, origins: np.ndarray,
                   directions: np.ndarray) -> np.ndarray:
        """The face index of each ray's first hit, -1 for none."""
        lib = self.lib
        v32 = np.ascontiguousarray(vertices, np.float32)
        f32 = np.ascontiguousarray(faces, np.uint32)
        scene = lib.rtcNewScene(self.device)
        try:
            lib.rtcSetSceneFlags(scene, 1 << 2)  # RTC_SCENE_FLAG_ROBUST
            geom = lib.rtcNewGeometry(self.device, 0)  # RTC_GEOMETRY_TYPE_TRIANGLE
            vb = lib.rtcSetNewGeometryBuffer(geom, 1, 0, 0x9003, 12, len(v32))  # VERTEX FLOAT3
            ib = lib.rtcSetNewGeometryBuffer(geom, 0, 0, 0x5003, 12, len(f32))  # INDEX UINT3
            if not (vb and ib):
                lib.rtcReleaseGeometry(geom)
                self._check("rtcSetNewGeometryBuffer")
                raise RuntimeError("Embree could not allocate the geometry buffers")
            self._memmove(vb, v32.ctypes.data, v32.nbytes)
            self._memmove(ib, f32.ctypes.data, f32.nbytes)
            lib.rtcCommitGeometry(geom)
            lib.rtcAttachGeometry(scene, geom)
            lib.rtcReleaseGeometry(geom)
            lib.rtcCommitScene(scene)
            self._check("the scene build")
            return self._cast(scene, origins, directions)
        finally:
            lib.rtcReleaseScene(scene)

    def _cast(self, scene, origins, directions) -> np.ndarray:
        n, k = len(origins), self._PACKET
        n_packets = -(-n // k)
        width = self._STRIDE // 4
        # one spare packet after the last: a build whose RTCRayHit16 outgrows the stride writes
        # into it, not past the buffer (the self-test then sees the damage to the next packet)
        raw = np.zeros((n_packets + 1) * self._STRIDE + 64, np.uint8)
        offset = (-raw.ctypes.data) % 64  # RTCRayHit16 is 64-byte aligned
        words = raw[offset:offset + n_packets * self._STRIDE].view(np.float32)
        words = words.reshape(n_packets, width)
        uints = words.view(np.uint32)

        def field(name, j=0):
            col = 16 * (self._F[name] + j)
            return words[:, col:col + k]

        padded = np.zeros((n_packets * k, 3), np.float32)
        for j in range(3):
            padded[:n] = origins
            field("org", j)[:] = padded[:, j].reshape(n_packets, k)
        padded[n:] = (0, 0, 1)
        for j in range(3):
            padded[:n] = directions
            field("dir", j)[:] = padded[:, j].reshape(n_packets, k)
        field("tfar")[:] = np.inf
        col = 16 * self._F["mask"]
        uints[:, col:col + k] = 0xFFFFFFFF
        col = 16 * self._F["geomID"]
        uints[:, col:col + k] = 0xFFFFFFFF  # RTC_INVALID_GEOMETRY_ID
        valid = np.full(k, -1, np.int32)
        intersect, vp, base, stride = self.lib.rtcIntersect16, valid.ctypes.data, \
            words.ctypes.data, self._STRIDE
        for i in range(n_packets):
            intersect(vp, scene, base + i * stride, None)
        self._check("rtcIntersect16")
        col = 16 * self._F["geomID"]
        hit = uints[:, col:col + k].reshape(-1)[:n] != 0xFFFFFFFF
        col = 16 * self._F["primID"]
        prim = uints[:, col:col + k].reshape(-1)[:n].astype(np.int64)
        prim[~hit] = -1
        return prim

    def self_test(self):
        """Raise ``OSError`` unless 20 rays down onto the square ``[-1, 1]^2`` of two faces
        (0 below the diagonal ``y = x``, 1 above) hit what they should (some miss)."""
        v = np.array([[-1, -1, 0], [1, -1, 0], [1, 1, 0], [-1, 1, 0]], np.float64)
        f = np.array([[0, 1, 2], [0, 2, 3]], np.int64)
        x, y = np.linspace(-0.9, 0.9, 20), np.tile([0.35, -0.35], 10)
        x[[2, 7, 18]] += 3  # off the square
        expected = np.where(np.abs(x) < 1, np.where(y < x, 0, 1), -1)
        origins = np.stack([x, y, np.ones(20)], axis=1)
        got = self.first_hits(v, f, origins, np.tile([0.0, 0.0, -1.0], (20, 1)))
        if not np.array_equal(got, expected):
            raise OSError(f"the self-test cast hit the wrong faces ({np.sum(got != expected)} of "
                          "20 rays): another ray layout?")


_ENGINE: list = []  # [Embree or None], loaded once
_WARNED = []


def _library_paths() -> list[str]:
    """The Embree 4 libraries shipped inside the ``embreex`` wheel (module docstring)."""
    import glob
    import os

    import embreex

    paths = []
    for here in list(embreex.__path__):  # __path__, unlike __file__, is never None
        paths += sorted(glob.glob(os.path.join(here + ".libs", "libembree4*.so*")))
        paths += sorted(glob.glob(os.path.join(here, ".dylibs", "libembree4*.dylib")))
    return [p for p in paths if os.path.isfile(p)]


def _load() -> Embree:
    paths = _library_paths()
    if not paths:
        raise OSError("no libembree4 shipped with embreex")
    engine = Embree(paths[0])
    engine.self_test()
    return engine


def ctypes_engine() -> Embree | None:
    """The ctypes :class:`Embree`, loaded once per process; ``None`` where it cannot be."""
    if not _ENGINE:
        engine = None
        try:
            engine = _load()
        except Exception as err:  # not there, not loadable, not Embree 4, failed: the fallback
            log.info("Embree through ctypes unavailable (%s: %s): using trimesh's ray engines",
                     type(err).__name__, err)
        _ENGINE.append(engine)
    return _ENGINE[0]


def _intersector(mesh):
    import trimesh

    if trimesh.ray.has_embree:
        return trimesh.ray.ray_pyembree.RayMeshIntersector(mesh, scale_to_box=False)
    if not _WARNED:
        log.warning("embreex is not installed: rays are cast by trimesh's own engine, about "
                    "hundreds of times slower and memory-hungry (benchmarks/results/projection.md; "
                    "pip install embreex)")
        _WARNED.append(True)
    return trimesh.ray.ray_triangle.RayMeshIntersector(mesh)


def first_hits(v: np.ndarray, f: np.ndarray, grid: np.ndarray) -> np.ndarray:
    """The face index of the first hit of each ray ``g -> -g`` (origin ``g``), -1 for none."""
    engine = ctypes_engine()
    if engine is not None:
        return engine.first_hits(v, f, grid, -grid)
    import trimesh

    tri, ray = _intersector(trimesh.Trimesh(v, f, process=False, validate=False)).intersects_id(
        grid, -grid, multiple_hits=False, return_locations=False)
    prim = np.full(len(grid), -1, np.int64)
    prim[ray] = tri
    return prim
