"""The conda environments of ``snakemake --use-conda``, one per rule family, from the lock.

Each rule names the environment of its family in its ``conda:`` directive
(``envs/<family>.yaml``); :data:`FAMILIES` says which top-level distributions each family's
scripts import (``imports``) and which they need without importing them (``runtime``, with
the reason). An environment file pins that set and its whole dependency closure (from the
installed metadata, :func:`importlib.metadata.requires`) at the exact versions of
``requirements.lock``, so the environments cannot drift from the lock or from each other.
``envs/deepsphere.yaml`` is the driver: pyproject's runtime dependencies and this package, for
running Snakemake itself (the Snakefile imports ``deepsphere`` while parsing) and the rules
without ``--use-conda`` (JAX, a dev extra there, is in ``training.yaml``). ``tests/workflow/test_environments.py`` derives each rule's script imports and
checks them against its rule's environment.

Conda provides only the interpreter and pip (``python=3.11``, ``pip=25.3``): the lock is a
pip lock of PyPI wheels, and conda-forge builds of the same versions are other artefacts, so
everything else is in the ``pip:`` section with ``==`` pins.

How the jobs get ``deepsphere`` itself: the family environments do not install it. Snakemake
copies an environment file to ``.snakemake/conda/<hash>.yaml`` and runs ``conda env create``
on the copy, and conda runs pip from the copy's folder, so a relative ``-e ..`` would name
``.snakemake/`` (or whatever ``--conda-prefix`` says), not this checkout; and pip would install
deepsphere's whole dependency list (TensorFlow included) into every family. Instead the
Snakefile puts this checkout's ``src/`` first on the jobs' ``PYTHONPATH``
(:func:`export_job_pythonpath`), so every job, and the notebook kernels papermill starts, run the
checked-out code, whatever the working directory or conda prefix. ``envs/deepsphere.yaml`` does
install it (``-e ..``), as it is created by hand from ``envs/``.

Usage: ``python -m deepsphere.workflow.environments --write`` regenerates ``envs/*.yaml``;
``--check`` exits 1 naming each file that differs from what would be written.
"""

from __future__ import annotations

import argparse
import os
import re
import sys
import textwrap
from dataclasses import dataclass
from pathlib import Path

__all__ = [
    "FAMILIES",
    "Family",
    "check",
    "dependency_closure",
    "expected_files",
    "export_job_pythonpath",
    "job_pythonpath",
    "normalise",
    "read_lock",
    "render",
    "write",
]

PYTHON = "3.11"
PIP = "25.3"
CHANNELS = ("conda-forge", "nodefaults")
#: The driver environment's file stem (Snakemake itself, and everything without --use-conda).
DRIVER = "deepsphere"
#: Installed with the interpreter, not pinned by the lock (pip freeze leaves them out).
INSTALLER_TOOLS = frozenset({"pip", "setuptools", "wheel"})
#: The platform the lock was made for; dependency markers are evaluated for it.
LOCK_PLATFORM = {
    "python_version": PYTHON,
    "sys_platform": "linux",
    "platform_system": "Linux",
    "platform_machine": "x86_64",
    "os_name": "posix",
    "implementation_name": "cpython",
    "platform_python_implementation": "CPython",
    "extra": "",
}


@dataclass(frozen=True)
class Family:
    """A rule family's environment: what its scripts import, and what they need besides."""

    summary: str
    imports: tuple[str, ...]
    runtime: dict[str, str] | None = None  # distribution -> why, when nothing imports it

    @property
    def distributions(self) -> tuple[str, ...]:
        return tuple(sorted({*self.imports, *(self.runtime or {})}, key=normalise))


_GRAPHS = ("healpy", "numba", "numpy", "pandas", "PyGSP", "scipy", "tqdm")
_SHAPES = ("embreex", "h5py", "healpy", "numba", "numpy", "pandas", "scipy", "tqdm", "trimesh")

#: family -> its environment (``envs/<family>.yaml``); tests/workflow/test_environments.py
#: checks that ``imports`` is exactly what the family's scripts import.
FAMILIES: dict[str, Family] = {
    "data": Family(
        "fetch, unpack and prepare the data: downloads, stand-ins, caches, shards, patches, "
        "projections and training statistics",
        (*_SHAPES, "astropy", "hdf5plugin", "pyarrow"),
        {"rtree": "trimesh's own ray engine, the projection's fallback without Embree"},
    ),
    "geometry": Family(
        "graphs, and the sphere study's equivariance, kernel widths and filtering speed",
        _GRAPHS,
    ),
    "training": Family(
        "every network run (Keras 3 on TensorFlow or JAX) and the cosmo SVM baseline",
        (*_SHAPES, "astropy", "hdf5plugin", "jax", "keras", "PyGSP", "scikit-learn",
         "tensorflow"),
    ),
    "notebooks": Family(
        "the explanatory notebooks, executed with papermill",
        ("healpy", "ipython", "matplotlib", "numba", "numpy", "pandas", "papermill", "PyGSP",
         "scipy"),
        {"ipykernel": "the python3 kernel papermill starts to run the notebooks",
         "snakemake": "the maps tutorial runs the workflow itself (its own Snakemake)",
         "astropy": "the maps tutorial's Snakemake reads the FITS headers while parsing"},
    ),
    "reporting": Family(
        "tables, checks, figures, the summary page and the SHREC'17 retrieval scores",
        (*_SHAPES, "hdf5plugin", "matplotlib", "pillow", "PyGSP"),
    ),
}


def normalise(name: str) -> str:
    """The PEP 503 normal form of a distribution name (``PyGSP`` -> ``pygsp``)."""
    return re.sub(r"[-_.]+", "-", name).lower()


def read_lock(path: str | Path) -> dict[str, tuple[str, str]]:
    """``requirements.lock`` as ``{normalised name: (name as written, version)}``."""
    pins = {}
    for line in Path(path).read_text().splitlines():
        line = line.split("#", 1)[0].strip()
        if line:
            name, sep, version = line.partition("==")
            if not sep:
                raise ValueError(f"{path}: {line!r} is not an exact 'name==version' pin")
            pins[normalise(name.strip())] = (name.strip(), version.strip())
    return pins


def dependency_closure(names, lock: dict[str, tuple[str, str]]) -> set[str]:
    """``names`` and everything they require, transitively (normalised names).

    The requirements are read from the installed distributions' metadata, their markers
    evaluated for :data:`LOCK_PLATFORM` with no extra; every distribution of the closure must
    be in the lock and installed at the lock's version, since its metadata stands for the
    lock's. :data:`INSTALLER_TOOLS` are left out.
    """
    import importlib.metadata as metadata

    from packaging.markers import default_environment
    from packaging.requirements import Requirement

    environment = {**default_environment(), **LOCK_PLATFORM}
    closure, todo = set(), [normalise(n) for n in names]
    while todo:
        name = todo.pop()
        if name in closure or name in INSTALLER_TOOLS:
            continue
        if name not in lock:
            raise LookupError(f"{name} is required but not pinned in requirements.lock")
        installed = metadata.version(lock[name][0])
        if installed != lock[name][1]:
            raise LookupError(
                f"{name} {installed} is installed, the lock pins {lock[name][1]}: "
                "reinstall with `pip install -c requirements.lock -e .[dev]` first"
            )
        closure.add(name)
        for line in metadata.requires(lock[name][0]) or ():
            requirement = Requirement(line)
            if requirement.marker is None or requirement.marker.evaluate(environment):
                todo.append(normalise(requirement.name))
    return closure


def render(stem: str, summary: str, pins: list[tuple[str, str]], editable: bool = False) -> str:
    """The text of ``envs/<stem>.yaml`` for ``pins`` (``(name, version)``, in order)."""
    lines = [
        *(f"# {line}" for line in textwrap.wrap(f"{summary}.", 92)),
        "# Generated from requirements.lock by `python -m deepsphere.workflow.environments",
        "# --write` (deepsphere/workflow/environments.py says why it looks like this); do not",
        "# edit by hand: `--check` and tests/workflow/test_environments.py fail on any change.",
        f"name: deepsphere-{stem}" if stem != DRIVER else f"name: {DRIVER}",
        "channels:",
        *(f"  - {channel}" for channel in CHANNELS),
        "dependencies:",
        f"  - python={PYTHON}",
        f"  - pip={PIP}",
        "  - pip:",
        *(f"      - {name}=={version}" for name, version in pins),
    ]
    if editable:
        lines.append("      - -e ..")
    return "\n".join(lines) + "\n"


def _pins(names, lock) -> list[tuple[str, str]]:
    return [lock[n] for n in sorted(dependency_closure(names, lock))]


def expected_files(root: str | Path) -> dict[Path, str]:
    """``{envs/<stem>.yaml: text}`` as :func:`write` would write them under ``root``."""
    import tomllib

    root = Path(root)
    lock = read_lock(root / "requirements.lock")
    files = {
        root / "envs" / f"{stem}.yaml": render(stem, family.summary,
                                               _pins(family.distributions, lock))
        for stem, family in FAMILIES.items()
    }
    from packaging.requirements import Requirement

    project = tomllib.loads((root / "pyproject.toml").read_text())["project"]
    runtime = [Requirement(r).name for r in project["dependencies"]]
    files[root / "envs" / f"{DRIVER}.yaml"] = render(
        DRIVER,
        "The driver: Snakemake itself and every rule without --use-conda (pyproject's "
        "dependencies and this package, editable; create it by hand from envs/)",
        _pins(runtime, lock),
        editable=True,
    )
    return files


def write(root: str | Path) -> list[Path]:
    """Write every environment file under ``root``; returns the files that changed."""
    changed = []
    for path, text in expected_files(root).items():
        if not path.exists() or path.read_text() != text:
            path.parent.mkdir(parents=True, exist_ok=True)
            path.write_text(text)
            changed.append(path)
    return changed


def check(root: str | Path) -> list[str]:
    """One message per environment file that differs from the lock's (empty: none)."""
    root, problems = Path(root), []
    expected = expected_files(root)
    for path, text in expected.items():
        if not path.exists():
            problems.append(f"{path.relative_to(root)} is missing")
        elif path.read_text() != text:
            problems.append(f"{path.relative_to(root)} differs from what requirements.lock gives")
    for path in sorted((root / "envs").glob("*.yaml")):
        if path not in expected:
            problems.append(f"{path.relative_to(root)} is not generated from the lock")
    return problems


def job_pythonpath(src: str | Path, current: str | None) -> str:
    """``PYTHONPATH`` with ``src`` first (once), for the Snakefile to give every job.

    ``current`` is returned as it is when ``src`` holds no ``deepsphere`` package (a copy of
    the workflow without the library, as the workflow tests make).
    """
    if not (Path(src) / "deepsphere").is_dir():
        return current or ""
    src = str(Path(src).resolve())
    rest = [p for p in (current or "").split(os.pathsep) if p and p != src]
    return os.pathsep.join([src, *rest])


def export_job_pythonpath(src: str | Path) -> str:
    """Set ``PYTHONPATH`` to :func:`job_pythonpath` in this process's environment, which every
    job Snakemake starts inherits (the Snakefile calls it); returns the value."""
    value = job_pythonpath(src, os.environ.get("PYTHONPATH"))
    if value:
        os.environ["PYTHONPATH"] = value
    return value


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    action = parser.add_mutually_exclusive_group(required=True)
    action.add_argument("--write", action="store_true", help="regenerate envs/*.yaml")
    action.add_argument("--check", action="store_true", help="exit 1 if any file drifts")
    parser.add_argument("--root", default=Path(__file__).resolve().parents[3], type=Path,
                        help="the repository root (default: this checkout)")
    args = parser.parse_args(argv)
    if args.write:
        for path in write(args.root):
            print(f"wrote {path.relative_to(args.root)}")
        return 0
    problems = check(args.root)
    for problem in problems:
        print(problem, file=sys.stderr)
    return 1 if problems else 0


if __name__ == "__main__":
    sys.exit(main())
