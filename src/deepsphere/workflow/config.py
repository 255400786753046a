"""Workflow configuration: reading, schema validation per experiment, and the experiment list.

The Snakefile calls :func:`validate_config` before any rule is defined, so a bad value is
refused before any job runs, with one message that names every offending key. The schema is
split: ``config/schema/common.yaml`` holds the top-level keys and the shared ``$defs``;
``config/schema/<name>.yaml`` the section of experiment ``<name>``. An experiment is run only
if its section is present; ``targets`` (optional) narrows what rule ``all`` builds.
"""

from __future__ import annotations

import copy
import sys
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import yaml

__all__ = [
    "ConfigError",
    "COMMON_KEYS",
    "experiment_names",
    "config_errors",
    "experiments_in",
    "load_config_file",
    "load_schema",
    "path_roots",
    "targeted_experiments",
    "validate_config",
]

#: The top-level keys every config may hold (``config/schema/common.yaml``). Every other
#: top-level key is an experiment's section: it has a schema ``config/schema/<name>.yaml``, a
#: rules file ``rules/<name>.smk`` and (for the experiments with code) a package
#: ``deepsphere.experiments.<name>``; nothing here names an experiment.
COMMON_KEYS = ("seed", "targets", "results", "interim", "raw")

_DEFAULT_ROOTS = {"results": "results", "interim": "data/interim", "raw": "data/raw"}


class ConfigError(ValueError):
    """A workflow configuration that cannot be read or does not match its schema."""


def _key_path(path) -> str:
    key = ""
    for part in path:
        key += f"[{part}]" if isinstance(part, int) else (f".{part}" if key else str(part))
    return key or "<top level>"


def load_config_file(path: str | Path) -> dict:
    """Read a YAML config; a syntax error names the file, line and column, and the fix."""
    path = Path(path)
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise ConfigError(f"config file {path} does not exist") from None
    try:
        # libyaml's loader when present: every Snakemake start, and every cluster job's,
        # reads the config and the schema (~0.5 s with the pure-Python loader)
        config = yaml.load(text, Loader=getattr(yaml, "CSafeLoader", yaml.SafeLoader))
    except yaml.YAMLError as err:
        mark = getattr(err, "problem_mark", None)
        where = f"{path}:{mark.line + 1}:{mark.column + 1}" if mark is not None else str(path)
        problem = getattr(err, "problem", None) or str(err)
        raise ConfigError(
            f"{where}: YAML syntax error: {problem}. Fix that line (mind the indentation: "
            "spaces only, no tabs; brackets and quotes closed)."
        ) from None
    if not isinstance(config, dict):
        raise ConfigError(f"{path}: a config must be a mapping of keys at the top level")
    return config


def experiment_names(schema_dir: str | Path) -> list[str]:
    """The experiments the workflow knows: one ``<name>.yaml`` beside ``common.yaml`` each."""
    return sorted(p.stem for p in Path(schema_dir).glob("*.yaml") if p.stem != "common")


def load_schema(schema_dir: str | Path) -> dict:
    """The whole schema: ``common.yaml`` with each experiment's section under ``properties``."""
    schema_dir = Path(schema_dir)
    schema = copy.deepcopy(load_config_file(schema_dir / "common.yaml"))
    unlisted = sorted(set(schema["properties"]) ^ set(COMMON_KEYS))
    if unlisted:
        raise ConfigError(f"{schema_dir / 'common.yaml'}: top-level keys {unlisted} differ from "
                          f"deepsphere.workflow.config.COMMON_KEYS; keep the two in step")
    for name in experiment_names(schema_dir):
        schema["properties"][name] = load_config_file(schema_dir / f"{name}.yaml")
    return schema


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


def experiments_in(config: Mapping[str, Any]) -> list[str]:
    """The experiments with a section in ``config`` (every top-level key but the common ones),
    in the config's order. The schema refuses a section without a schema file."""
    return [name for name in config if name not in COMMON_KEYS]


def targeted_experiments(config: Mapping[str, Any]) -> list[str]:
    """What rule ``all`` builds: ``targets`` if given, else every experiment present."""
    present = experiments_in(config)
    return [t for t in config.get("targets", present)]


def path_roots(config: Mapping[str, Any]) -> dict[str, str]:
    """``{"results": ..., "interim": ..., "raw": ...}``: the configured roots (defaults
    ``results``, ``data/interim``, ``data/raw``)."""
    return {key: str(config.get(key, default)).rstrip("/") for key, default in
            _DEFAULT_ROOTS.items()}


def _target_errors(config: Mapping[str, Any]) -> list[str]:
    present = experiments_in(config)
    return [
        f"config key 'targets': '{t}' has no section in this config (experiments present: "
        f"{', '.join(present) or 'none'}); add a '{t}:' section or remove it from targets"
        for t in config.get("targets", []) if t not in present
    ]


def experiment_checks(name: str):
    """``deepsphere.experiments.<name>.rules.config_checks`` if the experiment has one."""
    import importlib

    try:
        module = importlib.import_module(f"deepsphere.experiments.{name}.rules")
    except ModuleNotFoundError as err:
        if err.name in (f"deepsphere.experiments.{name}", f"deepsphere.experiments.{name}.rules"):
            return None
        raise
    return getattr(module, "config_checks", None)


def validate_config(config: Mapping[str, Any], schema_dir: str | Path) -> None:
    """Raise :class:`ConfigError` naming every key of ``config`` that is wrong.

    First the schema, then (only if it passes) each present experiment's checks across keys
    (``deepsphere.experiments.<name>.rules.config_checks(config) -> list[str]``, messages that
    name the keys involved, e.g. an nside against a patch order), all before any job runs.
    """
    known = experiment_names(schema_dir)
    unknown = [k for k in experiments_in(config) if k not in known]
    if unknown:
        raise ConfigError(
            f"The workflow configuration has section(s) {unknown} that no experiment defines "
            f"(known: {', '.join(known)}; an experiment is a config/schema/<name>.yaml with a "
            "rules/<name>.smk): fix the name or remove the section.")
    errors = config_errors(config, load_schema(schema_dir)) + _target_errors(config)
    if not errors:
        for name in experiments_in(config):
            check = experiment_checks(name)
            errors += check(config) if check is not None else []
    if errors:
        raise ConfigError(
            "The workflow configuration is invalid; fix these keys in the config file "
            "(or in --config):\n  " + "\n  ".join(errors)
        )


def main(argv=None) -> int:
    """``python -m deepsphere.workflow.config FILE [SCHEMA_DIR]``: check a config file."""
    argv = sys.argv[1:] if argv is None else argv
    if not argv:
        print("usage: python -m deepsphere.workflow.config FILE [SCHEMA_DIR]", file=sys.stderr)
        return 2
    schema_dir = argv[1] if len(argv) > 1 else "config/schema"
    try:
        validate_config(load_config_file(argv[0]), schema_dir)
    except ConfigError as err:
        print(err, file=sys.stderr)
        return 1
    print(f"{argv[0]}: valid")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
