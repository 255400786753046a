"""What the Snakefile imports while it parses stays light.

Every Snakemake start parses the Snakefile, and a cluster job starts Snakemake twice (the
submitted job, then its job step): each package the rules files pull in at parse time is paid
by every job. The rules files import only planning modules; this checks that those leave
pandas, SciPy, numba, trimesh, healpy, h5py, matplotlib and the deep-learning stack alone (the
jobs' scripts import what they need themselves).
"""

from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
HEAVY = ("pandas", "scipy", "numba", "trimesh", "healpy", "h5py", "matplotlib", "keras",
         "tensorflow", "jax", "pyarrow", "sklearn")


def parse_time_imports() -> list[str]:
    """The ``from deepsphere... import ...`` lines of the Snakefile and every rules file."""
    lines = []
    for path in [ROOT / "Snakefile", *sorted((ROOT / "rules").glob("*.smk"))]:
        lines += re.findall(r"^(from deepsphere[\w.]* import [\w, ]+|import deepsphere[\w.]*)$",
                            path.read_text(), flags=re.M)
    return lines


def test_the_rules_files_import_deepsphere_modules():
    # the check below is only as good as this list: the rules files do import the library
    assert len(parse_time_imports()) > 10


def test_parsing_the_workflow_imports_no_heavy_package():
    script = "\n".join([*parse_time_imports(), "import sys",
                        f"print(sorted(m for m in {HEAVY!r} if m in sys.modules))"])
    done = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True,
                          timeout=300, cwd=ROOT)
    assert done.returncode == 0, done.stderr[-3000:]
    assert done.stdout.strip() == "[]", (
        f"parsing the Snakefile imports {done.stdout.strip()}: import them inside the "
        "functions of the modules the rules files import (see which with python -X importtime)")


#: Snakemake itself imports pandas and pyarrow (its SLURM plugin's efficiency report).
HEAVY_BEYOND_SNAKEMAKE = tuple(m for m in HEAVY if m not in ("pandas", "pyarrow")) + ("astropy",)
_TRACE = """
import atexit, runpy, sys
atexit.register(lambda: print("HEAVY", sorted(m for m in {heavy!r} if m in sys.modules),
                              file=sys.stderr))
sys.argv = ["snakemake", *sys.argv[1:]]
runpy.run_path({snakemake!r}, run_name="__main__")
"""


def test_a_dry_run_of_every_ci_config_imports_no_heavy_package(workflow_copy):
    """What the rules compute while parsing (the maps section's facts of the data, say) is
    paid by every job too: a dry run of all CI configs imports none of the heavy packages."""
    configs = sorted(str(p.relative_to(ROOT)) for p in (ROOT / "config/test").glob("*-ci.yaml"))
    snakemake = str(Path(sys.executable).parent / "snakemake")
    script = _TRACE.format(heavy=HEAVY_BEYOND_SNAKEMAKE, snakemake=snakemake)
    done = subprocess.run([sys.executable, "-c", script, "-n", "--cores", "1",
                           "--configfile", *configs], capture_output=True, text=True,
                          timeout=300, cwd=workflow_copy)
    assert done.returncode == 0, done.stderr[-3000:]
    heavy = re.findall(r"^HEAVY (.*)$", done.stderr, flags=re.M)
    assert heavy == ["[]"], heavy or done.stderr[-3000:]
