#!/usr/bin/env bash
# The accelerator benchmark on an offline GPU machine, in one go (benchmarks/README.md).
# Here, with internet:   .venv/bin/python benchmarks/gather_wheels.py     (fills .whl/)
# There, from the repository root, with .whl/ carried:
#   bash benchmarks/accelerator_on_device.sh [OUT_DIR]      (default: benchmarks/results)
# Writes accelerator.md (JAX's default lowering; ChebConv also with cuSPARSE) and
# accelerator-cusparse.md (the models with JAX_BCOO_CUSPARSE_LOWERING=1).
set -euo pipefail
out=${1:-benchmarks/results}
mkdir -p "$out"
python3 -m pip install -q --no-index --no-deps --no-compile --no-cache-dir --upgrade \
    --target /tmp/site .whl/*.whl
export PYTHONPATH=/tmp/site KERAS_BACKEND=jax PYTHONUNBUFFERED=1
export XLA_PYTHON_CLIENT_PREALLOCATE=false  # the allocator's peak is then the run's own
nvidia-smi --query-gpu=name,memory.total,driver_version --format=csv || true
python3 benchmarks/accelerator.py --repeats 5 --out "$out/accelerator.md"
JAX_BCOO_CUSPARSE_LOWERING=1 python3 benchmarks/accelerator.py --repeats 5 \
    --only cosmo shrec17 climate ghcn --out "$out/accelerator-cusparse.md"
