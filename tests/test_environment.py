"""The pinned environments agree with requirements.lock and pyproject.toml."""

import re
import tomllib
from pathlib import Path

import pytest
import yaml
from packaging.requirements import Requirement

ROOT = Path(__file__).resolve().parents[1]


def _normalise(name: str) -> str:
    return re.sub(r"[-_.]+", "-", name).lower()


def _lock() -> dict[str, str]:
    pins = {}
    for line in (ROOT / "requirements.lock").read_text().splitlines():
        line = line.strip()
        if line and not line.startswith("#"):
            name, version = line.split("==")
            pins[_normalise(name)] = version
    return pins


def _env_pins(path: Path) -> dict[str, str]:
    env = yaml.safe_load(path.read_text())
    pins = {}
    for dep in env["dependencies"]:
        if isinstance(dep, dict):
            for line in dep["pip"]:
                if "==" in line:
                    name, version = line.split("==")
                    pins[_normalise(name)] = version
    return pins


ENV_FILES = sorted((ROOT / "envs").glob("*.yaml"))


def test_there_are_env_files():
    assert ENV_FILES, "envs/*.yaml is empty"


@pytest.mark.parametrize("env_file", ENV_FILES, ids=lambda p: p.name)
def test_env_pins_equal_the_lock(env_file):
    lock = _lock()
    pins = _env_pins(env_file)
    assert pins, f"{env_file.name} pins nothing"
    mismatches = {n: (v, lock.get(n)) for n, v in pins.items() if lock.get(n) != v}
    assert not mismatches, f"{env_file.name} differs from requirements.lock: {mismatches}"


def test_pyproject_ranges_admit_the_lock():
    project = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]
    lock = _lock()
    requirements = [Requirement(r) for r in project["dependencies"]]
    requirements += [Requirement(r) for r in project["optional-dependencies"]["dev"]]
    for req in requirements:
        name = _normalise(req.name)
        assert name in lock, f"{req.name} is a dependency but not in requirements.lock"
        assert req.specifier.contains(lock[name], prereleases=True), (
            f"pyproject says {req}, the lock pins {lock[name]}"
        )


def test_driver_env_holds_every_runtime_dependency():
    # The per-rule envs hold only what their scripts import (tests/workflow/test_environments.py).
    env_file = ROOT / "envs" / "deepsphere.yaml"
    project = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]
    pins = _env_pins(env_file)
    missing = [r for r in project["dependencies"] if _normalise(Requirement(r).name) not in pins]
    assert not missing, f"{env_file.name} lacks {missing}"
