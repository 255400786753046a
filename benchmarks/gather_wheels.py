"""Gather the wheels an offline accelerator machine lacks, for ``benchmarks/accelerator.py``.

One command, run where pip reaches PyPI::

    .venv/bin/python benchmarks/gather_wheels.py              # into .whl/ (git-ignored)
    .venv/bin/python benchmarks/gather_wheels.py --python-version 3.12 --dest .whl

It takes the packages the benchmark imports that such a machine does not hold (by default
Keras, healpy, PyGSP and jsonschema: the machine has JAX, PyTorch, NumPy, SciPy, numba, h5py,
pandas and PyYAML), adds their own requirements recursively (read from this environment's
installed metadata, markers evaluated for the target Python, ``extra`` requirements left
out), drops every package the machine already has (``--have``), and downloads each at the
version installed here (the versions the tests ran with) as a binary wheel for the target
Python and manylinux x86-64, without dependencies. On the machine::

    python3 -m pip install -q --no-index --no-deps --target /tmp/site .whl/*.whl
    export PYTHONPATH=/tmp/site

The folder's size is printed: a device call carries at most 64 MiB.
"""

from __future__ import annotations

import argparse
import re
import subprocess
import sys
from importlib import metadata
from pathlib import Path

from packaging.markers import default_environment
from packaging.requirements import Requirement
from packaging.utils import canonicalize_name

ROOT = Path(__file__).resolve().parents[1]
ROOTS = ("keras", "healpy", "pygsp", "jsonschema")
#: What the accelerator machines' image holds among our requirements' closure (their package
#: list of 2026-11-17); ``--have`` replaces it.
DEVICE_HAS = (
    "absl-py attrs certifi charset-normalizer contourpy cycler filelock fonttools fsspec h5py "
    "idna jax jaxlib jinja2 kiwisolver markdown-it-py markupsafe matplotlib mdurl ml-dtypes "
    "numba llvmlite numpy packaging pandas pillow protobuf pygments pyparsing python-dateutil "
    "pytz pyyaml requests rich scipy six tqdm typing-extensions tzdata urllib3"
).split()
PLATFORMS = ("manylinux_2_28_x86_64", "manylinux_2_27_x86_64", "manylinux_2_17_x86_64",
             "manylinux2014_x86_64", "manylinux1_x86_64")


def closure(roots, have, python_version: str) -> dict[str, str]:
    """``{name: installed version}`` of ``roots`` and their requirements, recursively, minus
    ``have``; requirements whose markers fail for ``python_version`` or that need an extra
    are left out."""
    env = {**default_environment(), "python_version": python_version,
           "python_full_version": f"{python_version}.0", "extra": ""}
    have = {canonicalize_name(n) for n in have}
    todo, found = [canonicalize_name(r) for r in roots], {}
    while todo:
        name = todo.pop()
        if name in found or name in have:
            continue
        try:
            dist = metadata.distribution(name)
        except metadata.PackageNotFoundError:
            raise SystemExit(f"{name} is not installed here: install the project's environment "
                             "first (pip install -e .[dev]), then run this again") from None
        found[name] = dist.version
        for text in dist.requires or []:
            req = Requirement(text)
            if req.marker is None or req.marker.evaluate(env):
                todo.append(canonicalize_name(req.name))
    return found


def download(pins: dict[str, str], dest: Path, python_version: str) -> None:
    cmd = [sys.executable, "-m", "pip", "download", "--no-deps", "--only-binary=:all:",
           "--python-version", python_version, "--implementation", "cp", "-d", str(dest)]
    for plat in PLATFORMS:
        cmd += ["--platform", plat]
    subprocess.run(cmd + [f"{n}=={v}" for n, v in sorted(pins.items())], check=True)


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--dest", default=str(ROOT / ".whl"))
    parser.add_argument("--python-version", default="3.12", help="the machine's Python")
    parser.add_argument("--roots", nargs="*", default=list(ROOTS))
    parser.add_argument("--have", nargs="*", default=DEVICE_HAS,
                        help="packages the machine already holds (default: its image's)")
    args = parser.parse_args(argv)
    if not re.fullmatch(r"3\.\d+", args.python_version):
        parser.error(f"--python-version: give MAJOR.MINOR such as 3.12, not "
                     f"{args.python_version!r}")
    pins = closure(args.roots, args.have, args.python_version)
    dest = Path(args.dest)
    dest.mkdir(parents=True, exist_ok=True)
    print("gathering:", ", ".join(f"{n}=={v}" for n, v in sorted(pins.items())), flush=True)
    download(pins, dest, args.python_version)
    size = sum(p.stat().st_size for p in dest.glob("*.whl"))
    print(f"{dest}: {len(list(dest.glob('*.whl')))} wheels, {size / 2**20:.1f} MiB")
    return 0


if __name__ == "__main__":
    sys.exit(main())
