"""Shared test fixtures: a local HTTP server on 127.0.0.1 and a dead host (no network needed)."""

from __future__ import annotations

import socket
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest


class RouteServer:
    """Serves ``routes[path] = bytes`` (200, or 206 from a ``Range: bytes=N-`` request; 416
    past the end) or ``int`` (that HTTP error); unknown paths 404. Query strings are ignored.
    ``requests`` lists the requested paths, ``ranges`` the ``(path, Range header or None)``."""

    def __init__(self, routes):
        self.routes, self.requests, self.ranges = dict(routes), [], []
        server = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, *args):
                pass

            def do_GET(self):
                path, rng = self.path.split("?")[0], self.headers.get("Range")
                server.requests.append(path)
                server.ranges.append((path, rng))
                answer = server.routes.get(path, 404)
                if isinstance(answer, int):
                    return self.send_error(answer)
                start = int(rng.removeprefix("bytes=").split("-")[0]) if rng else 0
                if rng and start >= len(answer) > 0:
                    return self.send_error(416)
                self.send_response(206 if rng else 200)
                if rng:
                    self.send_header("Content-Range",
                                     f"bytes {start}-{len(answer) - 1}/{len(answer)}")
                self.send_header("Content-Length", str(len(answer) - start))
                self.end_headers()
                self.wfile.write(answer[start:])

        self.httpd = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.httpd.server_address[1]}"
        threading.Thread(target=self.httpd.serve_forever, kwargs={"poll_interval": 0.02},
                         daemon=True).start()

    def close(self):
        self.httpd.shutdown()
        self.httpd.server_close()


@pytest.fixture
def route_server():
    """``route_server(routes) -> RouteServer``, shut down after the test."""
    servers = []

    def start(routes):
        servers.append(RouteServer(routes))
        return servers[-1]

    yield start
    for server in servers:
        server.close()


def closed_port_url() -> str:
    """A URL prefix on a closed port of 127.0.0.1: every connection is refused."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    return f"http://127.0.0.1:{port}"


@pytest.fixture
def dead():
    """A dead host (connection refused)."""
    return closed_port_url()


@pytest.fixture
def new_dead_host():
    """``new_dead_host() -> url``: another dead host per call."""
    return closed_port_url


# ----------------------------------------------------------------------- workflow runs
_ROOT = Path(__file__).resolve().parents[1]
_WORKFLOW_FILES = ("Snakefile", "rules", "scripts", "config", "envs", "profiles", "report",
                   "notebooks")


def _run_snakemake(*args, cwd=_ROOT, timeout=900):
    """Run this environment's ``snakemake`` with ``args`` in ``cwd``; the completed process."""
    import os
    import subprocess
    import sys
    from pathlib import Path

    env = dict(os.environ, PYTHONUNBUFFERED="1")
    return subprocess.run([str(Path(sys.executable).parent / "snakemake"), *map(str, args)],
                          cwd=cwd, capture_output=True, text=True, timeout=timeout, env=env)


@pytest.fixture
def snakemake_cli():
    """``snakemake_cli(*args, cwd=<repository>, timeout=900)``: run the workflow's CLI."""
    return _run_snakemake


def copy_workflow(dest):
    """Copy the workflow (Snakefile, rules, scripts, config, envs, profiles, report captions,
    notebooks) into ``dest``."""
    import shutil
    from pathlib import Path

    dest = Path(dest)
    dest.mkdir(parents=True, exist_ok=True)
    for name in _WORKFLOW_FILES:
        src = _ROOT / name
        if src.is_dir():
            shutil.copytree(src, dest / name)
        elif src.exists():
            shutil.copy2(src, dest / name)
    return dest


@pytest.fixture
def workflow_copy(tmp_path):
    """A temporary folder holding a copy of the workflow (Snakefile, rules, scripts, config,
    envs, profiles, report captions): end-to-end runs never write into the repository."""
    return copy_workflow(tmp_path)


@pytest.fixture(scope="session")
def workflow_copier():
    """``workflow_copier(dest) -> dest``: copy the workflow into ``dest`` (any scope)."""
    return copy_workflow


#: The xdist group (``pytest -n 2``, ``--dist loadgroup``) of the tests that share the local
#: CI runs or the SLURM cluster: one worker runs them all, so that the session fixtures run
#: once and the cluster is stopped only after its last test.
SHARED_RUNS_GROUP = "ci-runs"


#: Test modules that use the shared runs (some of their tests may not: they come along).
SHARED_RUNS_MODULES = ("tests/workflow/test_interruptions.py",
                       "tests/experiments/maps/test_maps_workflow.py")


def in_shared_runs_group(nodeid: str) -> bool:
    """Whether the test ``nodeid`` belongs to :data:`SHARED_RUNS_GROUP`: the tests under
    tests/cluster, the experiments' ``*_ci_end_to_end`` tests and the tests of
    :data:`SHARED_RUNS_MODULES` (tests/workflow/test_test_groups.py checks that every user of
    ``ci_run`` is in the group)."""
    path, _, name = nodeid.partition("::")
    return (path.startswith("tests/cluster/") or path in SHARED_RUNS_MODULES
            or name.split("[")[0].endswith("_ci_end_to_end"))


class _SharedRunsScheduling:
    """xdist's scheduler hook: ``--dist loadgroup`` with :data:`SHARED_RUNS_GROUP` decided by
    :func:`in_shared_runs_group` in the controller, which sees node ids only. (xdist 3.8's own
    ``xdist_group`` marker does not reach the scheduler under pytest 9: it renames
    ``item._nodeid``, which pytest 9 no longer reads.)"""

    @pytest.hookimpl(tryfirst=True)
    def pytest_xdist_make_scheduler(self, config, log):
        if config.getvalue("dist") != "loadgroup":
            return None
        from xdist.scheduler import LoadGroupScheduling

        class SharedRuns(LoadGroupScheduling):
            def _split_scope(self, nodeid):
                if in_shared_runs_group(nodeid):
                    return SHARED_RUNS_GROUP
                return super()._split_scope(nodeid)

        return SharedRuns(config, log)


@pytest.fixture(scope="session")
def shared_runs_rule():
    """:func:`in_shared_runs_group` (for the test that keeps it in step with the markers)."""
    return in_shared_runs_group


def pytest_configure(config):
    if config.pluginmanager.hasplugin("xdist"):
        config.pluginmanager.register(_SharedRunsScheduling(), "deepsphere-shared-runs")


def _numba_cache_is_cold() -> bool:
    """Whether numba's on-disk cache of the graph kernels is missing (a fresh checkout)."""
    import deepsphere

    cache = Path(deepsphere.__file__).resolve().parent / "geometry" / "__pycache__"
    return not any(cache.glob("_facegrid.*.nbi"))


def pytest_sessionstart(session):
    """Before the tests start (in the xdist controller, or the only process): write the
    package's bytecode, and on a fresh checkout compile the graph kernels once.

    pip byte-compiles what it installs, but not an editable install's sources; where
    ``PYTHONDONTWRITEBYTECODE`` is set (CI machines often set it), every process would compile
    the modules it imports again: each of the suite's hundreds of Python processes (workflow
    jobs, cluster jobs, subprocesses). ``compileall`` writes the bytecode whatever that
    variable says. Without the kernels' cache, both workers, the workflow jobs and the cluster
    jobs that start together would each compile them (about 17 s of CPU each)."""
    import compileall
    import subprocess
    import sys

    import deepsphere

    if hasattr(session.config, "workerinput"):
        return
    compileall.compile_dir(Path(deepsphere.__file__).resolve().parent, quiet=1)
    if not _numba_cache_is_cold():
        return
    subprocess.run([sys.executable, "-m", "deepsphere.runtime.compiled"], check=True,
                   timeout=900)


def _selected_ci_configs(session) -> set:
    """The CI configs of the selected tests marked ``ci_config`` (after -k/-m selection)."""
    return {name for item in session.items for mark in item.iter_markers("ci_config")
            for name in mark.args}


@pytest.fixture(scope="session")
def ci_run(request, tmp_path_factory):
    """``ci_run(name) -> (folder, completed process)``: ``config/test/<name>-ci.yaml`` run
    locally in a workflow copy, once per test session. The experiments'
    end-to-end tests check it; the SLURM test (tests/cluster) compares its own run with it.

    The configs of every selected test marked ``ci_config`` run together, as one workflow
    (``--configfile`` with all of them; each writes under its own experiment's folders, as in
    the SLURM test's run), with ``--cores 2``: under ``pytest -n 2`` the other worker and, in
    CI, the SLURM test's jobs run beside it, and every job more at once only thrashes (with
    ``--cores 4`` and the cluster's jobs the load on CI's two cores reached 10 to 12). Threads
    are what a rule declares, capped by ``--cores``: the numbers are those of any run that
    gives a job its 2 threads. The greedy scheduler rather than the default ILP one: the same
    jobs and numbers, without an ILP solved at every scheduling round (Snakemake's own process
    over the 110 jobs of the seven configs: 73 CPU-seconds instead of 96, measured once by hand
    with ``benchmarks/suite_cpu.py --per-process``).
    """
    wanted = _selected_ci_configs(request.session)
    runs = {}

    def run(name):
        if name not in runs:
            names = sorted(wanted) if name in wanted else [name]
            folder = copy_workflow(tmp_path_factory.mktemp("ci-local"))
            configs = [f"config/test/{n}-ci.yaml" for n in names]
            out = _run_snakemake("--cores", "2", "--scheduler", "greedy", "--directory", folder,
                                 "--configfile", *configs, cwd=folder,
                                 timeout=600 + 300 * len(names))
            runs.update({n: (folder, out) for n in names})
        return runs[name]

    return run


def copy_run(source, name, edit, dest):
    """Copy the finished workflow folder ``source`` (data, results, Snakemake's records) to
    ``dest`` and write ``edited.yaml`` there, the CI config of ``name`` after ``edit(config)``
    (in place): only the jobs the edit touches are out of date in the copy. Returns ``dest``."""
    import shutil
    from pathlib import Path

    import yaml

    dest = Path(dest)
    shutil.copytree(source, dest, symlinks=True)
    config = yaml.safe_load((dest / f"config/test/{name}-ci.yaml").read_text())
    edit(config)
    (dest / "edited.yaml").write_text(yaml.safe_dump(config))
    return dest


@pytest.fixture(scope="session")
def run_copier():
    """``run_copier(source, name, edit, dest) -> dest``: :func:`copy_run` (any scope)."""
    return copy_run


@pytest.fixture(scope="session")
def ci_run_copy(ci_run, tmp_path_factory):
    """``ci_run_copy(name, edit) -> folder``: :func:`copy_run` of the local CI run of
    ``name``."""

    def copy(name, edit):
        source, out = ci_run(name)
        assert out.returncode == 0, out.stderr[-3000:]
        return copy_run(source, name, edit, tmp_path_factory.mktemp(f"{name}-copy") / "wf")

    return copy


# ----------------------------------------------------------------------- training runs
@pytest.fixture
def kill_at():
    """``kill_at(epoch, batch)``: a Keras callback that simulates a kill (raises
    KeyboardInterrupt) inside epoch ``epoch`` (0-based) after batch ``batch``."""
    import keras

    class KillAt(keras.callbacks.Callback):
        def __init__(self, epoch, batch):
            super().__init__()
            self.kill_epoch, self.kill_batch, self.current = epoch, batch, None

        def on_epoch_begin(self, epoch, logs=None):
            self.current = epoch

        def on_train_batch_end(self, batch, logs=None):
            if self.current == self.kill_epoch and batch == self.kill_batch:
                raise KeyboardInterrupt("simulated kill")

    return KillAt
