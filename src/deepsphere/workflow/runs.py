"""A run is data: :class:`RunSpec`, built by an experiment's plan, and the run registry.

One spec says everything a job needs: which experiment and method, the seed, the fit config
(model and training), the graph definitions it needs, its named input files, the parameters
of the experiment's data loader, and what to record beside the metrics. The shared rule
``train_network`` (rules/training.smk) trains, evaluates, times and records every network run
of every experiment through :func:`deepsphere.workflow.network_run.run_network`; an
experiment's other methods (an SVM) have rules of their own and use the same specs.
Keras-free: the Snakefile builds the registry while it is parsed.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from dataclasses import asdict, dataclass, field
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    import pandas as pd

__all__ = ["NETWORK", "RunRegistry", "RunSpec", "collect_runs"]

NETWORK = "network"  #: the runner of the shared training rule
TASKS = ("classification", "segmentation", "regression")
_ID = re.compile(r"^[A-Za-z0-9_.\-]+$")


@dataclass(frozen=True)
class RunSpec:
    """One run. JSON-able (``to_dict``/``from_dict``), passed to the job as a rule param.

    ``config``: the ``deepsphere.training.fit`` config (``seed``, ``training``, ``model``);
    ``model_kind``: ``sphere`` (``deepsphere.models.build_model``) or ``planar``;
    ``inputs``: ``{name: path}`` the experiment's data loader reads; ``data``: that loader's
    parameters; ``record``: extra fields written into the metrics file (e.g. the cell).
    """

    run_id: str
    experiment: str
    method: str
    runner: str = NETWORK
    task: str = "classification"
    model_kind: str = "sphere"
    config: dict = field(default_factory=dict)
    graphs: tuple = ()
    inputs: dict = field(default_factory=dict)
    data: dict = field(default_factory=dict)
    record: dict = field(default_factory=dict)
    timing_repeats: int = 3
    mem_mb: int = 2000

    def __post_init__(self):
        if not _ID.match(self.run_id):
            raise ValueError(f"run id {self.run_id!r}: use letters, digits, '_', '.', '-'")
        if self.task not in TASKS:
            raise ValueError(f"run {self.run_id}: task {self.task!r} is not one of {TASKS}")
        if self.model_kind not in ("sphere", "planar"):
            raise ValueError(f"run {self.run_id}: model_kind {self.model_kind!r} is not "
                             "'sphere' or 'planar'")
        object.__setattr__(self, "graphs", tuple(self.graphs))

    def to_dict(self) -> dict:
        d = asdict(self)
        d["graphs"] = list(self.graphs)
        return d

    @classmethod
    def from_dict(cls, d: Mapping[str, Any]) -> RunSpec:
        return cls(**dict(d))


class RunRegistry:
    """Every run of this config, keyed by ``(experiment, run_id)``."""

    def __init__(self):
        self._runs: dict[tuple[str, str], RunSpec] = {}

    def register(self, specs: Iterable[RunSpec]) -> None:
        for spec in specs:
            key = (spec.experiment, spec.run_id)
            if key in self._runs and self._runs[key] != spec:
                raise ValueError(f"two different runs named {spec.experiment}/{spec.run_id}")
            self._runs[key] = spec

    def get(self, experiment: str, run_id: str) -> RunSpec:
        try:
            return self._runs[(experiment, run_id)]
        except KeyError:
            known = sorted(r for e, r in self._runs if e == experiment)
            raise KeyError(f"'{run_id}' is not a {experiment} run of this config; known runs: "
                           f"{known}") from None

    def runs(self, experiment: str | None = None, runner: str | None = None) -> list[RunSpec]:
        return sorted(
            (s for s in self._runs.values()
             if (experiment is None or s.experiment == experiment)
             and (runner is None or s.runner == runner)),
            key=lambda s: (s.experiment, s.run_id),
        )

    def wildcard(self, runner: str, experiment: str | None = None) -> str:
        """A regex matching exactly the run ids of ``runner`` (a never-matching one if none)."""
        ids = sorted({s.run_id for s in self.runs(experiment, runner)})
        return "|".join(re.escape(i) for i in ids) if ids else r"(?!x)x"

    def experiments(self) -> list[str]:
        return sorted({e for e, _ in self._runs})


def collect_runs(paths: Iterable, *, record_key: str = "run") -> pd.DataFrame:
    """Finished runs as a frame, one row per metrics file (any experiment, any task).

    Columns: the fields of the run's ``record_key`` record (the cell), ``metric.<name>`` for
    every scalar test metric, ``time_ms`` (per sample) and ``hardware``, ``selected_epoch``
    and ``path``. A file that is not a finished run's record is refused with its name.
    """
    import json

    import pandas as pd

    rows = []
    for path in paths:
        try:
            rec = json.loads(open(path, encoding="utf-8").read())
        except (OSError, ValueError) as err:
            raise ValueError(f"{path}: unreadable run record ({err}); rerun that run") from None
        missing = [k for k in (record_key, "metrics", "timing") if k not in rec]
        if missing:
            raise ValueError(f"{path}: not a finished run's record (no {missing}); rerun the run")
        row = dict(rec[record_key])
        row.update({f"metric.{k}": v for k, v in rec["metrics"].items()
                    if isinstance(v, int | float) and not isinstance(v, bool)})
        row.update(time_ms=rec["timing"]["per_sample_ms"], hardware=rec["timing"]["hardware"],
                   selected_epoch=rec.get("selected_epoch"), path=str(path))
        rows.append(row)
    return pd.DataFrame(rows)
