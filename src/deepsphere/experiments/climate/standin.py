"""Stand-in climate data in the real on-disk format (the real archive is ~30 GB).

Layout written by :func:`write_standin` into ``raw_dir``, as the real download:
``climate_sphere_l5.zip`` (members stored uncompressed, in name order, with fixed timestamps:
noisy float32 maps deflate by ~15 % only, at twice the generation time) holding
``data_5_all/data-YYYY-MM-DD-HH-R-mesh.npz`` (``data`` float32 ``(16, 10242)``, ``labels``
int8 one-hot ``(3, 10242)``; the real files' label dtype is not relied on:
:func:`~deepsphere.experiments.climate.maps.read_map` accepts any; each ``.npz`` is written
uncompressed like ``np.savez``, but with fixed timestamps so the bytes repeat), the split
lists ``train.txt``, ``val.txt``, ``test.txt`` (one file name per line), and ``standin.json``
(seed, counts, class fractions per split, the generator's parameters and the size and SHA-256
of every written file under ``files``, checked by :func:`verify_standin`).

Names: dates of a 365-day ("noleap") calendar, years 2106-2114, the 3-hourly step of the day
00-07 in the HH field (as in the real lists, e.g. ``data-2110-08-14-07-6-mesh.npz``), runs
1-6; the maps are a seeded random draw of these (without repetition), split at random over all
years like the real lists. Map ``data-Y-M-D-H-R`` is drawn from ``default_rng([seed, 2, Y, M,
D, H, R])``: the same seed gives the same bytes, and a map does not depend on the counts.

Maps, on the vertices of ``icosahedral_sampling(5)`` (our order), built in standardised units
``z`` per channel, then ``mean + std z`` with the real channels' mean and std
(``paper/channel_statistics.csv``); the positive channels TMQ, QREFHT and PRECT are
``std softplus(k (z + mean / std + shift)) / k`` (about ``mean + std z`` but never negative;
PRECT shifted down, mostly near 0 with bursts):

- background: a latitude climatology (tropical ``cos^2 lat`` and mid-latitude-jet
  ``sin^2 2 lat`` profiles), a fixed topography (seeded, the same for all maps) in PS, Z1000,
  ZBOT and the surface temperatures, random smooth weather (a sum of ``n_bumps`` von
  Mises-Fisher bumps ``exp(kappa (<v, c> - 1)``, scales ~10-30 degrees) and white noise;
- tropical cyclones (TC), ``|lat|`` 8-30 degrees: a Gaussian core of 2.5-4 degrees with low
  PS / PSL / Z1000, high TMQ, PRECT and QREFHT, a warm core (T200, T500, Z200) and cyclonic
  winds (counter-clockwise in the north, peak at the core radius) in U/V 850 and BOT;
- atmospheric rivers (AR), ``|lat|`` 25-55 degrees: bands 20-40 degrees long and 2-4 degrees
  wide (Gaussian across) along a small circle through the centre, heading poleward-east,
  curved either way, with high TMQ, QREFHT, PRECT and winds along the band;
- extra-tropical lows, never labelled (``|lat|`` 35-65 degrees, 6-10 degrees wide).

Labels, as an imperfect labelling heuristic would give them (the real labels come from one,
TECA): every cyclone and band has an intensity ``I`` drawn from 0.4-2.6 and is labelled with
probability ``1 / (1 + exp(-(I - label_mid) / label_width))`` (strong events almost always,
weak ones rarely, those in between sometimes: look-alikes without a label); a labelled
event's vertices are TC (AR) where ``I * envelope`` exceeds ``tc_threshold``
(``ar_threshold``); TC wins where both hold. The task is learnable but not trivial, and
imbalanced (~0.1 % TC, ~2 % AR, like the real 0.1 % / 2.2 %).
"""

from __future__ import annotations

import dataclasses
import functools
import io
import os
import re
import zipfile
from pathlib import Path

import numpy as np

from deepsphere.experiments.climate.maps import CHANNELS, CLASSES
from deepsphere.geometry.sampling import icosahedral_sampling
from deepsphere.io.atomic import (
    atomic_write_json,
    atomic_write_text,
    install_staged,
    refuse_existing,
    staging_directory,
)
from deepsphere.io.validation import file_entry, verify_recorded_files
from deepsphere.reporting.paper import paper_numbers
from deepsphere.training.statistics import class_counts

__all__ = [
    "ARCHIVE",
    "DATA_DIR",
    "SPLITS",
    "StandinParameters",
    "map_names",
    "standin_map",
    "write_standin",
    "verify_standin",
]

ARCHIVE = "climate_sphere_l5.zip"
DATA_DIR = "data_5_all"
SPLITS = ("train", "val", "test")
YEARS = tuple(range(2106, 2115))
HOURS = tuple(range(8))  # the 3-hourly step of the day, 00-07, as the real lists name it
RUNS = tuple(range(1, 7))
_MONTH_DAYS = (31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31)  # noleap calendar
_DATES = [(m + 1, d + 1) for m, n in enumerate(_MONTH_DAYS) for d in range(n)]
_ZIP_DATE = (1980, 1, 1, 0, 0, 0)
_C = {name: i for i, name in enumerate(CHANNELS)}
# positive channels: std * softplus(k (z + mean / std + shift)) / k, (k, shift)
_POSITIVE = {"TMQ": (2.0, 0.0), "QREFHT": (2.0, 0.0), "PRECT": (3.0, -0.8)}
# channel: (tropical profile, jet profile, topography) loadings of the background, z units
_LOADINGS = {
    "TMQ": (0.8, 0, 0), "U850": (-0.3, 0.6, 0), "V850": (0, 0, 0), "UBOT": (-0.3, 0.5, 0),
    "VBOT": (0, 0, 0), "QREFHT": (0.8, 0, -0.2), "PS": (0, 0, -0.9), "PSL": (0, -0.3, 0),
    "T200": (-0.3, 0.3, 0), "T500": (0.8, 0, 0), "PRECT": (0.4, 0, 0),
    "TS": (0.8, 0, -0.3), "TREFHT": (0.8, 0, -0.3), "Z1000": (0, -0.3, -0.5),
    "Z200": (0.8, 0, 0), "ZBOT": (0.3, 0, 0.2),
}
# per unit intensity, z units (winds in m/s, below)
_TC_SIGNATURE = {"PS": -0.4, "PSL": -0.8, "Z1000": -0.4, "TMQ": 1.0, "PRECT": 2.5,
                 "QREFHT": 0.5, "T200": 0.4, "T500": 0.5, "Z200": 0.3, "TS": 0.05,
                 "TREFHT": 0.05}
_AR_SIGNATURE = {"TMQ": 1.6, "QREFHT": 0.6, "PRECT": 1.0, "TREFHT": 0.2}
_LOW_SIGNATURE = {"PS": -0.3, "PSL": -0.6, "Z1000": -0.3, "PRECT": 0.8, "TMQ": 0.3}


@dataclasses.dataclass(frozen=True)
class StandinParameters:
    """The generator's parameters (angles in degrees, winds in m/s, the rest in z units)."""

    n_bumps: int = 24
    kappa_range: tuple[float, float] = (4.0, 40.0)  # bump concentration (log-uniform)
    noise: float = 0.12  # white noise std, TMQ a third of it, PRECT twice
    tc_rate: float = 1.0  # cyclones per map (Poisson mean), labelled or not
    tc_intensity: tuple[float, float] = (0.4, 2.6)
    tc_radius: tuple[float, float] = (2.5, 4.0)  # Gaussian core sigma
    tc_lat: tuple[float, float] = (8.0, 30.0)
    tc_wind: float = 15.0  # peak tangential wind per unit intensity
    tc_threshold: float = 0.6
    ar_rate: float = 4.4
    ar_intensity: tuple[float, float] = (0.4, 2.6)
    ar_length: tuple[float, float] = (20.0, 40.0)
    ar_width: tuple[float, float] = (2.0, 4.0)  # Gaussian sigma across the band
    ar_lat: tuple[float, float] = (25.0, 55.0)
    ar_wind: float = 12.0
    ar_threshold: float = 0.6
    # an event is labelled with probability 1 / (1 + exp(-(I - label_mid) / label_width))
    label_mid: float = 1.2
    label_width: float = 0.25
    low_rate: float = 2.0  # extra-tropical lows
    low_radius: tuple[float, float] = (6.0, 10.0)
    low_lat: tuple[float, float] = (35.0, 65.0)
    low_wind: float = 10.0


@dataclasses.dataclass(frozen=True)
class _Sphere:
    vectors: np.ndarray  # (V, 3)
    east: np.ndarray  # (V, 3) unit vectors
    north: np.ndarray
    profiles: np.ndarray  # (2, V): tropical, jet; standardised


@functools.cache
def _sphere() -> _Sphere:
    s = icosahedral_sampling(5)
    lon, lat = s.lon, s.lat
    east = np.stack([-np.sin(lon), np.cos(lon), np.zeros_like(lon)], axis=1)
    north = np.stack([-np.sin(lat) * np.cos(lon), -np.sin(lat) * np.sin(lon), np.cos(lat)], axis=1)
    profiles = np.stack([np.cos(lat) ** 2, np.sin(2 * lat) ** 2])
    profiles = (profiles - profiles.mean(1, keepdims=True)) / profiles.std(1, keepdims=True)
    return _Sphere(s.vectors, east, north, profiles)


@functools.cache
def _channel_statistics() -> tuple[np.ndarray, np.ndarray]:
    table = paper_numbers("deepsphere.experiments.climate", "channel_statistics")
    if tuple(table["channel"]) != CHANNELS:
        raise ValueError(f"paper/channel_statistics.csv lists {list(table['channel'])}, "
                         f"expected the channels {list(CHANNELS)} in that order.")
    return table["mean"].to_numpy(np.float64), table["std"].to_numpy(np.float64)


def _unit(rng: np.random.Generator, n: int) -> np.ndarray:
    v = rng.standard_normal((n, 3))
    return v / np.linalg.norm(v, axis=1, keepdims=True)


def _smooth(rng: np.random.Generator, n_fields: int, p: StandinParameters) -> np.ndarray:
    """``n_fields`` random smooth fields ``(n_fields, V)``, each of zero mean and unit std."""
    sph = _sphere()
    kappa = np.exp(rng.uniform(*np.log(p.kappa_range), p.n_bumps))
    basis = np.exp(kappa * (sph.vectors @ _unit(rng, p.n_bumps).T - 1.0))  # (V, n_bumps)
    fields = (basis @ rng.standard_normal((p.n_bumps, n_fields))).T
    fields -= fields.mean(1, keepdims=True)
    return fields / fields.std(1, keepdims=True)


@functools.cache
def _topography(seed: int) -> np.ndarray:
    field = np.maximum(_smooth(np.random.default_rng([seed, 1]), 1, StandinParameters())[0], -0.5)
    return (field - field.mean()) / field.std()  # flat oceans, mountains


def _centre(rng: np.random.Generator, lat_range) -> np.ndarray:
    lat = np.deg2rad(rng.uniform(*lat_range)) * rng.choice([-1.0, 1.0])
    lon = rng.uniform(0, 2 * np.pi)
    return np.array([np.cos(lat) * np.cos(lon), np.cos(lat) * np.sin(lon), np.sin(lat)])


def _add(z: np.ndarray, signature: dict, field: np.ndarray) -> None:
    for name, amplitude in signature.items():
        z[_C[name]] += amplitude * field


def _add_wind(z: np.ndarray, wind: np.ndarray, scale: float) -> None:
    """Add the wind ``(V, 3)`` (m/s) to U/V 850 and (x0.8) BOT, in z units."""
    sph, (_, std) = _sphere(), _channel_statistics()
    u, v = np.einsum("ij,ij->i", wind, sph.east), np.einsum("ij,ij->i", wind, sph.north)
    for (uc, vc), factor in ((("U850", "V850"), 1.0), (("UBOT", "VBOT"), 0.8)):
        z[_C[uc]] += scale * factor * u / std[_C[uc]]
        z[_C[vc]] += scale * factor * v / std[_C[vc]]


def _vortex(z, rng, *, intensity, radius_deg, lat_range, wind, signature) -> np.ndarray:
    """Add a cyclone; return its ``intensity * envelope`` ``(V,)``."""
    c = _centre(rng, lat_range)
    vec = _sphere().vectors
    r0 = np.deg2rad(rng.uniform(*radius_deg))
    cosd = np.clip(vec @ c, -1.0, 1.0)
    x = np.arccos(cosd) / r0
    envelope = intensity * np.exp(-0.5 * x**2)
    _add(z, signature, envelope)
    cross = np.cross(c, vec)  # counter-clockwise about c, |cross| = sin d
    sin_d = np.maximum(np.linalg.norm(cross, axis=1, keepdims=True), 1e-12)
    speed = intensity * x * np.exp(0.5 * (1 - x**2))  # peak 1 at the core radius
    _add_wind(z, np.sign(c[2]) * cross / sin_d * speed[:, None], wind)
    return envelope


def _band(z, rng, *, intensity, p: StandinParameters) -> np.ndarray:
    """Add an atmospheric river; return its ``intensity * envelope`` ``(V,)``."""
    sph = _sphere()
    centre = _centre(rng, p.ar_lat)
    lon, lat = np.arctan2(centre[1], centre[0]), np.arcsin(centre[2])
    east = np.array([-np.sin(lon), np.cos(lon), 0.0])
    north = np.array([-np.sin(lat) * np.cos(lon), -np.sin(lat) * np.sin(lon), np.cos(lat)])
    heading = np.deg2rad(rng.uniform(10, 60))
    t = np.cos(heading) * east + np.sign(lat) * np.sin(heading) * north  # poleward-east
    rho = np.deg2rad(rng.uniform(60, 120))  # small-circle radius: 90 = great circle
    axis = np.sin(rho) * np.cross(centre, t) + np.cos(rho) * centre
    e1 = (centre - np.cos(rho) * axis) / np.sin(rho)
    e2 = np.cross(axis, e1)
    vec = sph.vectors
    theta = np.arccos(np.clip(vec @ axis, -1.0, 1.0))
    along = np.arctan2(vec @ e2, vec @ e1) * np.sin(rho)  # arc length from the centre, rad
    half = np.deg2rad(rng.uniform(*p.ar_length)) / 2
    width = np.deg2rad(rng.uniform(*p.ar_width))
    taper = np.exp(-((np.maximum(np.abs(along) - half, 0) / np.deg2rad(3.0)) ** 2))
    envelope = intensity * np.exp(-0.5 * ((theta - rho) / width) ** 2) * taper
    _add(z, _AR_SIGNATURE, envelope)
    flow = np.cross(axis, vec)
    flow /= np.maximum(np.linalg.norm(flow, axis=1, keepdims=True), 1e-12)
    _add_wind(z, flow * envelope[:, None], p.ar_wind)
    return envelope


def _labelled(rng: np.random.Generator, intensity: float, p: StandinParameters) -> bool:
    """Whether the labelling heuristic labels an event: more likely the stronger it is."""
    return bool(rng.random() < 1 / (1 + np.exp(-(intensity - p.label_mid) / p.label_width)))


def _parse(name: str) -> tuple[int, ...]:
    match = re.fullmatch(r"data-(\d{4})-(\d{2})-(\d{2})-(\d{2})-(\d)-mesh\.npz", name)
    if not match:
        raise ValueError(f"{name!r} is not a map file name data-YYYY-MM-DD-HH-R-mesh.npz.")
    return tuple(int(x) for x in match.groups())


def standin_map(name: str, seed: int, params: StandinParameters | None = None):
    """The stand-in map of file ``name`` (``data-YYYY-MM-DD-HH-R-mesh.npz``): ``(data float32
    (16, 10242) physical units, labels int8 (10242,) class index)``, see the module doc."""
    p = params or StandinParameters()
    rng = np.random.default_rng([seed, 2, *_parse(name)])
    sph, (mean, std) = _sphere(), _channel_statistics()
    loadings = np.array([_LOADINGS[c] for c in CHANNELS])  # (16, 3)
    rest = np.sqrt(np.clip(1 - (loadings**2).sum(1), 0.05, None))
    z = loadings[:, :2] @ sph.profiles + loadings[:, 2:] * _topography(seed)[None]
    z += rest[:, None] * _smooth(rng, len(CHANNELS), p)
    noise = np.full(len(CHANNELS), p.noise)
    noise[_C["TMQ"]] /= 3
    noise[_C["PRECT"]] *= 2
    z += noise[:, None] * rng.standard_normal(z.shape)

    tc = np.zeros(len(sph.vectors))
    ar = np.zeros(len(sph.vectors))
    vortex = dict(radius_deg=p.tc_radius, lat_range=p.tc_lat, wind=p.tc_wind,
                  signature=_TC_SIGNATURE)
    for _ in range(rng.poisson(p.tc_rate)):
        intensity = rng.uniform(*p.tc_intensity)
        envelope = _vortex(z, rng, intensity=intensity, **vortex)
        if _labelled(rng, intensity, p):
            tc = np.maximum(tc, envelope)
    for _ in range(rng.poisson(p.ar_rate)):
        intensity = rng.uniform(*p.ar_intensity)
        envelope = _band(z, rng, intensity=intensity, p=p)
        if _labelled(rng, intensity, p):
            ar = np.maximum(ar, envelope)
    for _ in range(rng.poisson(p.low_rate)):
        _vortex(z, rng, intensity=rng.uniform(0.5, 1.5), radius_deg=p.low_radius,
                lat_range=p.low_lat, wind=p.low_wind, signature=_LOW_SIGNATURE)

    data = mean[:, None] + std[:, None] * z
    for c, (k, shift) in _POSITIVE.items():
        i = _C[c]
        data[i] = std[i] * np.logaddexp(0.0, k * (z[i] + mean[i] / std[i] + shift)) / k
    labels = np.zeros(len(sph.vectors), dtype=np.int8)
    labels[ar > p.ar_threshold] = CLASSES.index("AR")
    labels[tc > p.tc_threshold] = CLASSES.index("TC")
    return data.astype(np.float32), labels


def map_names(n_train: int, n_val: int, n_test: int, seed: int) -> dict[str, list[str]]:
    """File names per split (sorted), a seeded draw without repetition of the real naming
    ``data-YYYY-MM-DD-HH-R-mesh.npz`` (noleap dates, years 2106-2114); the first
    ``n_train`` drawn are the training maps, so they do not depend on ``n_val``, ``n_test``."""
    counts = {"train": n_train, "val": n_val, "test": n_test}
    for split, n in counts.items():
        if not isinstance(n, int | np.integer) or n < 1:
            raise ValueError(f"n_{split}={n!r}: pass a positive number of maps.")
    pool = len(YEARS) * len(_DATES) * len(HOURS) * len(RUNS)
    total = sum(counts.values())
    if total > pool:
        raise ValueError(f"{total} maps asked for, but the naming allows only {pool} distinct ones.")
    drawn = np.random.default_rng([seed, 0]).permutation(pool)[:total]
    year, rest = np.divmod(drawn, len(_DATES) * len(HOURS) * len(RUNS))
    date, rest = np.divmod(rest, len(HOURS) * len(RUNS))
    hour, run = np.divmod(rest, len(RUNS))
    names = [f"data-{YEARS[y]}-{_DATES[d][0]:02d}-{_DATES[d][1]:02d}-{HOURS[h]:02d}-"
             f"{RUNS[r]}-mesh.npz" for y, d, h, r in zip(year, date, hour, run, strict=True)]
    out, start = {}, 0
    for split, n in counts.items():
        out[split] = sorted(names[start:start + int(n)])
        start += int(n)
    return out


def _npz_bytes(arrays: dict[str, np.ndarray]) -> bytes:
    """An uncompressed ``.npz`` (as ``np.savez``) with fixed timestamps: the same bytes each time."""
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w", compression=zipfile.ZIP_STORED) as zf:
        for key, array in arrays.items():
            member = io.BytesIO()
            np.lib.format.write_array(member, np.ascontiguousarray(array), allow_pickle=False)
            zf.writestr(zipfile.ZipInfo(f"{key}.npy", date_time=_ZIP_DATE), member.getvalue())
    return buf.getvalue()


def write_standin(
    raw_dir: str | os.PathLike, *, n_train: int, n_val: int, n_test: int, seed: int,
    overwrite: bool = False,
) -> dict:
    """Write the stand-in dataset into ``raw_dir`` (see the module doc); return the record
    (also written as ``standin.json``), with ``paths``: ``{name: Path}`` of what was written.

    All or nothing: everything is written in a staging folder inside ``raw_dir`` and moved into
    place at the end. Existing outputs raise :class:`FileExistsError` unless ``overwrite``.
    """
    if not isinstance(seed, int | np.integer) or seed < 0:
        raise ValueError(f"seed={seed!r}: pass a non-negative integer.")
    seed = int(seed)
    names = map_names(n_train, n_val, n_test, seed)
    raw_dir = Path(raw_dir)
    outputs = [ARCHIVE, *(f"{s}.txt" for s in SPLITS), "standin.json"]
    refuse_existing(raw_dir, outputs, overwrite=overwrite)
    params = StandinParameters()
    split_of = {n: s for s, ns in names.items() for n in ns}
    counts = {s: np.zeros(len(CLASSES), dtype=np.int64) for s in SPLITS}

    with staging_directory(raw_dir) as tmp:
        with zipfile.ZipFile(tmp / ARCHIVE, "w", compression=zipfile.ZIP_STORED) as zf:
            for name in sorted(split_of):
                data, labels = standin_map(name, seed, params)
                counts[split_of[name]] += class_counts(labels, len(CLASSES))
                onehot = (labels[None, :] == np.arange(len(CLASSES))[:, None]).astype(np.int8)
                info = zipfile.ZipInfo(f"{DATA_DIR}/{name}", date_time=_ZIP_DATE)
                info.external_attr = 0o644 << 16
                zf.writestr(info, _npz_bytes({"data": data, "labels": onehot}))
        for split in SPLITS:
            atomic_write_text(tmp / f"{split}.txt", "".join(n + "\n" for n in names[split]))
        record = {
            "generator": __name__,
            "seed": seed,
            "counts": {s: len(names[s]) for s in SPLITS},
            "class_fractions": {s: dict(zip(CLASSES, (counts[s] / counts[s].sum()).tolist(),
                                            strict=True)) for s in SPLITS},
            "parameters": {k: list(v) if isinstance(v, tuple) else v
                           for k, v in dataclasses.asdict(params).items()},
            "format": {"data": "float32 (16, 10242)", "labels": "int8 one-hot (3, 10242)",
                       "channels": list(CHANNELS), "classes": list(CLASSES),
                       "vertices": "deepsphere.geometry.sampling.icosahedral_sampling(5)",
                       "calendar": "noleap", "years": [YEARS[0], YEARS[-1]]},
            "files": {n: file_entry(tmp / n) for n in outputs if n != "standin.json"},
        }
        atomic_write_json(tmp / "standin.json", record)
        paths = install_staged(tmp, raw_dir, outputs)
    return {**record, "paths": paths}


def verify_standin(raw_dir: str | os.PathLike) -> dict:
    """Check the archive and lists in ``raw_dir`` against the sizes and SHA-256 recorded in its
    ``standin.json``; return the record. Raises
    :class:`~deepsphere.io.validation.CorruptFileError` listing every differing file."""
    raw_dir = Path(raw_dir)
    fix = f"delete {raw_dir} and rerun (the stand-in data are regenerated, byte for byte)"
    return verify_recorded_files(raw_dir / "standin.json", "files", fix=fix)
