"""The per-rule conda environments (envs/*.yaml) are the lock's, and hold what each script imports.

Conda cannot run here, so this is a static check: for every rule with a ``script:``, the imports
of the script (and of the notebooks it executes) are followed through every ``deepsphere``
module they reach, function bodies included (scripts call those), as are the lazy re-exports
of ``deepsphere._lazy`` and ``importlib.import_module`` names (an f-string stands for every
module it can match). Each third-party import is mapped to its distribution
(``importlib.metadata.packages_distributions``) and must be in the rule's environment or the
dependency closure of what it pins. Rule -> script -> environment comes from Snakemake's own
parse of the workflow (its API, in a subprocess, with the paper config, which includes every
rules file), so paths resolve exactly as Snakemake resolves them.
"""

from __future__ import annotations

import ast
import importlib.metadata
import json
import os
import re
import shutil
import subprocess
import sys
import textwrap
from dataclasses import dataclass
from functools import cache
from pathlib import Path

import pytest
import yaml

from deepsphere.workflow import environments as envs

ROOT = Path(__file__).resolve().parents[2]
SRC = ROOT / "src"
LOCK = ROOT / "requirements.lock"

pytestmark = pytest.mark.workflow

# Run in a subprocess: the API changes the working directory and sets up Snakemake's logging.
_RULES_OF_THE_WORKFLOW = textwrap.dedent("""
    import json, os, sys
    from pathlib import Path
    from snakemake.api import SnakemakeApi
    from snakemake.settings.enums import Quietness
    from snakemake.settings.types import (ConfigSettings, DeploymentSettings, OutputSettings,
                                          ResourceSettings)
    from snakemake_interface_executor_plugins.settings import DeploymentMethod

    root, out = Path(sys.argv[1]), Path(sys.argv[2])
    with SnakemakeApi(OutputSettings(quiet={Quietness.ALL})) as api:
        workflow = api.workflow(
            resource_settings=ResourceSettings(cores=1),
            # the paper's config, plus the maps section (users' own maps: not in the paper)
            config_settings=ConfigSettings(configfiles=[root / "config" / "config.yaml",
                                                        root / "config/test/maps-ci.yaml"]),
            deployment_settings=DeploymentSettings(deployment_method={DeploymentMethod.CONDA}),
            snakefile=root / "Snakefile", workdir=root)._workflow
        rules = []
        for rule in workflow.rules:
            basedir = Path(rule.basedir.get_path_or_uri(secret_free=True))
            conda = rule.conda_env
            rules.append({
                "rule": rule.name,
                "rules_file": str(rule.snakefile),
                "script": str((basedir / rule.script).resolve()) if rule.script else None,
                "conda": str((basedir / conda).resolve()) if isinstance(conda, str) else
                         (None if conda is None else repr(conda)),
                "notebooks": [str(f) for f in rule.input if isinstance(f, str) and
                              f.endswith(".ipynb")],
                "other_code": [kind for kind in ("shell", "run", "notebook", "wrapper", "cwl",
                                                 "template_engine")
                               if getattr(rule, f"is_{kind}")],
            })
        out.write_text(json.dumps({"rules": rules,
                                   "included": [str(p) for p in workflow.included],
                                   "pythonpath": os.environ.get("PYTHONPATH")}))
""")


@pytest.fixture(scope="module")
def workflow(tmp_path_factory):
    out = tmp_path_factory.mktemp("rules") / "rules.json"
    result = subprocess.run([sys.executable, "-c", _RULES_OF_THE_WORKFLOW, ROOT, out],
                            capture_output=True, text=True, timeout=300)
    assert result.returncode == 0, result.stdout + result.stderr
    return json.loads(out.read_text())


# --- the static import analysis -------------------------------------------------------------

def _module_file(name: str) -> Path | None:
    path = SRC.joinpath(*name.split("."))
    for candidate in (path / "__init__.py", path.with_suffix(".py")):
        if candidate.is_file():
            return candidate
    return None


@cache
def _deepsphere_modules() -> tuple[str, ...]:
    files = SRC.joinpath("deepsphere").rglob("*.py")
    return tuple(sorted(".".join(f.relative_to(SRC).with_suffix("").parts).removesuffix(
        ".__init__") for f in files))


def _string(node, constants) -> str | None:
    """A str constant, a module-level str name, or an f-string of those; else None."""
    if isinstance(node, ast.Constant) and isinstance(node.value, str):
        return node.value
    if isinstance(node, ast.Name):
        return constants.get(node.id)
    if isinstance(node, ast.JoinedStr):
        parts = [_string(v.value if isinstance(v, ast.FormattedValue) else v, constants)
                 for v in node.values]
        return None if None in parts else "".join(parts)
    return None


@cache
def _lazy_exports(package: str) -> dict[str, str]:
    """``_EXPORTS`` of a package using deepsphere._lazy (name -> defining module), else {}."""
    path = _module_file(package)
    if path is None or path.name != "__init__.py":
        return {}
    tree, constants = ast.parse(path.read_text()), {}
    for node in tree.body:
        if isinstance(node, ast.Assign) and len(node.targets) == 1:
            target = node.targets[0]
            if isinstance(target, ast.Name) and target.id == "_EXPORTS":
                return {_string(k, constants): _string(v, constants)
                        for k, v in zip(node.value.keys, node.value.values, strict=True)}
            value = _string(node.value, constants)
            if isinstance(target, ast.Name) and value is not None:
                constants[target.id] = value
    return {}


# Modules whose import_module(<variable>) is followed another way.
_DYNAMIC_IMPORTS_FOLLOWED_ELSEWHERE = {
    "deepsphere._lazy": "the lazy re-exports, resolved from each package's _EXPORTS",
    "deepsphere._keras_registration": "deepsphere.layers, imported only once Keras is: where "
                                      "a script's own imports already need Keras",
}


def _import_module_names(call: ast.Call, module: str | None) -> list[str]:
    """The modules an ``importlib.import_module(...)`` call can import (f-strings: all that
    match among deepsphere's modules)."""
    arg = call.args[0] if call.args else None
    if module in _DYNAMIC_IMPORTS_FOLLOWED_ELSEWHERE and isinstance(arg, ast.Name):
        return []
    if isinstance(arg, ast.Constant) and isinstance(arg.value, str):
        return [arg.value]
    if isinstance(arg, ast.JoinedStr):
        pattern = "".join(re.escape(v.value) if isinstance(v, ast.Constant) else r"[\w.]+"
                          for v in arg.values)
        return [m for m in _deepsphere_modules() if re.fullmatch(pattern, m)]
    raise AssertionError(f"import_module({ast.unparse(arg)}) cannot be resolved statically")


def _is_type_checking(node) -> bool:
    return isinstance(node, ast.If) and "TYPE_CHECKING" in ast.unparse(node.test)


def imports_of(source: str, module: str | None = None, package: bool = False) -> set[str]:
    """Every module name the code can import at run time (dotted), function bodies included."""
    tree, found, bound = ast.parse(source), set(), {}
    nodes = [tree]
    while nodes:
        node = nodes.pop()
        if _is_type_checking(node):  # imports for annotations only
            nodes.extend(node.orelse)
            continue
        nodes.extend(ast.iter_child_nodes(node))
        if isinstance(node, ast.Import):
            for alias in node.names:
                found.add(alias.name)
                bound[alias.asname or alias.name.split(".")[0]] = (
                    alias.name if alias.asname else alias.name.split(".")[0])
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:
                parts = (module or "").split(".")[: None if package else -1]
                parts = parts[: len(parts) - node.level + 1]
                base = ".".join([*parts, base] if base else parts)
            found.add(base)
            for alias in node.names:
                target = _lazy_exports(base).get(alias.name, f"{base}.{alias.name}")
                found.add(target)  # kept only if it names a module (see closure)
                bound[alias.asname or alias.name] = f"{base}.{alias.name}"
        elif isinstance(node, ast.Call) and (
                getattr(node.func, "attr", None) == "import_module"
                or getattr(node.func, "id", None) == "import_module"):
            found.update(_import_module_names(node, module))
    for node in ast.walk(tree):  # pkg.name on a lazy package: the module defining name
        chain = []
        while isinstance(node, ast.Attribute):
            chain.insert(0, node.attr)
            node = node.value
        if isinstance(node, ast.Name) and node.id in bound and chain:
            parts = [*bound[node.id].split("."), *chain]
            for i in range(1, len(parts)):
                target = _lazy_exports(".".join(parts[:i])).get(parts[i])
                if target:
                    found.add(target)
    return found


@dataclass(frozen=True)
class Missing:
    name: str  # the top-level import
    distributions: tuple[str, ...]  # what provides it ((): nothing installed)
    via: str  # the file that imports it, and how the script reaches that file


@cache
def _read(path: Path) -> str:
    return path.read_text()


_imports_cached = cache(lambda code, module, package: frozenset(imports_of(code, module, package)))


def third_party_imports(sources: dict[str, str], local_dir: Path) -> dict[str, str]:
    """``{top-level import: via}`` of the code in ``sources`` ({label: code}) and of every
    deepsphere module (and module of ``local_dir``, the script's folder) it reaches."""
    external, seen = {}, set()
    todo = [(label, code, None, False) for label, code in sources.items()]
    while todo:
        via, code, module, package = todo.pop(0)
        for name in sorted(_imports_cached(code, module, package)):
            top = name.split(".")[0]
            local = local_dir / f"{top}.py"
            if top == "deepsphere":
                parts = name.split(".")
                for i in range(1, len(parts) + 1):
                    prefix, path = ".".join(parts[:i]), _module_file(".".join(parts[:i]))
                    if path is not None and prefix not in seen:
                        seen.add(prefix)
                        todo.append((f"{prefix} <- {via}", _read(path), prefix,
                                     path.name == "__init__.py"))
            elif local.is_file() and not (module or "").startswith("deepsphere"):
                if top not in seen:
                    seen.add(top)
                    todo.append((f"{top} <- {via}", local.read_text(), top, False))
            elif top and top != "__future__" and top not in sys.stdlib_module_names:
                external.setdefault(top, via)
    return external


def notebook_code(path: Path) -> str:
    """The code cells of a notebook, IPython magics and shell lines left out."""
    cells = json.loads(path.read_text())["cells"]
    lines = [line for cell in cells if cell["cell_type"] == "code"
             for line in "".join(cell["source"]).splitlines()
             if not line.lstrip().startswith(("%", "!"))]
    return "\n".join(lines)


@cache
def environment_distributions(env_file: Path) -> frozenset[str]:
    """The distributions an environment file provides: its pins and their dependencies."""
    env = yaml.safe_load(env_file.read_text())
    pinned = [line.split("==")[0] for dep in env["dependencies"] if isinstance(dep, dict)
              for line in dep.get("pip", []) if "==" in line]
    return frozenset(envs.dependency_closure(pinned, envs.read_lock(LOCK)))


@cache
def _providers() -> dict[str, list[str]]:
    return importlib.metadata.packages_distributions()


def needed_distributions(script: Path, notebooks=()) -> dict[str, tuple[tuple[str, ...], str]]:
    """``{top-level import: (its distributions, via)}`` for a script and its notebooks."""
    sources = {script.name: script.read_text()}
    sources.update({path.name: notebook_code(path) for path in notebooks})
    providers = _providers()
    return {name: (tuple(sorted(envs.normalise(d) for d in providers.get(name, ()))), via)
            for name, via in third_party_imports(sources, script.parent).items()}


def missing_from(env_file: Path, script: Path, notebooks=()) -> list[Missing]:
    """What the script (and its notebooks) import that ``env_file`` does not provide."""
    available = environment_distributions(env_file)
    return [Missing(name, dists, via)
            for name, (dists, via) in sorted(needed_distributions(script, notebooks).items())
            if not available.intersection(dists)]


def _notebooks(rule) -> list[Path]:
    return sorted(path for pattern in rule["notebooks"]
                  for path in ROOT.glob(re.sub(r"\{[^}]*\}", "*", pattern)))


def _script_rules(workflow):
    return [rule for rule in workflow["rules"] if rule["script"]]


def _family(rule) -> str:
    return Path(rule["conda"]).stem


# --- (a) the committed files are what the lock gives ----------------------------------------

def test_environment_files_are_what_the_lock_gives():
    problems = envs.check(ROOT)
    assert not problems, "\n".join(
        [*problems, "regenerate: python -m deepsphere.workflow.environments --write"])


def test_check_names_the_file_that_drifts(tmp_path):
    for name in ("requirements.lock", "pyproject.toml"):
        shutil.copy(ROOT / name, tmp_path / name)
    shutil.copytree(ROOT / "envs", tmp_path / "envs")
    geometry = tmp_path / "envs" / "geometry.yaml"
    geometry.write_text(geometry.read_text().replace("numpy==", "numpy==1"))
    result = subprocess.run(
        [sys.executable, "-m", "deepsphere.workflow.environments", "--check", "--root", tmp_path],
        capture_output=True, text=True, timeout=120)
    assert result.returncode == 1
    assert "envs/geometry.yaml differs" in result.stderr
    assert "training.yaml" not in result.stderr


def test_jobs_run_this_checkout_first_on_their_path(workflow, tmp_path):
    src = str(SRC)
    assert workflow["pythonpath"].split(os.pathsep)[0] == src  # set by the Snakefile
    again = envs.job_pythonpath(SRC, envs.job_pythonpath(SRC, os.pathsep.join(["/a", src])))
    assert again == os.pathsep.join([src, "/a"])
    assert envs.job_pythonpath(tmp_path, "/a") == "/a"  # a copy without src/deepsphere


# --- (b) every rule's environment holds what its script imports -----------------------------

def test_every_rules_file_is_parsed(workflow):
    included = {Path(p).resolve() for p in workflow["included"]}
    assert set((ROOT / "rules").glob("*.smk")) <= included, "a rules file is not included"


def test_every_rule_that_runs_code_runs_a_script(workflow):
    # The check below reads scripts; code in another form would go unchecked.
    other = {r["rule"]: r["other_code"] for r in workflow["rules"] if r["other_code"]}
    assert not other, f"not covered by the environment check (give it a script): {other}"


def test_every_script_rule_names_a_family_environment(workflow):
    problems = []
    for rule in _script_rules(workflow):
        conda = rule["conda"]
        if conda is None or not Path(conda).is_file():
            problems.append(f"rule {rule['rule']} ({rule['rules_file']}): conda: {conda}")
        elif Path(conda).parent != ROOT / "envs" or _family(rule) not in envs.FAMILIES:
            problems.append(f"rule {rule['rule']}: {conda} is not one of envs/<family>.yaml "
                            f"({', '.join(envs.FAMILIES)})")
    assert not problems, "\n".join(problems)


def test_every_script_imports_only_what_its_rule_environment_holds(workflow):
    problems = []
    for rule in _script_rules(workflow):
        env_file, script = Path(rule["conda"]), Path(rule["script"])
        for missing in missing_from(env_file, script, _notebooks(rule)):
            problems.append(
                f"rule {rule['rule']}: {script.relative_to(ROOT)} imports {missing.name} "
                f"(distribution {', '.join(missing.distributions) or 'unknown'}; "
                f"{missing.via}) but {env_file.relative_to(ROOT)} does not hold it")
    assert not problems, "\n".join(problems)


def test_each_family_declares_what_its_scripts_import_and_no_more(workflow):
    needed: dict[str, set[str]] = {family: set() for family in envs.FAMILIES}
    for rule in _script_rules(workflow):
        for dists, _ in needed_distributions(Path(rule["script"]), _notebooks(rule)).values():
            needed[_family(rule)].update(dists)
    for family, spec in envs.FAMILIES.items():
        declared = {envs.normalise(d) for d in spec.imports}
        assert needed[family], f"no rule uses envs/{family}.yaml"
        assert declared == needed[family], (
            f"envs/{family}.yaml: declared but not imported {sorted(declared - needed[family])}, "
            f"imported but not declared {sorted(needed[family] - declared)} (environments.py)")


def test_the_data_environment_is_free_of_deep_learning_frameworks():
    held = environment_distributions(ROOT / "envs" / "data.yaml")
    assert not held & {"tensorflow", "keras", "jax", "jaxlib"}


# --- (c) the check can fail -----------------------------------------------------------------

def test_a_missing_package_is_reported(tmp_path):
    (tmp_path / "helper.py").write_text("def f():\n    import pyarrow.csv\n")
    script = tmp_path / "synthetic.py"
    script.write_text(textwrap.dedent("""
        import importlib
        import json
        import helper
        from deepsphere import fit  # lazy re-export: deepsphere.training.loop imports keras
        from deepsphere.workflow.logs import log_to_file

        def later():
            import sklearn.svm
            return importlib.import_module("matplotlib.pyplot")
    """))
    missing = {m.name: m for m in missing_from(ROOT / "envs" / "geometry.yaml", script)}
    assert set(missing) >= {"keras", "sklearn", "matplotlib", "pyarrow"}, missing
    assert "numpy" not in missing and "json" not in missing  # numpy: geometry holds it
    assert missing["sklearn"].distributions == ("scikit-learn",)
    assert missing["keras"].via.startswith("deepsphere.training.loop <- ")
    assert missing["pyarrow"].via == "helper <- synthetic.py"
    in_training = {m.name for m in missing_from(ROOT / "envs" / "training.yaml", script)}
    assert in_training == {"matplotlib", "pyarrow"}
